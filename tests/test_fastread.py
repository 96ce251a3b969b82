"""The fast reader of flat link files must agree with ruamel.yaml wherever it answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mr import fastread, linkfile
from mr.errors import LinkFileError
from tests.helpers import examples

KEYS = ["object_type", "link_type", "path", "project", "repo", "rev", "params", "pinned_from", "extra"]
plain = st.from_regex(r"[A-Za-z0-9_./=+$~@:%-]{1,12}", fullmatch=True)
quoted_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12)
value = st.one_of(
    st.just(""),
    plain.map(lambda v: f" {v}"),
    quoted_text.map(lambda v: " '" + v.replace("'", "''") + "'"),
    quoted_text.filter(lambda v: '"' not in v and "\\" not in v).map(lambda v: f' "{v}"'),
    st.sampled_from(
        [
            " {}",
            " []",
            " link",
            " model",
            " main",
            " 0123",
            " yes",
            " ~",
            " [a, b]",
            " [ x ,y ]",
            " [1, 2]",
            " [a,]",
            " true",
            " False",
            " TRUE",
            " on",
        ]
    ),
    st.lists(plain, max_size=3).map(lambda xs: " [" + ", ".join(xs) + "]"),
)
comment = st.sampled_from(["", "  # note", " #x"])
line = st.one_of(
    st.tuples(
        st.sampled_from(["", "", "  ", "    ", "      ", " "]),
        st.sampled_from(KEYS) | st.from_regex(r"[a-z_]{1,6}", fullmatch=True),
        value,
        comment,
    ).map(lambda t: f"{t[0]}{t[1]}:{t[2]}{t[3]}"),
    st.sampled_from(["", "# comment", "  # indented comment"]),
)
documents = st.lists(line, min_size=1, max_size=9).map(lambda ls: "\n".join(ls) + "\n")


def outcome(data: bytes) -> Any:
    try:
        result = linkfile.load(data, "f.mlem", name="f")
    except LinkFileError as e:
        return ("error", e.line, e.detail)
    if isinstance(result, dict):
        return ("object", {k: (v if not isinstance(v, dict) else dict(v)) for k, v in result.items()})
    return ("link", result, dict(result.lines))


@settings(max_examples=examples(800), deadline=None)
@given(documents)
@example("object_type: [-_]\n")  # ruamel raised IndexError on it: found by this test
def test_fast_path_agrees_with_ruamel(text: str) -> None:
    data = text.encode()
    fast = outcome(data)
    original = fastread.read
    try:
        fastread.read = lambda t: None  # type: ignore[assignment]
        reference = outcome(data)
    finally:
        fastread.read = original
    assert fast == reference


@pytest.mark.parametrize(
    "text",
    [
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: https://github.com/org/r/\nrev: main\n",
        "link_type: model\nobject_type: link\nparams:\n  pinned_from: v1.2.0\npath: m.mlem\nrev: " + "a" * 40 + "\n",
        "# comment\nlink_type: model  # type\nobject_type: 'link'\npath: \"m.mlem\"\n",
        "object_type: model\nprocessors: {}\nrequirements: []\n",
        "# mr registry settings\nstages: [dev, staging, production]   # branches\nlink_format: project\n"
        "policy:\n  production:\n    require_pinned: true\nallowed_sources: []\n",
    ],
)
def test_common_files_take_the_fast_path(text: str) -> None:
    assert fastread.read(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "a: ['x', y]\n",
        "a: &x 1\n",
        "a:\n  b:\n    c: 1\n",
        "a: b\r\n",
        "a:\tb\n",
        "a: 1\na: 2\n",
        "--- \na: 1\n",
        "a: |\n  text\n",
        "rev: 0123\n",
        "e: [1, 2]\n",
        "e: [a, yes]\n",
        "e: [a,]\n",
    ],
)
def test_anything_else_goes_to_ruamel(text: str) -> None:
    assert fastread.read(text) is None


def test_fast_reader_leaves_unusual_characters_to_ruamel() -> None:
    sneaky = "link_type: model\nobject_type: link\npath: m.mlem\nrev: v1\n# reviewed\u2028rev: other\n"
    assert fastread.read(sneaky) is None
    with pytest.raises(LinkFileError):
        # YAML readers take the separator as a line break (PyYAML, MLEM's
        # reader, would see a second rev); mr refuses the file outright
        linkfile.load(sneaky.encode(), "f.mlem")
    for ch in ("\x85", "\x01", "\x7f", "\x9b", "\ufffe", "\u2029"):
        assert fastread.read(f"link_type: model\nobject_type: link\npath: 'a{ch}b'\n") is None
    assert fastread.read("null: 1\nobject_type: model\n") is None


def _shape(doc: Any) -> Any:
    """Each key's value and where key and value start, as ruamel's ``lc`` says (nested maps recursively)."""
    out = []
    for k, v in doc.items():
        where = doc.lc.key(k)
        if isinstance(v, dict) and v:
            out.append((k, where, _shape(v)))
        elif v is None:
            out.append((k, where, None))  # nothing written: the two point at different places, both unused
        else:
            plain = dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v
            out.append((k, where, doc.lc.value(k), plain, type(v) is bool))
    return out


READ_FAST = [
    "rev: 'it''s'\nname: \"q\"\nflag: true\nother: FALSE\n",
    "a: [p, q]\nb:   [ p , q ]  # see [1]\nc: []\nd:  {}\n",
    "params:\n  pinned_from: 'v1'\n  note: \"two\"\nflag: True\n",
    "k:    'spaced'\nl:  \"dq\"\nm:   plain  # note\n",
]


@pytest.mark.parametrize("text", READ_FAST)
def test_fast_reader_reads_these_as_ruamel_does(text: str) -> None:
    fast = fastread.read(text)
    assert fast is not None
    assert _shape(fast) == _shape(linkfile._yaml().load(text))


@settings(max_examples=examples(400), deadline=None)
@given(documents)
def test_fast_reader_values_and_positions_match_ruamel(text: str) -> None:
    fast = fastread.read(text)
    if fast is not None:
        assert _shape(fast) == _shape(linkfile._yaml().load(text))


@pytest.mark.parametrize(
    "text",
    ["a: 'x\ty'\n", 'a: "x\ty"\n', "a: b\rc: d\n", "a: 'b\rc'\n", "# \t\na: b\n"],
)
def test_tabs_and_carriage_returns_anywhere_go_to_ruamel(text: str) -> None:
    assert fastread.read(text) is None
