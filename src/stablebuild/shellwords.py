"""Shell words as `shlex.split` gives them, in time linear in the text.

`shlex` builds each token one character at a time on an attribute (`self.token += c`), which is
quadratic in the token's length: a 1 MB word in a `RUN` line or a requirements file took minutes.
This splitter gives the same words (POSIX mode, whitespace split, optional `#` comments) and
raises the same `ValueError`s, but consumes runs of ordinary characters with one regex step.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[^ \t\r\n'\"\\]+")
_PLAIN_NO_COMMENT = re.compile(r"[^ \t\r\n'\"\\#]+")
_IN_DOUBLE = re.compile(r'[^"\\]*')
_WHITESPACE = frozenset(" \t\r\n")
_SPACES = re.compile(r"[ \t\r\n]+")


def split(text: str, *, comments: bool = False) -> list[str]:
    """`shlex.split(text, comments=comments)`: the same words, the same errors, linear time."""
    plain = _PLAIN_NO_COMMENT if comments else _PLAIN
    words: list[str] = []
    parts: list[str] = []
    started = False  # a word is open, even an empty quoted one ('' is a word)
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in _WHITESPACE or (comments and char == "#"):
            if started:
                words.append("".join(parts))
                parts, started = [], False
            if char == "#":
                end = text.find("\n", i)
                i = n if end < 0 else end + 1
            else:
                spaces = _SPACES.match(text, i)
                assert spaces is not None  # char is one of them
                i = spaces.end()
        elif char == "\\":
            if i + 1 >= n:
                raise ValueError("No escaped character")
            parts.append(text[i + 1])
            started, i = True, i + 2
        elif char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("No closing quotation")
            parts.append(text[i + 1 : end])
            started, i = True, end + 1
        elif char == '"':
            i = _double_quoted(text, i + 1, parts)
            started = True
        else:
            match = plain.match(text, i)
            assert match is not None  # char is none of the characters the class excludes
            parts.append(match.group())
            started, i = True, match.end()
    if started:
        words.append("".join(parts))
    return words


def _double_quoted(text: str, i: int, parts: list[str]) -> int:
    """Read a "..." body from `i` into `parts`; where the text goes on after the closing quote.

    As in shlex, a backslash inside double quotes escapes only `"` and `\\`; before any other
    character it stays.
    """
    n = len(text)
    while True:
        match = _IN_DOUBLE.match(text, i)
        assert match is not None  # the pattern matches the empty string
        parts.append(match.group())
        i = match.end()
        if i >= n:
            raise ValueError("No closing quotation")
        if text[i] == '"':
            return i + 1
        if i + 1 >= n:
            raise ValueError("No escaped character")
        escaped = text[i + 1]
        parts.append(escaped if escaped in '"\\' else "\\" + escaped)
        i += 2


__all__ = ["split"]
