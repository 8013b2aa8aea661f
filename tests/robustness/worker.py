"""The fuzz worker: runs a batch of generated cases in-process and reports one JSON line per case.

Started by `tests.robustness.harness` as `python worker.py BATCH START FD [SKIP_CLASS...]`
under a memory limit. Each case is a library call (`load_manifest`) or a CLI call through Typer's
`CliRunner`, so a thousand cases cost one interpreter start-up. The worker judges nothing: it
records what happened (exit code, traceback, whether the secret showed up, what the JSON said,
what changed on disk) and the harness decides. A case that hangs is the harness's to kill; a
MemoryError ends the worker after its report, as the interpreter may not be usable afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import casecheck  # type: ignore[import-not-found]  # NOTE: beside this script, by bare name

HEAD = 400  # characters of stdout/stderr kept for the symptom line
REPORT_CAP = 64 * 1024 * 1024


def main() -> None:
    batch_path, start, fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    skip = set(sys.argv[4:])  # case classes that already hung: not run again
    batch = json.loads(Path(batch_path).read_text(encoding="utf-8"))
    channel = os.fdopen(fd, "w", encoding="utf-8")

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    # NOTE: imported before "ready", so start-up time never counts against a case's timeout.
    from typer.testing import CliRunner

    from stablebuild.cli import app

    send({"ready": True})
    home = os.getcwd()
    for index in range(start, len(batch["cases"])):
        spec = batch["cases"][index]
        if spec["cls"] in skip:
            send({"skip": index})
            continue
        send({"start": index})
        facts = run_case(spec, batch, app, CliRunner)
        os.chdir(home)
        send({"done": index, **facts})
        if facts.get("fatal"):
            sys.exit(99)


def run_case(spec: dict[str, Any], batch: dict[str, Any], app: Any, runner: Any) -> dict[str, Any]:
    canary = batch.get("canary")
    armed = casecheck.arm_canary(canary) if canary else 0
    os.chdir(spec.get("cwd") or os.getcwd())
    started = time.perf_counter()
    if spec["action"].startswith("selftest:"):
        facts = _selftest(spec, batch)
    else:
        facts = _load(spec) if spec["action"] == "load" else _cli(spec, app, runner)
    facts["seconds"] = time.perf_counter() - started
    secret = batch["secret"]
    texts = dict(facts.pop("_texts"))
    for report in spec.get("reports", []):
        text = _report_text(report)
        if text is not None:
            texts[f"report {os.path.basename(report)}"] = text
    facts["leaks"] = [where for where, text in texts.items() if secret in text]
    facts["tb_in_output"] = any("Traceback (most recent call last)" in t for t in texts.values())
    if spec.get("json_from") and facts.get("exit") in (0, 1):
        facts.update(_json_facts(spec, texts.get("stdout", "")))
    disk = casecheck.preserved_problems(spec.get("preserve", []), spec.get("absent", []))
    if canary:
        changed = casecheck.canary_problems(
            canary, armed, batch["canary_mtime_ns"], batch["canary_size"]
        )
        disk += [p for p in changed if spec.get("watch_canary") or "read" not in p]
    facts["disk"] = disk
    return facts


def _load(spec: dict[str, Any]) -> dict[str, Any]:
    from stablebuild.errors import ManifestError
    from stablebuild.manifest.load import load_manifest

    facts: dict[str, Any] = {"exit": None, "traceback": None, "_texts": {}}
    try:
        load_manifest(Path(spec["manifest"]), spec.get("profile"))
        facts["exit"] = 0
    except ManifestError as exc:
        facts["exit"] = 2
        lines = [str(problem) for problem in exc.problems]
        facts["problems"] = len(lines)
        facts["multiline"] = [line[:200] for line in lines if "\n" in line or "\r" in line][:3]
        facts["first_problem"] = lines[0][:HEAD] if lines else exc.message[:HEAD]
        facts["_texts"] = {"error": "\n".join([exc.message, exc.hint, *lines])}
    except MemoryError:
        facts["traceback"] = "MemoryError (the memory limit was reached)"
        facts["fatal"] = True
    except BaseException as exc:
        facts["traceback"] = _describe(exc)
        facts["_texts"] = {"error": str(exc)}
    return facts


def _cli(spec: dict[str, Any], app: Any, runner_class: Any) -> dict[str, Any]:
    runner = runner_class()
    result = runner.invoke(app, spec["argv"], env=spec.get("env") or {}, catch_exceptions=True)
    exc = result.exception
    stdout, stderr = result.stdout, _stderr(result)
    facts: dict[str, Any] = {
        "exit": result.exit_code,
        "traceback": None,
        "stdout_head": stdout[:HEAD],
        "stderr_head": stderr[:HEAD],
        "help": "Usage" in stdout,
        "_texts": {"stdout": stdout, "stderr": stderr},
    }
    if exc is not None and not isinstance(exc, SystemExit):
        facts["traceback"] = _describe(exc)
        facts["_texts"]["exception"] = str(exc)
        if isinstance(exc, MemoryError):
            facts["fatal"] = True
    return facts


def _selftest(spec: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """Misbehaviour on purpose, so the harness's own tests can see it is caught."""
    what = spec["action"].removeprefix("selftest:")
    facts: dict[str, Any] = {"exit": 0, "traceback": None, "_texts": {}}
    if what == "sleep":
        time.sleep(3600)
    elif what == "die":
        os._exit(3)
    elif what == "memory":
        try:
            bytearray(8 * 1024**3)
        except MemoryError:
            facts["traceback"] = "MemoryError (the memory limit was reached)"
            facts["fatal"] = True
    elif what == "print-secret":
        facts["_texts"] = {"stdout": f"found {batch['secret']} in a file"}
    elif what == "read-canary":
        Path(batch["canary"]).read_bytes()
    elif what == "replace":
        for want in spec.get("preserve", []):
            Path(want["path"] + ".new").write_text("report\n")
            os.replace(want["path"] + ".new", want["path"])
    elif what == "traceback":
        facts["traceback"] = _describe(ValueError("on purpose"))
    return facts


def _stderr(result: Any) -> str:
    try:
        return str(result.stderr)
    except ValueError:  # an older click mixes stderr into stdout
        return ""


def _describe(exc: BaseException) -> str:
    """`Type: message (file:line)`, at the deepest stablebuild frame: enough to route a bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/stablebuild/" in f.filename] or frames
    where = f" ({Path(ours[-1].filename).name}:{ours[-1].lineno})" if ours else ""
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"


def _report_text(path: str) -> str | None:
    try:
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        if os.path.getsize(path) > REPORT_CAP:
            return None
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _json_facts(spec: dict[str, Any], stdout: str) -> dict[str, Any]:
    source = spec["json_from"]
    if source == "stdout":
        text = stdout
    else:
        text = _report_text(source)
        if text is None:
            return {"json_error": f"report {os.path.basename(source)} was not written"}
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {"json_error": f"not JSON: {exc}"}
    if not spec.get("audit_json"):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        return {"json_error": "no `findings` list in the audit JSON"}
    findings = [f for f in data["findings"] if isinstance(f, dict)]
    named = " ".join(f"{f.get('file') or ''} {f.get('message') or ''}" for f in findings)
    return {
        "sb000": [str(f.get("message"))[:200] for f in findings if f.get("rule") == "SB000"],
        "family_errors": {str(k): str(v)[:200] for k, v in (data.get("errors") or {}).items()},
        "unnamed": [name for name in spec.get("must_name", []) if name not in named],
        "findings": len(findings),
    }


if __name__ == "__main__":
    main()
