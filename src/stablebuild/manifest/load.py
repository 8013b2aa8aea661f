"""Finding and loading `stablebuild.yml`: every problem at once, each with file, line and key.

The steps: YAML to line-numbered nodes (`nodes`), shapes and unknown keys (`schema`), the
profile and `defaults:` laid over the base (`profiles`), then meanings and the frozen
`Manifest` (`build`). Nothing is built from a manifest with a problem.

The file is read through `textfile`: a FIFO, a device, a file over 1 MiB or text that is not
UTF-8 is one problem with the file (and line), exit 2, never a hang or a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from stablebuild import textfile
from stablebuild.errors import ManifestError, Problem
from stablebuild.manifest.build import ManifestBuilder
from stablebuild.manifest.model import Manifest
from stablebuild.manifest.nodes import Node, compose
from stablebuild.manifest.profiles import apply
from stablebuild.manifest.schema import MANIFEST

MANIFEST_NAMES = ("stablebuild.yml", "stablebuild.yaml")
VERSION = 1
MAX_BYTES = 1024 * 1024  # a manifest is a page or two of YAML


def find_manifest(directory: Path) -> Path | None:
    """The manifest in `directory` itself (not its parents); `.yml` wins over `.yaml`."""
    for name in MANIFEST_NAMES:
        candidate = directory / name
        # NOTE: a FIFO or a dangling symlink by that name is found too, so that loading it
        # says what is wrong instead of "no manifest".
        if os.path.lexists(candidate) and not candidate.is_dir():
            return candidate
    return None


def load_manifest(
    path: Path, profile: str | None = None, *, inside: Path | None = None
) -> Manifest:
    """Read, validate and build the manifest at `path`, with `profile` laid over it.

    `inside`: the folder a manifest found there (not named by the user) must resolve into, so
    that a `stablebuild.yml` symlinked out of a repository under audit is never read.
    Raises `ManifestError` listing every problem found when anything is wrong.
    """
    file = str(path)
    text = textfile.read_text(path, root=inside, limit=MAX_BYTES, strict=True)
    if isinstance(text, textfile.Unreadable):
        raise ManifestError([Problem(file, text.line, text.reason)])
    problems: list[Problem] = []
    root = compose(text, file, problems)
    if root is not None and root.kind != "map":
        problems.append(
            root.problem("the manifest must be a mapping of keys (version, name, images...)")
        )
    if root is None or root.kind != "map":
        raise ManifestError(problems)
    MANIFEST.check(root, problems)
    _check_version(root, problems)
    layout = apply(root.entries, profile, file, problems)
    manifest = ManifestBuilder(path, file, problems).build(layout, profile)
    if problems:
        raise ManifestError(_in_order(problems, file))
    return manifest


def _check_version(root: Node, problems: list[Problem]) -> None:
    version = root.entries.get("version")
    if version is None:
        problems.append(
            Problem(root.file, None, f"missing `version: {VERSION}` at the top", "version")
        )
    elif version.kind == "int" and version.data != VERSION:
        problems.append(
            version.problem(
                f"unsupported manifest version {version.text}; "
                f"this stablebuild reads version {VERSION}"
            )
        )


def _in_order(problems: list[Problem], file: str) -> list[Problem]:
    """Each problem once, the manifest's own first, in line order.

    A problem in `defaults:` is found once per image that inherits it; it is reported once.
    """
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda problem: (problem.file != file, problem.line or 0))
