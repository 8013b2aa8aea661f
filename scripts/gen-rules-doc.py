#!/usr/bin/env python3
"""Regenerate the rule catalogue's parts of docs/rules.md and docs/rules/*.md from the rule
declarations in src/stablebuild/audit; `--check` only says which pages are stale (exit 1)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from stablebuild.audit.rules_doc import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main(["--root", str(ROOT), *sys.argv[1:]]))
