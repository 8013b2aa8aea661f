"""diagnose_build_log: the root cause of a failed build, from realistic log excerpts."""

# ruff: noqa: E501 - build logs are quoted as the engine prints them

from __future__ import annotations

import pytest

from stablebuild.diagnose import diagnose_build_log

PG_CONFIG = """\
Step 6/12 : RUN pip install --no-cache-dir -r requirements.txt
 ---> Running in 3f2a1b9c8d7e
Collecting psycopg2==2.9.5
  Downloading psycopg2-2.9.5.tar.gz (384 kB)
  Preparing metadata (setup.py): started
  Preparing metadata (setup.py): finished with status 'error'
  error: subprocess-exited-with-error

  × python setup.py egg_info did not run successfully.
  │ exit code: 1
  ╰─> [23 lines of output]
      running egg_info
      Error: pg_config executable not found.

      pg_config is required to build psycopg2 from source.  Please add the directory
      containing pg_config to the $PATH or specify the full executable path with the
      option:
The command '/bin/sh -c pip install --no-cache-dir -r requirements.txt' returned a non-zero code: 1
"""

ARG_AFTER_FROM = """\
Step 1/9 : FROM python:${PYTHON_VERSION}-slim AS runtime
invalid reference format
"""

BUILDKIT_STAGE = """\
#1 [internal] load build definition from Dockerfile
ERROR: failed to solve: failed to parse stage name "python:-slim": invalid reference format
"""

NO_MATCHING = """\
Step 5/9 : RUN pip install -r requirements.txt
 ---> Running in 0a1b2c3d4e5f
ERROR: Ignored the following versions that require a different python version: 1.26.0 Requires-Python >=3.9
ERROR: Could not find a version that satisfies the requirement numpy==1.19.5 (from versions: 1.21.0, 1.26.4)
ERROR: No matching distribution found for numpy==1.19.5
The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1
"""

TLS = """\
Step 5/9 : RUN pip install -r requirements.txt
 ---> Running in 0a1b2c3d4e5f
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)'))': /simple/fastapi/
ERROR: Could not find a version that satisfies the requirement fastapi==0.109.0 (from versions: none)
ERROR: No matching distribution found for fastapi==0.109.0
"""

APT_TLS = """\
Step 3/9 : RUN apt-get update && apt-get install -y libpq5
 ---> Running in 9d8c7b6a5f4e
Err:1 https://deb.debian.org/debian bookworm InRelease
  server certificate verification failed. CAfile: /etc/ssl/certs/ca-certificates.crt CRLfile: none
E: Unable to locate package libpq5
"""

APT = """\
Step 3/9 : RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ffmpegg
 ---> Running in 9d8c7b6a5f4e
Reading package lists...
E: Unable to locate package ffmpegg
The command '/bin/sh -c apt-get update && apt-get install -y libpq5 ffmpegg' returned a non-zero code: 100
"""

DISK = """\
Step 7/9 : COPY --from=builder /opt/venv /opt/venv
failed to copy files: copy file range failed: no space left on device
"""

GCC = """\
  building 'uvloop.loop' extension
  gcc -pthread -Wno-unused-result -fPIC -I/usr/local/include/python3.12 -c uvloop/loop.c
  unable to execute 'gcc': No such file or directory
  error: command 'gcc' failed: No such file or directory
"""

COPY = """\
Step 4/9 : COPY app/ /app/
COPY failed: file not found in build context or excluded by .dockerignore: stat app/: file does not exist
"""

BUILDKIT_COPY = """\
#8 [runtime 3/5] COPY requirements-stable.txt .
ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4b1c::x: "/requirements-stable.txt": not found
"""

EXEC = """\
Step 3/9 : RUN python -m venv /opt/venv
 ---> Running in 1a2b3c4d5e6f
exec /bin/sh: exec format error
The command '/bin/sh -c python -m venv /opt/venv' returned a non-zero code: 1
"""

OOM = """\
Step 6/9 : RUN pip install -r requirements.txt
 ---> Running in 1a2b3c4d5e6f
  Building wheel for grpcio (setup.py): started
The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 137
"""


@pytest.mark.parametrize(
    ("log", "cause", "evidence", "words"),
    [
        (PG_CONFIG, "pg-config-missing", "pg_config executable not found", "psycopg2-binary"),
        (ARG_AFTER_FROM, "arg-after-from", "invalid reference format", "ARG before the first FROM"),
        (BUILDKIT_STAGE, "arg-after-from", "failed to parse stage name", "ARG"),
        (NO_MATCHING, "pin-unavailable", "numpy==1.19.5", "image's Python"),
        (TLS, "tls-verification", "CERTIFICATE_VERIFY_FAILED", "--ca-bundle"),
        (APT_TLS, "tls-verification", "server certificate verification failed", "ca_bundle"),
        (APT, "apt-package-missing", "Unable to locate package ffmpegg", "apt-get update"),
        (DISK, "out-of-disk", "no space left on device", "docker builder prune"),
        (GCC, "compiler-missing", "unable to execute 'gcc'", "builder stage"),
        (COPY, "copy-source-missing", "COPY failed", ".dockerignore"),
        (BUILDKIT_COPY, "copy-source-missing", "failed to compute cache key", ".dockerignore"),
        (EXEC, "exec-format", "exec format error", "--platform"),
        (OOM, "oom-killed", "returned a non-zero code: 137", "memory"),
    ],
)
def test_root_cause(log: str, cause: str, evidence: str, words: str) -> None:
    diagnosis = diagnose_build_log(log.splitlines())
    assert diagnosis is not None
    assert diagnosis.cause == cause
    assert evidence in diagnosis.evidence
    assert words in diagnosis.hint
    assert diagnosis.evidence in log  # the evidence is a real line of the log, trimmed


def test_pin_summary_names_the_requirement() -> None:
    diagnosis = diagnose_build_log(NO_MATCHING.splitlines())
    assert diagnosis is not None
    assert "numpy==1.19.5" in diagnosis.summary


def test_apt_summary_names_the_package() -> None:
    diagnosis = diagnose_build_log(APT.splitlines())
    assert diagnosis is not None and "ffmpegg" in diagnosis.summary


def test_invalid_reference_without_variable_is_not_arg_after_from() -> None:
    log = [
        "Step 1/3 : FROM Python:3.12",
        "invalid reference format: repository name must be lowercase",
    ]
    assert diagnose_build_log(log) is None


def test_ansi_and_newlines_are_stripped() -> None:
    diagnosis = diagnose_build_log(["\x1b[91mE: Unable to locate package libfoo\n\x1b[0m"])
    assert diagnosis is not None
    assert diagnosis.evidence == "E: Unable to locate package libfoo"


def test_unknown_failure_gives_none() -> None:
    log = ["Step 2/2 : RUN false", "The command '/bin/sh -c false' returned a non-zero code: 1"]
    assert diagnose_build_log(log) is None
    assert diagnose_build_log([]) is None
