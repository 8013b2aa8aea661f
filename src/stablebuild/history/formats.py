"""The `stablebuild history --format` choices (on their own: the CLI imports them at start-up)."""

from __future__ import annotations

from enum import Enum


class HistoryFormat(str, Enum):
    TERMINAL = "terminal"
    JSON = "json"
    MARKDOWN = "markdown"
    CSV = "csv"
