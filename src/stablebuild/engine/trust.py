"""Trust an extra CA bundle during a build without baking it into the final image.

Behind a proxy that re-signs HTTPS, `pip install` in a build stage fails certificate checks.
The classic builder has no build secrets, so stablebuild builds a tiny "trust" image per
external base of the *builder* stages (the base + the bundle + SSL_CERT_FILE/PIP_CERT...), and
builds from a copy of the Dockerfile whose builder FROM lines name those images. Stages in the
final image's chain keep their original base: the bundle never reaches the final image.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from stablebuild.buildargs import NO_SECRETS, Redactor, arg_problem
from stablebuild.engine.build import build_query
from stablebuild.engine.client import LABEL_RUN, Engine, client_settings
from stablebuild.engine.context import archive
from stablebuild.errors import EngineError
from stablebuild.stages import ParsedDockerfile, Stage, parse, substitute, variables
from stablebuild.values import Fields

BUILD_CA_PATH = "/usr/local/share/stablebuild/build-ca.crt"
CA_ENV = (
    "SSL_CERT_FILE",
    "PIP_CERT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)
_FROM = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE)

# The reference grammar of distribution/reference (what `docker pull` accepts), lower-case
# repository paths included: NAME[:TAG][@DIGEST], NAME = [DOMAIN[:PORT]/]PATH[/PATH...].
_ALNUM = r"[a-z0-9]+"
_PATH_COMPONENT = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?")
IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{64}")
_MAX_REFERENCE = 512  # names are at most 255 characters; a tag 128, a digest ~100


def reference_problem(image: str) -> str | None:
    """Why `image` is not something a FROM line may name (a reference or an image id), or None.

    NOTE: this is what keeps a value written into generated Dockerfile text from being more
    than one word: FROM cannot quote, so a space or a line break would be new syntax.
    """
    if IMAGE_ID.fullmatch(image) or image == "scratch":
        return None
    bad = next((c for c in image if c.isspace() or not c.isprintable()), None)
    if bad is not None:
        what = "a line break" if bad in "\r\n" else f"the character {bad!r}"
        return f"it holds {what}"
    if len(image) > _MAX_REFERENCE:
        return f"it is {len(image)} characters long"
    match = REFERENCE.fullmatch(image)
    if match is None:
        return "it is not NAME[:TAG][@DIGEST] (lower-case name, e.g. python:3.12-slim)"
    if len(match.group("name")) > 255:
        return "its name is longer than 255 characters"
    return None


class TrustPlan(Fields):
    """What was rewritten: the Dockerfile to build, the trust images made, and a note."""

    __slots__ = ("dockerfile", "images", "note", "workdir")

    def __init__(
        self,
        dockerfile: Path | None,  # None: nothing to rewrite (the original is built)
        images: list[str] | None = None,  # ids of the (untagged) trust images
        note: str = "",
        workdir: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        self.dockerfile = dockerfile
        self.images = images if images is not None else []
        self.note = note
        self.workdir = workdir

    def close(self) -> None:
        if self.workdir is not None:
            self.workdir.cleanup()


def builder_stages(df: ParsedDockerfile, target: str | None, args: dict[str, str]) -> list[Stage]:
    """Stages built FROM an external image that are not part of the final image."""
    final = df.target(target)
    if final is None:
        return []
    in_final = {s.index for s in df.chain(final, args)}
    return [
        s
        for s in df.stages
        if s.index not in in_final and s.index < final.index + 1 and df.parent(s, args) is None
    ]


def trust_dockerfile_text(base: str) -> str:
    """The trust image's Dockerfile; `base` must be one image reference (checked here)."""
    problem = reference_problem(base)
    if problem is not None:
        raise EngineError(f"cannot build FROM {base!r}: {problem}")
    env = " ".join(f"{name}={BUILD_CA_PATH}" for name in CA_ENV)
    return f"FROM {base}\nCOPY build-ca.crt {BUILD_CA_PATH}\nENV {env}\n"


