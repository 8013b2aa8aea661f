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
    return _query(argv, None, timeout)


def _query(
    argv: list[str], commands: Commands | None, timeout: float | None = None
) -> tuple[int, str, str]:
    """`_run`'s answer, from the command started ahead with the same key when there is one."""
    limit = TIMEOUT if timeout is None else timeout
    try:
        code, out, err = _completed(argv, limit, commands)
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {limit}s"
    except OSError as exc:
        return 126, "", str(exc)
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _completed(
    argv: list[str],
    timeout: float,
    commands: Commands | None,
    env: dict[str, str] | None = None,
    merge: bool = False,
) -> tuple[int, bytes, bytes]:
    """What `subprocess.run` answers (exit code, stdout, stderr) or raises, for `argv`.

    From the command started ahead with the same key when there is one, else run now.
    """
    ahead = commands.take(argv, timeout, env, merge) if commands is not None else None
    if ahead is not None:
        return ahead.answer()
    proc = subprocess.run(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        env=env,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr or b""


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- commands started ahead -------------------------------------------------------------------

SLOTS = 2  # commands started ahead running at once: with the imports, they keep the 2 CPUs busy
POLL = 0.002  # seconds between looks at a command being waited for


def _context() -> tuple[tuple[tuple[str, str], ...], str] | None:
    """What a command inherits that the probe's own work could change: environment, directory."""
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    return tuple(sorted(os.environ.items())), cwd


class _Ahead:
    """One command started before the section that reads it; its output goes to unnamed files.

    NOTE: files, not pipes: a command nobody reads yet must never stall on a full pipe, or its
    deadline would measure the probe's own work instead of the command.
    """

    def __init__(
        self,
        argv: list[str],
        timeout: float,
        env: dict[str, str] | None,
        merge: bool,
        key: tuple[object, ...],
    ) -> None:
        self.argv, self.timeout, self.env, self.merge, self.key = argv, timeout, env, merge, key
        self.proc: subprocess.Popen[bytes] | None = None
        self.files: list[Any] = []  # unnamed temporary files, binary
        self.deadline = 0.0
        self.over = False
        self.timed_out = False
        self.late = False

    def launch(self) -> bool:
        """Start it; False if it cannot start here (the section then runs it now, as ever)."""
        # NOTE: imported here, not on top: the first 30 lines of this file are what a shell
        # runs (up to its syntax error) when the interpreter asked for is one; they stay as they
        # were, and so does the error text it prints.
        import tempfile

        try:  # the files live as long as the command: `discard` closes them
            self.files.append(tempfile.TemporaryFile())  # noqa: SIM115
            if not self.merge:
                self.files.append(tempfile.TemporaryFile())  # noqa: SIM115
            stderr: Any = subprocess.STDOUT if self.merge else self.files[1]
            self.proc = subprocess.Popen(
                self.argv, stdout=self.files[0], stderr=stderr, env=self.env
            )
        except Exception:
            # NOTE: a program that is missing or cannot run fails the same way when run now,
            # with the very error text `subprocess.run` gives.
            self.discard()
            return False
        self.deadline = time.monotonic() + self.timeout
        return True

    def settle(self) -> bool:
        """Whether it is over: exited, or killed past its deadline as `subprocess.run` would."""
        if self.over or self.proc is None:
            return self.over
        if self.proc.poll() is None:
            if time.monotonic() < self.deadline:
                return False
            self.proc.kill()
            self.proc.wait()
            self.timed_out = True
        elif time.monotonic() >= self.deadline:
            # NOTE: seen over only after its deadline, it may or may not have beaten it: its
            # answer is not used, the section runs it now.
            self.late = True
        self.over = True
        return True

    def answer(self) -> tuple[int, bytes, bytes]:
        """Its (exit code, stdout, stderr), or the `TimeoutExpired` that `subprocess.run` raises."""
        try:
            if self.timed_out:
                raise subprocess.TimeoutExpired(self.argv, self.timeout)
            out = [self._read(handle) for handle in self.files]
            assert self.proc is not None and self.proc.returncode is not None
            return self.proc.returncode, out[0], out[1] if len(out) > 1 else b""
        finally:
            self.discard()

    @staticmethod
    def _read(handle: Any) -> bytes:
        handle.seek(0)
        data: bytes = handle.read()
        return data

    def discard(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()
        for handle in self.files:
            handle.close()
        self.files = []


class Commands:
    """Commands started ahead of the sections that read their answers, `slots` at most running.

    Starting ahead is only a hint: a section gets the answer of a command started ahead with the
    very same argument vector, timeout, options, environment and working directory, or its
    command runs now, as it always did; so the facts never depend on what was started ahead.
    """

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self._commands: list[_Ahead] = []  # not yet taken, in the order they were started

    def start(
        self,
        argv: list[str],
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        merge: bool = False,
    ) -> None:
        """Start `argv` now, or as soon as a slot is free; once only per key."""
        if self.slots <= 0:
            return
        limit = TIMEOUT if timeout is None else timeout
        key = self._key(argv, limit, env, merge)
        if key is None or any(c.key == key for c in self._commands):
            return
        self._commands.append(_Ahead(list(argv), limit, env, merge, key))
        self.advance()

    def advance(self) -> None:
        """Notice the commands that ended, and start waiting ones in the slots they freed."""
        running = 0
        for command in self._commands:
            if command.proc is not None and not command.settle():
                running += 1
        for command in list(self._commands):
            if running >= self.slots:
                break
            if command.proc is None:
                if command.launch():
                    running += 1
                else:
                    self._commands.remove(command)

    def take(
        self, argv: list[str], timeout: float, env: dict[str, str] | None, merge: bool
    ) -> _Ahead | None:
        """The command started ahead under this key, once it is over; None: run it now."""
        key = self._key(argv, timeout, env, merge)
        command = next((c for c in self._commands if key is not None and c.key == key), None)
        if command is None:
            return None
        while True:
            self.advance()
            if command not in self._commands:  # it could not start here
                return None
            if command.over:
                break
            time.sleep(POLL)
        self._commands.remove(command)
        self.advance()
        if command.late:
            command.discard()
            return None
        return command

    def close(self) -> None:
        """End what nobody took (started for a section that did not ask for it)."""
        for command in self._commands:
            command.discard()
        self._commands = []

    @staticmethod
    def _key(
        argv: list[str], timeout: float, env: dict[str, str] | None, merge: bool
    ) -> tuple[object, ...] | None:
        context = _context()
        if context is None:
            return None
        options = tuple(sorted(env.items())) if env is not None else None
        return tuple(argv), timeout, options, merge, context


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


def interpreter_facts(
    modules: list[str], pip_check: bool, commands: Commands | None = None
) -> dict[str, Any]:
    """Run inside the target interpreter: version, imports, installed distributions, pip check.

    With `commands`, `pip check` runs while the modules are imported.
    """
    if pip_check and commands is not None:
        argv, env = _pip_check_command()
        commands.start(argv, env=env, merge=True)
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
        if commands is not None:
            commands.advance()
        dists = top.get(module.split(".")[0], [])
        entry["distributions"] = [_canonical(d) for d in dists]
        for dist in entry["distributions"]:
            if dist in distributions:
                entry["version"] = distributions[dist]
                break
        imports[module] = entry
    check: dict[str, Any] = {"ran": False, "ok": None, "output": ""}
    if pip_check:
        check = _pip_check(commands)
    return {
        "python": facts,
        "imports": imports,
        "distributions": distributions,
        "pip_check": check,
    }


def _pip_check_command() -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    return [sys.executable, "-m", "pip", "check"], env


def _pip_check(commands: Commands | None) -> dict[str, Any]:
    argv, env = _pip_check_command()
    try:
        code, raw, _ = _completed(argv, TIMEOUT, commands, env=env, merge=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"ran": False, "ok": None, "output": str(exc)}
    output = raw.decode("utf-8", "replace").strip()
    if "No module named pip" in output:
        return {"ran": False, "ok": None, "output": "pip is not installed"}
    return {"ran": True, "ok": code == 0, "output": _tail(output, 20)}


def python_facts(request: dict[str, Any], commands: Commands | None = None) -> dict[str, Any]:
    links, modules, pip_check = _python_request(request)
    if _runs_here(links):
        inner = interpreter_facts(modules, pip_check, commands)
    elif links["exists"]:
        code, out, err = _query(_interpreter_argv(links, modules, pip_check), commands)
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


def _python_request(request: dict[str, Any]) -> tuple[dict[str, Any], list[str], bool]:
    """The target interpreter's link facts, the modules to import, whether to run pip check."""
    links = link_facts(request.get("interpreter") or "python3")
    return links, list(request.get("imports") or []), bool(request.get("pip_check", True))


def _runs_here(links: dict[str, Any]) -> bool:
    """The probe runs in the target interpreter: it gathers its facts itself."""
    here = os.path.realpath(sys.executable)
    return bool(links.get("resolved")) and here == links["resolved"] and _same_prefix(links["path"])


def _interpreter_argv(links: dict[str, Any], modules: list[str], pip_check: bool) -> list[str]:
    """The probe again, in the target interpreter, for the facts only it can gather."""
    sub = {"mode": "interpreter", "imports": modules, "pip_check": pip_check}
    return [links["path"], "-c", SOURCE, json.dumps(sub)]


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


VERSION = ["-version"]
ENCODERS = ["-hide_banner", "-encoders"]
HWACCELS = ["-hide_banner", "-hwaccels"]


def _tool(name: str, commands: Commands | None = None) -> dict[str, Any]:
    path = shutil.which(name)
    if path is None:
        return {"found": False, "path": None, "version": None, "error": f"{name} not on PATH"}
    code, out, err = _query([path, *VERSION], commands)
    if code != 0:
        return {"found": True, "path": path, "version": None, "error": _tail(err or out, 3)}
    match = re.search(r"version (\S+)", out)
    return {
        "found": True,
        "path": path,
        "version": match.group(1) if match else None,
        "error": None,
    }


def _encoders(ffmpeg: str, commands: Commands | None = None) -> dict[str, str]:
    code, out, _ = _query([ffmpeg, *ENCODERS], commands)
    kinds = {"V": "video", "A": "audio", "S": "subtitle"}
    found: dict[str, str] = {}
    if code != 0:
        return found
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in kinds and parts[1] != "=":
            found[parts[1]] = kinds[parts[0][0]]
    return found


def _hwaccels(ffmpeg: str, commands: Commands | None = None) -> list[str]:
    code, out, _ = _query([ffmpeg, *HWACCELS], commands)
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


def ffmpeg_facts(request: dict[str, Any], commands: Commands | None = None) -> dict[str, Any]:
    ffmpeg, ffprobe = _tool("ffmpeg", commands), _tool("ffprobe", commands)
    facts: dict[str, Any] = {"ffmpeg": ffmpeg, "ffprobe": ffprobe, "encoders": {}, "hwaccels": []}
    if not ffmpeg["found"] or ffmpeg["error"]:
        facts["smoke"] = {}
        return facts
    facts["encoders"] = _encoders(ffmpeg["path"], commands)
    facts["hwaccels"] = _hwaccels(ffmpeg["path"], commands)
    if commands is not None:
        commands.close()  # NOTE: encodes are timed: they run alone, as they always did
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


def start_ahead(request: dict[str, Any], commands: Commands) -> None:
    """Start the commands the python and ffmpeg sections will run, in the order they run them.

    The smoke and NVENC encodes are not: they are timed, they load both CPUs (or the GPU's few
    encoder sessions), and they depend on the encoder list.
    """
    # NOTE: errors are ignored here: a section that fails, fails when it runs, as it always did.
    with contextlib.suppress(Exception):
        links, modules, pip_check = _python_request(request)
        if _runs_here(links):
            if pip_check:
                argv, env = _pip_check_command()
                commands.start(argv, env=env, merge=True)
        elif links["exists"]:
            commands.start(_interpreter_argv(links, modules, pip_check))
    if request.get("ffmpeg") is None:
        return
    with contextlib.suppress(Exception):
        ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
        if ffmpeg is not None:
            commands.start([ffmpeg, *VERSION])
        if ffprobe is not None:
            commands.start([ffprobe, *VERSION])
        if ffmpeg is not None:  # read only if `-version` succeeds, else ended unread
            commands.start([ffmpeg, *ENCODERS])
            commands.start([ffmpeg, *HWACCELS])


def gather(request: dict[str, Any], slots: int = SLOTS) -> dict[str, Any]:
    """Every section's facts; `slots`: commands started ahead at once (0: each runs when read)."""
    facts: dict[str, Any] = {"probe_version": PROBE_VERSION, "errors": []}
    ffmpeg, nvenc = request.get("ffmpeg"), request.get("nvenc")
    commands = Commands(slots)
    sections: list[tuple[str, Callable[[], dict[str, Any]], bool]] = [
        ("identity", identity, True),
        ("python", lambda: python_facts(request, commands), True),
        ("dpkg", dpkg_facts, True),
        ("ffmpeg", lambda: ffmpeg_facts(ffmpeg or {}, commands), ffmpeg is not None),
        ("nvenc", lambda: nvenc_facts(nvenc or {}), nvenc is not None),
        ("files", lambda: file_facts(list(request.get("files") or [])), bool(request.get("files"))),
    ]
    try:
        start_ahead(request, commands)
        for name, collect, wanted in sections:
            if name == "nvenc":
                commands.close()  # NOTE: nothing started ahead outlives the sections reading it
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
    finally:
        commands.close()
    return facts


def main(argv: list[str]) -> int:
    request = json.loads(argv[1]) if len(argv) > 1 else {}
    if request.get("mode") == "interpreter":
        commands = Commands()
        try:
            result = interpreter_facts(
                list(request.get("imports") or []), bool(request.get("pip_check")), commands
            )
        finally:
            commands.close()
    else:
        result = gather(request)
    sys.stdout.write(MARKER + json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


SOURCE = ""  # replaced by the text of this file when sent to a container (see probe/__init__.py)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
