#!/usr/bin/env bash
# Consumers' own schemas that the format tests validate against, fetched rather than copied in:
# Jenkins' strict JUnit schema (junit-10.xsd) as pytest's sdist ships it for its own tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="${PIP:-.venv/bin/pip}"
DEST=tests/schemas/junit-10.xsd
PYTEST_SDIST_VERSION=8.3.4
[[ -s "$DEST" ]] && exit 0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PIP" download --quiet --no-deps --no-binary pytest "pytest==$PYTEST_SDIST_VERSION" -d "$tmp" 2>/dev/null
tar -xzf "$tmp/pytest-$PYTEST_SDIST_VERSION.tar.gz" -C "$tmp" \
    "pytest-$PYTEST_SDIST_VERSION/testing/example_scripts/junit-10.xsd"
mv "$tmp/pytest-$PYTEST_SDIST_VERSION/testing/example_scripts/junit-10.xsd" "$DEST"
echo "schemas: $DEST (from the pytest $PYTEST_SDIST_VERSION sdist)"
