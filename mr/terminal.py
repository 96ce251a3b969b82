"""Making text from a repository safe to print: no control characters, no secrets.

Names, paths, revs, commit messages and trailers come from repositories
anyone may have written to. Printed raw, an escape sequence in a file name
retitles the terminal, recolours or hides output, or forges a table row; a
URL may carry a password. Kept free of heavy imports: the CLI uses it for
every error it prints.
"""

from __future__ import annotations

import re
import shlex

from mr.urls import redact

# C0 and C1 controls, DEL, and the Unicode characters that break or reorder
# lines (line/paragraph separators, bidirectional overrides and isolates), and the lone surrogates
# Python stands in with for bytes that are not UTF-8 (argv, file names), which no terminal can show
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte it stands in for
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def field(text: object) -> str:
    """One value (a name, a path, a rev, a cell): every control character escaped, URLs redacted."""
    shown = redact(str(text))
    if shown.isascii() and shown.isprintable():
        return shown  # printable ASCII holds no character to escape (most of what is printed)
    return _CONTROL.sub(_escape, shown)


def lines(text: object) -> str:
    """Text of several lines: line breaks kept, every other control character escaped, URLs redacted."""
    return _CONTROL_BUT_NEWLINE.sub(_escape, redact(str(text)))


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character :func:`field` would escape."""
    return _CONTROL.search(text) is not None


#: said in place of a command that cannot be printed safely
NO_COMMAND = "(a name in it holds control characters, so no command is printed)"


def command_line(*argv: str) -> str | None:
    """``argv`` as a shell reads it back, each word quoted by the shell's rules.

    None when a word holds a control character: no quoting makes such a
    command safe to read on a terminal and paste.
    """
    if any(has_control(a) for a in argv):
        return None
    return shlex.join(argv)


def not_utf8(text: str) -> bool:
    """Whether ``text`` came from bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
