#!/usr/bin/env bash
# Make sure a headless Chromium is installed: the HTML report test renders the report in it
# (tests/unit/history/test_html_browser.py). As root on Debian, install the `chromium` package
# when missing; otherwise say what to do. Idempotent.
set -euo pipefail

for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "chromium: $("$name" --version 2>/dev/null | head -n 1)"
        exit 0
    fi
done

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: chromium is not installed; the HTML report's browser test will be skipped" >&2
    echo "hint: install it (sudo apt-get install chromium), or run make test as root" >&2
    [ -z "${CI:-}" ] || exit 3
    exit 0
fi

echo "chromium: installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "chromium: $(chromium --version 2>/dev/null | head -n 1)"
