#!/bin/sh
# Make sure Debian's `docker-registry` (the CNCF distribution registry) is installed, for the
# integration tests that push to a real registry on 127.0.0.1. Idempotent: does nothing when
# the binary is there. The test session starts and stops its own instance; the package's
# service is stopped and disabled, so nothing listens outside the tests.
set -eu

BIN=/usr/bin/docker-registry
if [ -x "$BIN" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "error: $BIN is missing and this is not root: install the docker-registry package" >&2
        exit 1
    fi
else
    SUDO=
fi
# NOTE: policy-rc.d 101: the package must not start its own service (port 5000 on all
# interfaces) inside a container or on a developer's machine.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-registry \
    || { $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends docker-registry; }
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
test -x "$BIN"
