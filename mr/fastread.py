"""The fast reader of flat link files, beside (not inside) the round-trip writer in ``linkfile``.

Nearly every link file is a handful of "key: value" lines (as MLEM and mr
write them). Those are read here with a few regular expressions, a hundred
times faster than a YAML parser; anything else, and anything this reader is
not sure about, is left to ruamel.yaml, whose reading is the reference
(``tests/test_fastread.py`` checks that both agree wherever this reader
answers). Also here: which plain scalars a YAML reader would not read back
as strings, the rule both readers and the writer share.
"""

from __future__ import annotations

import re
from typing import Any

# Plain scalars that some YAML reader resolves to something other than a
# string: the implicit resolvers of YAML 1.1 (PyYAML, which MLEM uses) and of
# YAML 1.2 (core schema, ruamel.yaml), together.
_NOT_A_STRING = re.compile(
    r"""
    # null
    ~ | null | Null | NULL
    # booleans (1.1 and 1.2)
    | y | Y | yes | Yes | YES | n | N | no | No | NO
    | true | True | TRUE | false | False | FALSE
    | on | On | ON | off | Off | OFF
    # integers: 1.1 binary, octal, decimal, hex, sexagesimal; 1.2 octal
    | [-+]?0b[0-1_]+
    | [-+]?0o?[0-7_]+
    | [-+]?(?:0|[1-9][0-9_]*)
    | [-+]?0x[0-9a-fA-F_]+
    | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    | [-+]?[0-9][0-9_]*
    # floats: 1.1 (with a dot, underscores, sexagesimal) and 1.2 (exponent without a dot)
    | [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    | [-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9_]+
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    # timestamps
    | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}
      (?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?
         (?:[ \t]*Z|[ \t]*[-+][0-9]{1,2}(?::?[0-9]{2})?)?)?
    # merge key and value indicators (1.1)
    | << | =
    """,
    re.VERBOSE,
)


def needs_quotes(value: str) -> bool:
    """Whether ``value`` written as a plain scalar would not read back as this string."""
    return value == "" or _NOT_A_STRING.fullmatch(value) is not None


_KEY = r"[A-Za-z_][A-Za-z0-9_-]*"
_PLAIN = r"[A-Za-z0-9_./=+$](?:[A-Za-z0-9_./:@+=%$~-]*[A-Za-z0-9_./@+=%$~-])?"
_ENTRY = re.compile(
    rf"(?P<indent> *)(?P<key>{_KEY}):"
    rf"(?: +(?:'(?P<sq>(?:[^'\n]|'')*)'|\"(?P<dq>[^\"\\\n]*)\"|(?P<plain>{_PLAIN})|(?P<empty>\{{\}})"
    rf"|\[ *(?P<flow>(?:{_PLAIN}(?: *, *{_PLAIN})*)?) *\]))?"
    r"(?: +#[^\n]*)? *"
)
_SKIP = re.compile(r" *(?:#[^\n]*)?")
_BOOLEANS = {v: True for v in ("true", "True", "TRUE")} | {v: False for v in ("false", "False", "FALSE")}
# anything YAML does not print as itself: C0/C1 controls, DEL, NEL, the
# Unicode line and paragraph separators, BOMs inside the text, non-characters
_UNUSUAL_ASCII = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_UNUSUAL_WIDE = "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"


def _unusual(text: str) -> bool:
    if text.isascii():
        return _UNUSUAL_ASCII.search(text) is not None
    # compiled on first use (re caches it): the wide ranges take ~10 ms to compile
    return re.search(_UNUSUAL_WIDE, text) is not None


class Quoted(str):
    """A string that was quoted in the file."""


class _Lines:
    """Where keys and values start, as ruamel's ``lc`` tells it (0-based)."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[int, int]] = {}
        self.values: dict[str, tuple[int, int]] = {}

    def key(self, k: str) -> tuple[int, int]:
        return self.keys[k]

    def value(self, k: str) -> tuple[int, int]:
        return self.values[k]


class FlatMap(dict[str, Any]):
    def __init__(self) -> None:
        super().__init__()
        self.lc = _Lines()


def read(text: str) -> FlatMap | None:
    """``text`` as a block mapping of simple scalars, or None when unsure.

    Nested block mappings and flow lists of plain scalars are read too;
    anything else (anchors, tags, block scalars, multi-line values, unusual
    characters, ambiguous plain scalars) is left to ruamel.yaml.
    """
    if "\t" in text or "\r" in text or _unusual(text):
        return None  # tabs, CR, other line breaks and non-printable characters: let ruamel judge
    doc = FlatMap()
    stack: list[tuple[int, FlatMap]] = [(0, doc)]
    pending: tuple[FlatMap, str] | None = None  # a key whose value may be a nested block
    for number, line in enumerate(text.split("\n")):
        if _SKIP.fullmatch(line):
            continue
        m = _ENTRY.fullmatch(line)
        if m is None:
            return None
        ind, key, sq, dq, plain, empty, flow = m.groups()
        if needs_quotes(key):
            return None  # a key like null or true is no string to YAML
        indent = len(ind)
        if pending is not None:
            parent, parent_key = pending
            pending = None
            if indent > stack[-1][0]:
                child = FlatMap()
                parent[parent_key] = child
                stack.append((indent, child))
        while indent < stack[-1][0]:
            stack.pop()
            if not stack:
                return None
        if indent != stack[-1][0]:
            return None
        target = stack[-1][1]
        if key in target:
            return None  # a duplicate: ruamel says so, with its line
        if sq is not None:
            value: Any = Quoted(sq.replace("''", "'"))
            start = m.start("sq") - 1
        elif dq is not None:
            value = Quoted(dq)
            start = m.start("dq") - 1
        elif plain is not None:
            if plain in _BOOLEANS:
                value = _BOOLEANS[plain]  # YAML 1.2's booleans, as ruamel reads them
            elif needs_quotes(plain):
                return None  # let ruamel read it, and say how
            else:
                value = plain
            start = m.start("plain")
        elif empty is not None:
            value = {}
            start = m.start("empty")
        elif flow is not None:
            items = [x.strip() for x in flow.split(",")] if flow.strip() else []
            if any(not x or needs_quotes(x) for x in items):
                return None
            value = items
            start = line.index("[")  # the first: indent and key hold none
        else:
            value = None
            start = len(line)
            pending = (target, key)
        target[key] = value
        target.lc.keys[key] = (number, indent)
        target.lc.values[key] = (number, start)
    return doc if doc else None
