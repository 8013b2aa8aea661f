"""The in-image probe: stdlib only, runs once per image and prints its facts as one JSON line.

It is sent to the container as the source of `python -c`, with a JSON request as argv[1]; the
schema of what it prints is docs/facts.md. Nothing from the request ever reaches a shell: every
command is an argument vector. It must run on any CPython >= 3.7, so it avoids newer syntax.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

PROBE_VERSION = 2  # 2: NVENC encodes attempted whenever the GPU was requested
MARKER = "STABLEBUILD-FACTS:"
TIMEOUT = 60


def _run(argv: list[str], timeout: float = TIMEOUT) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout}s"
    except OSError as exc:
        return 126, "", str(exc)
    out = proc.stdout.decode("utf-8", "replace")
    return proc.returncode, out, proc.stderr.decode("utf-8", "replace")


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- identity ---------------------------------------------------------------------------------


def identity() -> dict[str, Any]:
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = None
    return {"uid": uid, "gid": gid, "user": user}


# --- python (interpreter path facts gathered from outside the interpreter) --------------------


def link_facts(interpreter: str) -> dict[str, Any]:
    path = interpreter if os.sep in interpreter else shutil.which(interpreter)
    facts: dict[str, Any] = {
        "interpreter": interpreter,
        "path": path,
        "exists": False,
        "dangling": False,
        "link_chain": [],
        "resolved": None,
        "venv": None,
    }
    if path is None:
        facts["error"] = f"{interpreter} not found on PATH"
        return facts
    current, seen = path, set()
    while os.path.islink(current) and current not in seen:
        seen.add(current)
        target = os.readlink(current)
        nxt = os.path.normpath(os.path.join(os.path.dirname(current), target))
        facts["link_chain"].append(f"{current} -> {target}")
        if not os.path.lexists(nxt):
            facts["dangling"] = True
            facts["error"] = f"{current} points at {nxt}, which does not exist"
            break
        current = nxt
    facts["exists"] = os.path.exists(path)
    if facts["exists"]:
        facts["resolved"] = os.path.realpath(path)
    elif not facts["dangling"]:
        facts["error"] = f"{path} does not exist"
    cfg = os.path.join(os.path.dirname(os.path.dirname(path)), "pyvenv.cfg")
    if os.path.isfile(cfg):
        home = None
        with open(cfg, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    home = value.strip()
        facts["venv"] = {
            "is_venv": True,
            "home": home,
            "home_exists": bool(home and os.path.isdir(home)),
        }
    else:
        facts["venv"] = {"is_venv": False, "home": None, "home_exists": None}
    return facts


# --- python (facts gathered inside the target interpreter) ------------------------------------


def _top_level_map() -> dict[str, list[str]]:
    try:
        from importlib.metadata import packages_distributions

        return {k: list(v) for k, v in packages_distributions().items()}
    except ImportError:  # Python < 3.10
        return {}


def interpreter_facts(modules: list[str], pip_check: bool) -> dict[str, Any]:
    """Run inside the target interpreter: version, imports, installed distributions, pip check."""
    facts: dict[str, Any] = {
        "runs": True,
        "version": ".".join(str(part) for part in sys.version_info[:3]),
        "executable": sys.executable,
    }
    distributions: dict[str, str] = {}
    try:
        from importlib import metadata

        for dist in metadata.distributions():
            name = dist.metadata["Name"]
            if name:
                distributions[_canonical(name)] = dist.version
    except ImportError:
        pass
    top = _top_level_map()
    imports: dict[str, Any] = {}
    for module in modules:
        entry: dict[str, Any] = {"ok": False, "error": None, "distributions": [], "version": None}
        # NOTE: a module that prints at import time must not corrupt the facts on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            try:
                importlib.import_module(module)
                entry["ok"] = True
            except BaseException as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
        dists = top.get(module.split(".")[0], [])
        entry["distributions"] = [_canonical(d) for d in dists]
        for dist in entry["distributions"]:
            if dist in distributions:
                entry["version"] = distributions[dist]
                break
        imports[module] = entry
    check: dict[str, Any] = {"ran": False, "ok": None, "output": ""}
    if pip_check:
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "check"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=TIMEOUT,
                check=False,
            )
            output = proc.stdout.decode("utf-8", "replace").strip()
            if "No module named pip" in output:
                check = {"ran": False, "ok": None, "output": "pip is not installed"}
            else:
                check = {"ran": True, "ok": proc.returncode == 0, "output": _tail(output, 20)}
        except (OSError, subprocess.TimeoutExpired) as exc:
            check = {"ran": False, "ok": None, "output": str(exc)}
    return {
        "python": facts,
        "imports": imports,
        "distributions": distributions,
        "pip_check": check,
    }


def python_facts(request: dict[str, Any]) -> dict[str, Any]:
    interpreter = request.get("interpreter") or "python3"
    links = link_facts(interpreter)
    modules = list(request.get("imports") or [])
    pip_check = bool(request.get("pip_check", True))
    here = os.path.realpath(sys.executable)
    if links.get("resolved") and here == links["resolved"] and _same_prefix(links["path"]):
        inner = interpreter_facts(modules, pip_check)
    elif links["exists"]:
        sub = {"mode": "interpreter", "imports": modules, "pip_check": pip_check}
        code, out, err = _run([links["path"], "-c", SOURCE, json.dumps(sub)])
        parsed = parse_output(out)
        if parsed is None:
            error = _tail(err or out, 3) or f"exit {code}"
            parsed = {"python": {"runs": False, "error": error}}
        inner = parsed
    else:
        inner = {"python": {"runs": False, "error": links.get("error")}}
    python = dict(links)
    python.update(inner.pop("python"))
    python.setdefault("version", None)
    python.setdefault("error", links.get("error"))
    inner["python"] = python
    return inner


def _same_prefix(path: str | None) -> bool:
    """The running interpreter is the target one (a venv's python and its base share a binary)."""
    if path is None:
        return False
    venv_dir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.isfile(os.path.join(venv_dir, "pyvenv.cfg")):
        return os.path.abspath(sys.prefix) == os.path.abspath(venv_dir)
    return sys.prefix == sys.base_prefix


# --- dpkg -------------------------------------------------------------------------------------


def dpkg_facts() -> dict[str, Any]:
    status = "/var/lib/dpkg/status"
    if not os.path.isfile(status):
        return {"available": False, "packages": {}}
    packages: dict[str, str] = {}
    with open(status, encoding="utf-8", errors="replace") as handle:
        for stanza in handle.read().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line and not line[0].isspace() and ":" in line:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
            if fields.get("Status", "").endswith(" installed") and "Package" in fields:
                packages[fields["Package"]] = fields.get("Version", "")
    return {"available": True, "packages": packages}


# --- ffmpeg -----------------------------------------------------------------------------------


def _tool(name: str) -> dict[str, Any]:
    path = shutil.which(name)
    if path is None:
        return {"found": False, "path": None, "version": None, "error": f"{name} not on PATH"}
    code, out, err = _run([path, "-version"])
    if code != 0:
        return {"found": True, "path": path, "version": None, "error": _tail(err or out, 3)}
    match = re.search(r"version (\S+)", out)
    return {
        "found": True,
        "path": path,
        "version": match.group(1) if match else None,
        "error": None,
    }


def _encoders(ffmpeg: str) -> dict[str, str]:
    code, out, _ = _run([ffmpeg, "-hide_banner", "-encoders"])
    kinds = {"V": "video", "A": "audio", "S": "subtitle"}
    found: dict[str, str] = {}
    if code != 0:
        return found
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in kinds and parts[1] != "=":
            found[parts[1]] = kinds[parts[0][0]]
    return found


def _hwaccels(ffmpeg: str) -> list[str]:
    code, out, _ = _run([ffmpeg, "-hide_banner", "-hwaccels"])
    if code != 0:
        return []
    return [line.strip() for line in out.splitlines()[1:] if line.strip()]


def encode(
    ffmpeg: str, ffprobe: str | None, encoder: str, kind: str, seconds: int = 1
) -> dict[str, Any]:
    """Really encode a generated clip with `encoder`, then probe what came out."""
    out_file = "/tmp/stablebuild-{}.mkv".format(re.sub(r"[^A-Za-z0-9_.-]", "_", encoder))
    if kind == "audio":
        source = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", encoder]
    else:
        source = [
            "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=320x240:rate=25",
            "-pix_fmt", "yuv420p", "-c:v", encoder,
        ]  # fmt: skip
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *source, out_file]
    started = time.time()
    code, out, err = _run(argv, timeout=120)
    result: dict[str, Any] = {
        "ok": False, "codec": None, "duration": None,
        "seconds": round(time.time() - started, 3), "error": None,
    }  # fmt: skip
    if code != 0:
        result["error"] = _tail(err or out) or f"ffmpeg exited {code}"
        return result
    if ffprobe is None:
        result["error"] = "ffprobe not found: cannot verify the output"
        return result
    code, out, err = _run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_name:format=duration",
         "-of", "json", out_file]
    )  # fmt: skip
    with contextlib.suppress(OSError):
        os.unlink(out_file)
    if code != 0:
        result["error"] = "ffprobe failed: " + _tail(err or out, 3)
        return result
    try:
        probed = json.loads(out)
        streams = probed.get("streams") or [{}]
        result["codec"] = streams[0].get("codec_name")
        duration = (probed.get("format") or {}).get("duration")
        result["duration"] = float(duration) if duration else None
        result["ok"] = result["codec"] is not None
    except ValueError as exc:
        result["error"] = f"ffprobe output unreadable: {exc}"
    return result