def rewrite_from_lines(text: str, replacements: dict[int, str]) -> str:
    """Replace the image of the FROM instruction at each 1-based line number."""
    lines = text.splitlines(keepends=True)
    for number, image in replacements.items():
        problem = reference_problem(image)
        if problem is not None:
            raise EngineError(f"cannot rewrite line {number} to FROM {image!r}: {problem}")
        match = _FROM.match(lines[number - 1].rstrip("\n"))
        if match is None:
            raise EngineError(f"cannot rewrite line {number}: not a one-line FROM")
        lines[number - 1] = f"{match.group(1)}{image}{match.group(3)}\n"
    return "".join(lines)


def plan_trust(
    engine: Engine,
    dockerfile: Path,
    target: str | None,
    buildargs: dict[str, str],
    ca_bundle: Path,
    redactor: Redactor = NO_SECRETS,
) -> TrustPlan:
    """Build the trust images and write the rewritten Dockerfile (in a temporary folder).

    Every build arg must be one line, and every builder stage's base, once its args are
    substituted, one image reference: nothing a build arg holds becomes an instruction.
    """
    for name, value in buildargs.items():
        problem = arg_problem(name, value)
        if problem is not None:
            raise EngineError(problem)
    text = dockerfile.read_text(encoding="utf-8")
    df = parse(text)
    args = df.global_defaults(buildargs)
    stages = builder_stages(df, target, args)
    if not stages:
        return TrustPlan(
            None,
            note="CA bundle not injected: no builder stage outside the final image "
            "(a single-stage build would have to bake it in)",
        )
    bundle = ca_bundle.read_bytes()
    workdir = tempfile.TemporaryDirectory(prefix="stablebuild-trust-")
    plan = TrustPlan(None, workdir=workdir)
    replacements: dict[int, str] = {}
    made: dict[str, str] = {}
    for stage in stages:
        base = substitute(stage.image, args)
        if not base:
            continue
        _check_base(stage, base, buildargs, redactor)
        if base not in made:
            made[base] = _trust_image(engine, base, bundle, Path(workdir.name), redactor)
            plan.images.append(made[base])
        replacements[stage.line] = made[base]
    path = Path(workdir.name) / "Dockerfile"
    path.write_text(rewrite_from_lines(text, replacements), encoding="utf-8")
    plan.dockerfile = path
    names = ", ".join(s.name or str(s.index) for s in stages)
    plan.note = f"CA bundle trusted in builder stages: {names} (not in the final image)"
    return plan


def _check_base(stage: Stage, base: str, buildargs: dict[str, str], redactor: Redactor) -> None:
    """Refuse a builder stage's base that is not one image reference, naming the args it used."""
    problem = reference_problem(base)
    if problem is None:
        return
    used = [name for name, _ in variables(stage.image) if name in buildargs]
    source = f"build arg {', '.join(used)}" if used else "the Dockerfile's ARG defaults"
    shown = redactor.text(base)
    shown = repr(shown if len(shown) <= 80 else shown[:77] + "...")
    raise EngineError(
        f"line {stage.line}: FROM {stage.image} becomes {shown} with {source}, which is not an "
        f"image reference: {problem}"
    )


def _trust_image(
    engine: Engine, base: str, bundle: bytes, workdir: Path, redactor: Redactor = NO_SECRETS
) -> str:
    digest = hashlib.sha256(base.encode() + b"\0" + bundle).hexdigest()[:12]
    context = workdir / f"trust-{digest}"
    context.mkdir(exist_ok=True)
    (context / "build-ca.crt").write_bytes(bundle)
    (context / "Dockerfile").write_text(trust_dockerfile_text(base))
    # NOTE: untagged, with a label that does not change from run to run: the same base and
    # bundle give the same image id, so the builder stages built on it stay in the layer cache.
    image_id = None
    headers, proxies = client_settings(engine)
    query = build_query(labels={LABEL_RUN: f"trust-{digest}"}, proxies=proxies)
    tar, _ = archive(str(context), [])
    try:
        for chunk in engine.api.build(tar, query, headers=headers):
            if "error" in chunk:
                error = redactor.text(f"{base}: {str(chunk['error']).strip()}")
                raise EngineError(f"could not add the CA bundle to {error}")
            if isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
                image_id = str(chunk["aux"]["ID"])
    finally:
        tar.close()
    if image_id is None:
        raise EngineError(
            f"could not add the CA bundle to {redactor.text(base)}: no image id from the build"
        )
    return image_id
