"""Text fit for any consumer: no terminal escapes, no characters XML 1.0 forbids."""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, links; ended by BEL or ST) and lone two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Everything XML 1.0 does not allow: C0 controls but tab/newline/CR, surrogates, U+FFFE/FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """`text` without ANSI escapes and XML-illegal characters; a bare CR becomes a newline."""
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _XML_ILLEGAL.sub("", text)


def first_line(text: str) -> str:
    return (clean(text).splitlines() or [""])[0]


__all__ = ["clean", "first_line"]
