"""The probe's commands started ahead: the same facts as run one after another, in less time.

Fake `ffmpeg`, `ffprobe` and interpreters on PATH sleep, answer as the real ones do, and write
when they started and ended; overlap is judged from those timestamps, never from wall-clock time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stablebuild.probe import probe as probe_module
from stablebuild.probe import probe_source
from stablebuild.probe.probe import SLOTS, Commands, gather, interpreter_facts

FFMPEG = r"""#!/bin/sh
# A fake ffmpeg: logs its run, sleeps, answers like Debian's ffmpeg 5.1.
printf 'start\tffmpeg\t%s\t%s\n' "$*" "$(date +%s%N)" >> "$FAKE_LOG"
if [ "$*" = "$FAKE_HANG" ]; then exec sleep 30; fi
sleep "${FAKE_SLEEP:-0.3}"
case "$*" in
  -version)
    echo "ffmpeg version ${FAKE_VERSION:-5.1.6-0+deb12u1} Copyright (c) 2000-2024 the FFmpeg"
    echo "built with gcc 12 (Debian 12.2.0-14)" ;;
  "-hide_banner -encoders")
    cat <<'EOF'
Encoders:
 V..... = Video
 A..... = Audio
 S..... = Subtitle
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
 S..... ass                  ASS (Advanced SubStation Alpha) subtitle
EOF
    ;;
  "-hide_banner -hwaccels")
    printf 'Hardware acceleration methods:\nvdpau\ncuda\nvaapi\n\n' ;;
  *)
    for last; do :; done
    : > "$last" ;;
esac
printf 'end\tffmpeg\t%s\t%s\n' "$*" "$(date +%s%N)" >> "$FAKE_LOG"
"""

FFPROBE = r"""#!/bin/sh
# A fake ffprobe: logs its run, sleeps, answers like Debian's ffprobe 5.1.
printf 'start\tffprobe\t%s\t%s\n' "$*" "$(date +%s%N)" >> "$FAKE_LOG"
if [ "$*" = "$FAKE_HANG" ]; then exec sleep 30; fi
sleep "${FAKE_SLEEP:-0.3}"
if [ "$*" = "-version" ]; then
  echo "ffprobe version 5.1.6-0+deb12u1 Copyright (c) 2007-2024 the FFmpeg developers"
else
  echo '{"streams": [{"codec_name": "h264"}], "format": {"duration": "1.000000"}}'
fi
printf 'end\tffprobe\t%s\t%s\n' "$*" "$(date +%s%N)" >> "$FAKE_LOG"
"""

INTERPRETER = """#!/bin/sh
# A fake target interpreter: logs its run, then is this test's Python.
printf 'start\\tpython\\t%s\\t%s\\n' "$1" "$(date +%s%N)" >> "$FAKE_LOG"
if [ -n "$FAKE_PYTHON_HANG" ]; then exec sleep 30; fi
sleep "${{FAKE_SLEEP:-0.3}}"
"{python}" "$@"
code=$?
printf 'end\\tpython\\t%s\\t%s\\n' "$1" "$(date +%s%N)" >> "$FAKE_LOG"
exit $code
"""

Run = tuple[str, str, int, int]  # program, arguments, started and ended (ns)


def _write(path: Path, text: str, mode: int = 0o755) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A bin folder first on PATH with the fakes, their log, and the probe able to re-run itself."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _write(bin_dir / "ffmpeg", FFMPEG)
    _write(bin_dir / "ffprobe", FFPROBE)
    _write(bin_dir / "python-target", INTERPRETER.format(python=sys.executable))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "runs.log"))
    monkeypatch.setenv("FAKE_HANG", "")
    monkeypatch.setattr(probe_module, "SOURCE", probe_source())
    yield bin_dir


def _source(slots: int) -> str:
    """The probe as sent, itself and the copy it re-runs in another interpreter alike, with
    `slots` commands started ahead (0: each runs when its section reads it)."""
    line = f"SLOTS = {SLOTS} "
    assert probe_source().count(line) == 2
    return probe_source().replace(line, f"SLOTS = {slots} ")


def _runs(bin_dir: Path) -> list[Run]:
    """The fakes' runs, from their log (read, then emptied for the next gathering)."""
    log = bin_dir.parent / "runs.log"
    started: dict[tuple[str, str], list[int]] = {}
    runs: list[Run] = []
    lines = log.read_text().splitlines() if log.exists() else []
    log.write_text("")
    for line in lines:
        event, program, args, when = line.split("\t")
        if event == "start":
            started.setdefault((program, args), []).append(int(when))
        else:
            runs.append((program, args, started[(program, args)].pop(0), int(when)))
    return sorted(runs, key=lambda run: run[2])