def ffmpeg_facts(request: dict[str, Any]) -> dict[str, Any]:
    ffmpeg, ffprobe = _tool("ffmpeg"), _tool("ffprobe")
    facts: dict[str, Any] = {"ffmpeg": ffmpeg, "ffprobe": ffprobe, "encoders": {}, "hwaccels": []}
    if not ffmpeg["found"] or ffmpeg["error"]:
        facts["smoke"] = {}
        return facts
    facts["encoders"] = _encoders(ffmpeg["path"])
    facts["hwaccels"] = _hwaccels(ffmpeg["path"])
    smoke: dict[str, Any] = {}
    for encoder in request.get("smoke") or []:
        kind = facts["encoders"].get(encoder)
        if kind is None:
            missing = f"encoder {encoder} is not compiled into ffmpeg"
            smoke[encoder] = {
                "ok": False, "codec": None, "duration": None, "seconds": 0.0, "error": missing
            }  # fmt: skip
            continue
        smoke[encoder] = encode(ffmpeg["path"], ffprobe["path"], encoder, kind)
    facts["smoke"] = smoke
    return facts


# --- nvenc ------------------------------------------------------------------------------------


def _loadable(name: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def nvenc_facts(request: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "attempted": False,
        "reason": request.get("reason"),
        "devices": sorted(glob.glob("/dev/nvidia*")),
        "libraries": {lib: _loadable(lib) for lib in ("libcuda.so.1", "libnvidia-encode.so.1")},
        "encodes": {},
    }
    if not request.get("attempt"):
        return facts
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        facts["reason"] = "ffmpeg not on PATH"
        return facts
    # NOTE: attempted even without /dev/nvidia*: the engine's nvidia runtime was asked for a
    # GPU, so an encode that cannot run is a failure with the driver library's own error (an
    # FFmpeg that lists NVENC but cannot use it), never a skip. `devices` tells why.
    facts["attempted"] = True
    facts["reason"] = None
    for encoder in request.get("encoders") or []:
        facts["encodes"][encoder] = encode(ffmpeg, shutil.which("ffprobe"), encoder, "video")
    return facts


# --- files ------------------------------------------------------------------------------------


def file_facts(paths: list[str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            facts[path] = {"exists": False, "type": None, "mode": None}
            continue
        kind = (
            "link"
            if stat.S_ISLNK(info.st_mode)
            else "dir"
            if stat.S_ISDIR(info.st_mode)
            else "file"
        )
        exists = os.path.exists(path)
        facts[path] = {"exists": exists, "type": kind, "mode": f"{stat.S_IMODE(info.st_mode):04o}"}
    return facts


# --- main -------------------------------------------------------------------------------------


def parse_output(out: str) -> dict[str, Any] | None:
    for line in reversed(out.splitlines()):
        if line.startswith(MARKER):
            try:
                value = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def gather(request: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {"probe_version": PROBE_VERSION, "errors": []}
    ffmpeg, nvenc = request.get("ffmpeg"), request.get("nvenc")
    sections: list[tuple[str, Callable[[], dict[str, Any]], bool]] = [
        ("identity", identity, True),
        ("python", lambda: python_facts(request), True),
        ("dpkg", dpkg_facts, True),
        ("ffmpeg", lambda: ffmpeg_facts(ffmpeg or {}), ffmpeg is not None),
        ("nvenc", lambda: nvenc_facts(nvenc or {}), nvenc is not None),
        ("files", lambda: file_facts(list(request.get("files") or [])), bool(request.get("files"))),
    ]
    for name, collect, wanted in sections:
        if not wanted:
            continue
        try:
            value = collect()
        except Exception as exc:
            facts["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        if name == "python":
            facts.update(value)
        else:
            facts[name] = value
    return facts


def main(argv: list[str]) -> int:
    request = json.loads(argv[1]) if len(argv) > 1 else {}
    if request.get("mode") == "interpreter":
        result = interpreter_facts(
            list(request.get("imports") or []), bool(request.get("pip_check"))
        )
    else:
        result = gather(request)
    sys.stdout.write(MARKER + json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


SOURCE = ""  # replaced by the text of this file when sent to a container (see probe/__init__.py)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
