#!/usr/bin/env bash
# Make sure PostgreSQL's server programs (initdb, postgres) are installed: the history tests
# start a throwaway cluster of their own with them (tests/history_support.py). Starts nothing.
# As root on Debian, install the `postgresql` package when missing; otherwise say what to do.
# Idempotent: a second run finds them and says so.
set -euo pipefail

find_initdb() {
    if command -v initdb >/dev/null 2>&1; then
        command -v initdb
        return 0
    fi
    # Debian keeps the server programs off PATH, one folder per major version.
    ls -1 /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

found="$(find_initdb || true)"
if [ -n "$found" ]; then
    echo "postgres: $("$(dirname "$found")/postgres" --version) ($(dirname "$found"))"
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: PostgreSQL is not installed; the history tests' PostgreSQL half will be skipped" >&2
    echo "hint: install it (sudo apt-get install postgresql), or run make test as root" >&2
    # In CI a skipped half is a failure (the tests say so too): stop here with the reason.
    [ -z "${CI:-}" ] || exit 3
    exit 0
fi

echo "postgres: installing postgresql"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# NOTE: the package's own cluster (main, port 5432) is left stopped if it starts: the tests
# never use it, and a service manager may not even run here.
apt-get install -y -qq postgresql >/dev/null
found="$(find_initdb || true)"
if [ -z "$found" ]; then
    echo "error: postgresql installed, but initdb is not where Debian puts it" >&2
    exit 3
fi
echo "postgres: $("$(dirname "$found")/postgres" --version) ($(dirname "$found"))"