def _most_at_once(runs: list[Run]) -> int:
    events = sorted([(run[2], 1) for run in runs] + [(run[3], -1) for run in runs])
    at_once = most = 0
    for _, step in events:
        at_once += step
        most = max(most, at_once)
    return most


def _without_timings(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts less the encodes' own durations, which differ from run to run."""
    copy = json.loads(json.dumps(facts))
    for result in (copy.get("ffmpeg") or {}).get("smoke", {}).values():
        result["seconds"] = None
    return copy


def _both(request: dict[str, Any], bin_dir: Path) -> tuple[dict[str, Any], list[Run], list[Run]]:
    """Gather one after another, then with commands started ahead: the facts must be equal."""
    _runs(bin_dir)
    probe_module.SOURCE = _source(0)
    sequential = gather(request, slots=0)
    one_by_one = _runs(bin_dir)
    probe_module.SOURCE = probe_source()
    overlapping = gather(request)
    ahead = _runs(bin_dir)
    # Compared as printed: same keys, same values, lists in the same order.
    printed = json.dumps(_without_timings(overlapping), sort_keys=True)
    assert printed == json.dumps(_without_timings(sequential), sort_keys=True)
    return overlapping, one_by_one, ahead


def test_ffmpeg_queries_overlap_and_give_the_same_facts(fakes: Path) -> None:
    request = {
        "interpreter": sys.executable,
        "imports": ["json", "no_such_module_x"],
        "pip_check": False,
        "files": ["/etc/passwd"],
        "ffmpeg": {"smoke": []},
    }
    facts, one_by_one, ahead = _both(request, fakes)
    ffmpeg = facts["ffmpeg"]
    assert ffmpeg["ffmpeg"] == {
        "found": True, "path": str(fakes / "ffmpeg"), "version": "5.1.6-0+deb12u1", "error": None
    }  # fmt: skip
    assert ffmpeg["ffprobe"]["version"] == "5.1.6-0+deb12u1"
    assert ffmpeg["encoders"] == {
        "libx264": "video", "h264_nvenc": "video", "aac": "audio", "ass": "subtitle"
    }  # fmt: skip
    assert ffmpeg["hwaccels"] == ["vdpau", "cuda", "vaapi"]
    assert facts["imports"]["json"]["ok"] is True and facts["errors"] == []
    queries = [
        ("ffmpeg", "-version"),
        ("ffprobe", "-version"),
        ("ffmpeg", "-hide_banner -encoders"),
        ("ffmpeg", "-hide_banner -hwaccels"),
    ]
    # Each query ran once either way: what was started ahead was used, not run again.
    assert sorted(run[:2] for run in one_by_one) == sorted(queries)
    assert sorted(run[:2] for run in ahead) == sorted(queries)
    assert _most_at_once(one_by_one) == 1
    assert _most_at_once(ahead) == SLOTS  # overlapping, never more than the bound
    # About max(), not sum(): the queries took less time than their durations added up.
    span = max(run[3] for run in ahead) - min(run[2] for run in ahead)
    assert span < sum(run[3] - run[2] for run in ahead)


def test_the_target_interpreter_runs_beside_ffmpeg(fakes: Path) -> None:
    request = {
        "interpreter": str(fakes / "python-target"),
        "imports": ["json", "no_such_module_x"],
        "pip_check": True,
        "ffmpeg": {"smoke": []},
    }
    facts, one_by_one, ahead = _both(request, fakes)
    assert facts["python"]["runs"] is True
    assert facts["python"]["path"] == str(fakes / "python-target")
    assert facts["imports"]["json"]["ok"] is True
    assert "No module named 'no_such_module_x'" in facts["imports"]["no_such_module_x"]["error"]
    assert facts["pip_check"]["output"] != ""
    target = [run for run in ahead if run[0] == "python"]
    assert len(target) == 1 and len([run for run in one_by_one if run[0] == "python"]) == 1
    assert not any(_overlap(target[0], run) for run in one_by_one if run[0] != "python")
    assert any(_overlap(target[0], run) for run in ahead if run[0] == "ffmpeg")


def _overlap(one: Run, other: Run) -> bool:
    return one[2] < other[3] and other[2] < one[3]


def test_smoke_encodes_run_alone_after_the_queries(fakes: Path) -> None:
    request = {
        "interpreter": sys.executable,
        "imports": [],
        "pip_check": False,
        "ffmpeg": {"smoke": ["libx264", "libnope"]},
    }
    facts, _, ahead = _both(request, fakes)
    smoke = facts["ffmpeg"]["smoke"]
    assert smoke["libx264"]["ok"] is True and smoke["libx264"]["codec"] == "h264"
    assert smoke["libx264"]["duration"] == 1.0
    assert smoke["libnope"]["error"] == "encoder libnope is not compiled into ffmpeg"
    queries = [run for run in ahead if run[1] in ("-version", "-hide_banner -encoders",
                                                  "-hide_banner -hwaccels")]  # fmt: skip
    encodes = [run for run in ahead if run not in queries]
    assert len(queries) == 4 and len(encodes) == 2  # the encode, then ffprobe on its output
    assert max(run[3] for run in queries) < min(run[2] for run in encodes)
    assert _most_at_once(encodes) == 1


def test_missing_ffmpeg_and_a_program_that_cannot_start(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fakes / "ffmpeg").unlink()
    _write(fakes / "ffprobe", "#!/nonexistent/interpreter\n")  # exec fails: ENOENT
    _write(fakes / "python-target", "#!/bin/sh\n", mode=0o644)  # not executable: EACCES
    monkeypatch.setenv("PATH", f"{fakes}{os.pathsep}/usr/bin{os.pathsep}/bin")
    request = {
        "interpreter": str(fakes / "python-target"),
        "imports": ["json"],
        "ffmpeg": {"smoke": ["libx264"]},
    }
    facts, _, _ = _both(request, fakes)
    ffmpeg = facts["ffmpeg"]
    assert ffmpeg["ffmpeg"]["error"] == "ffmpeg not on PATH"
    assert ffmpeg["ffprobe"]["found"] is True
    assert ffmpeg["ffprobe"]["error"] == (
        f"[Errno 2] No such file or directory: '{fakes / 'ffprobe'}'"
    )
    assert ffmpeg["encoders"] == {} and ffmpeg["smoke"] == {}
    assert facts["python"]["runs"] is False
    assert facts["python"]["error"] == f"[Errno 13] Permission denied: '{fakes / 'python-target'}'"


def test_ffmpeg_that_fails_its_version_query(fakes: Path) -> None:
    _write(fakes / "ffmpeg", '#!/bin/sh\necho "libavcodec.so.59: cannot open shared object" >&2\n'
           "exit 127\n")  # fmt: skip
    request = {"interpreter": sys.executable, "pip_check": False, "ffmpeg": {"smoke": ["aac"]}}
    facts, _, _ = _both(request, fakes)
    ffmpeg = facts["ffmpeg"]
    assert ffmpeg["ffmpeg"]["error"] == "libavcodec.so.59: cannot open shared object"
    # The encoder and hwaccel queries started ahead are never read.
    assert ffmpeg["encoders"] == {} and ffmpeg["hwaccels"] == [] and ffmpeg["smoke"] == {}


def test_timeouts_give_the_same_facts(fakes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module, "TIMEOUT", 1)
    monkeypatch.setenv("FAKE_SLEEP", "0.05")
    monkeypatch.setenv("FAKE_HANG", "-hide_banner -hwaccels")
    request = {"interpreter": sys.executable, "pip_check": False, "ffmpeg": {"smoke": []}}
    facts, _, _ = _both(request, fakes)
    assert facts["ffmpeg"]["hwaccels"] == []
    assert facts["ffmpeg"]["encoders"]["aac"] == "audio"

    monkeypatch.setenv("FAKE_HANG", "-version")
    facts, _, _ = _both(request, fakes)
    assert facts["ffmpeg"]["ffmpeg"]["error"] == "timed out after 1s"
    assert facts["ffmpeg"]["ffprobe"]["error"] == "timed out after 1s"

    monkeypatch.setenv("FAKE_HANG", "")
    monkeypatch.setenv("FAKE_PYTHON_HANG", "1")
    facts, _, _ = _both({"interpreter": str(fakes / "python-target")}, fakes)
    assert facts["python"]["runs"] is False
    assert facts["python"]["error"] == "timed out after 1s"


@pytest.mark.parametrize(
    ("script", "output"),
    [
        ("exec sleep 30", "timed out after 1 seconds"),
        ("echo '/usr/bin/python3: No module named pip' >&2; exit 1", "pip is not installed"),
        ("echo 'six 1.16.0 has requirement x, which is not installed.'; exit 1", "six 1.16.0"),
    ],
)
def test_pip_check_answers_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, output: str
) -> None:
    pip = _write(tmp_path / "pip", f"#!/bin/sh\n{script}\n")
    monkeypatch.setattr(probe_module, "TIMEOUT", 1)
    monkeypatch.setattr(probe_module, "_pip_check_command", lambda: ([str(pip)], dict(os.environ)))
    sequential = interpreter_facts(["json"], True)
    commands = Commands()
    try:
        overlapping = interpreter_facts(["json"], True, commands)
    finally:
        commands.close()
    assert overlapping == sequential
    assert output in overlapping["pip_check"]["output"]


def test_an_import_that_changes_the_environment_gets_commands_run_after_it(
    fakes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sets_env.py").write_text("import os\nos.environ['FAKE_VERSION'] = '9.9'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FAKE_VERSION", "")
    monkeypatch.delenv("FAKE_VERSION")
    request = {
        "interpreter": sys.executable,
        "imports": ["sets_env"],
        "pip_check": False,
        "ffmpeg": {"smoke": []},
    }
    facts = []
    for slots in (0, SLOTS):
        sys.modules.pop("sets_env", None)
        os.environ.pop("FAKE_VERSION", None)
        facts.append(gather(request, slots=slots))
    sys.modules.pop("sets_env", None)
    assert facts[1] == facts[0]
    # Started ahead before the import, `ffmpeg -version` said 5.1; the facts are the later run's.
    assert facts[1]["ffmpeg"]["ffmpeg"]["version"] == "9.9"


def test_a_failed_temporary_file_means_the_command_runs_when_read(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tmp() -> Any:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_tmp)
    request = {"interpreter": sys.executable, "pip_check": False, "ffmpeg": {"smoke": []}}
    facts, _, ahead = _both(request, fakes)
    assert facts["ffmpeg"]["hwaccels"] == ["vdpau", "cuda", "vaapi"]
    assert _most_at_once(ahead) == 1


def test_nothing_is_left_running(fakes: Path) -> None:
    commands = Commands()
    commands.start([str(fakes / "ffmpeg"), "-version"])
    commands.start([str(fakes / "ffprobe"), "-version"])
    commands.start([str(fakes / "ffmpeg"), "-hide_banner", "-encoders"])
    started = [c.proc for c in commands._commands if c.proc is not None]
    assert len(started) == SLOTS
    commands.close()
    assert all(proc.returncode is not None for proc in started)
    assert commands._commands == []


def test_the_whole_probe_with_a_slow_ffmpeg(fakes: Path) -> None:
    """The probe as sent to a container: commands started ahead, one facts line."""
    request = {
        "interpreter": sys.executable,
        "imports": ["json"],
        "pip_check": False,
        "ffmpeg": {"smoke": []},
    }
    proc = subprocess.run(
        [sys.executable, "-c", probe_source(), json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    facts = probe_module.parse_output(proc.stdout)
    assert facts is not None and facts["errors"] == []
    assert facts["ffmpeg"]["hwaccels"] == ["vdpau", "cuda", "vaapi"]
    assert _most_at_once(_runs(fakes)) == SLOTS


def test_an_answer_seen_only_after_its_deadline_is_not_used(
    fakes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether it beat its deadline is unknown then: the command runs again, as it would have."""
    monkeypatch.setenv("FAKE_SLEEP", "0")
    argv = [str(fakes / "ffmpeg"), "-version"]
    commands = Commands()
    commands.start(argv, timeout=1)
    time.sleep(1.5)  # the probe busy importing a module, nobody looking
    code, out, err = probe_module._query(argv, commands, 1)
    assert (code, err) == (0, "") and out.startswith("ffmpeg version 5.1.6-0+deb12u1 ")
    assert [run[:2] for run in _runs(fakes)] == [("ffmpeg", "-version")] * 2
