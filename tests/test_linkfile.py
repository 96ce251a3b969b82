"""mr.linkfile: reading, writing and quoting link files.

Everything here works on bytes and temporary files; no git repository is
involved. Checks against MLEM's own YAML reader (PyYAML, YAML 1.1) run in the
interpreter named by MR_MLEM_PYTHON and are skipped without it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tracemalloc
import types
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mr import linkfile
from mr.errors import LinkFileError
from mr.model import Link, pinned
from tests.helpers import examples

# The autouse fixture in conftest removes MR_* variables while a test runs:
# read it at import time.
MLEM_PYTHON = os.environ.get("MR_MLEM_PYTHON")

FIXTURES = Path(__file__).parent / "fixtures" / "mlem-0.4.14"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
HEAD = b"link_type: model\nobject_type: link\npath: models/rf.mlem\n"

#: revs some YAML reader (1.1 or 1.2) would not read back as the same string
QUOTED_REVS = [
    "1234567",
    "1e10",
    "0123",
    "yes",
    "Yes",
    "on",
    "off",
    "no",
    "y",
    "n",
    "null",
    "~",
    "true",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "1_000",
    "0x1f",
    "0o17",
    "1:20",
    "1.0",
    ".5",
    ".inf",
    ".nan",
    "=",
    "<<",
    "",
]
#: revs every YAML reader reads as this string when written plain
PLAIN_REVS = [
    "main",
    "v1.2.0",
    "5-deploy-meta",
    "deadbeef",
    SHA,
    "feature/x",
    "1e",
    "e10",
]


def yaml_reader(version: tuple[int, int] | None) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    if version is not None:
        yaml.version = version
    return yaml


def read_with(version: tuple[int, int] | None, data: bytes) -> Any:
    """``data`` as a plain YAML reader of that version sees it (YAML 1.1 ~ PyYAML)."""
    with warnings.catch_warnings():
        # ruamel's 1.1 mode warns about 1.2-style floats; the type is what matters
        warnings.simplefilter("ignore")
        return yaml_reader(version).load(data)


def load_error(data: bytes | str, file: str = "f.mlem") -> LinkFileError:
    if isinstance(data, str):
        data = data.encode()
    with pytest.raises(LinkFileError) as info:
        linkfile.load(data, file)
    assert info.value.file == file
    return info.value


def link(**kw: Any) -> Link:
    fields: dict[str, Any] = {"link_type": "model", "path": "models/rf.mlem"}
    fields.update(kw)
    return Link(**fields)


# --- needs_quotes --------------------------------------------------------------


@pytest.mark.parametrize("rev", QUOTED_REVS)
def test_needs_quotes_for_values_a_yaml_reader_would_not_read_as_that_string(rev: str) -> None:
    assert linkfile.needs_quotes(rev) is True


@pytest.mark.parametrize("rev", PLAIN_REVS)
def test_no_quotes_for_plain_strings(rev: str) -> None:
    assert linkfile.needs_quotes(rev) is False


@pytest.mark.parametrize("rev", QUOTED_REVS[:-1])
def test_every_value_said_to_need_quotes_is_not_a_plain_string_somewhere(rev: str) -> None:
    """The table above is right: each of these, written plain, is no string to 1.1 or 1.2."""

    def plain(version: tuple[int, int] | None) -> Any:
        try:
            return read_with(version, f"rev: {rev}\n".encode())["rev"]
        except Exception:
            return None  # '=' and '<<' do not even load

    assert not (plain((1, 1)) == rev and plain(None) == rev)


@pytest.mark.parametrize("rev", PLAIN_REVS)
def test_plain_strings_are_strings_to_both_yaml_versions(rev: str) -> None:
    for version in ((1, 1), None):
        assert read_with(version, f"rev: {rev}\n".encode())["rev"] == rev


@pytest.mark.parametrize("rev", ["0_9", "1_0e5"])
def test_needs_quotes_agrees_with_ruamels_yaml_12_resolver(rev: str) -> None:
    # written plain, ruamel (YAML 1.2, the reader mr itself uses) reads 0_9 as
    # the int 9 and 1_0e5 as a float, so needs_quotes' docstring promise fails;
    # dump_new is still right because ruamel's emitter quotes these on its own
    assert not isinstance(read_with(None, f"rev: {rev}\n".encode())["rev"], str)
    assert linkfile.needs_quotes(rev) is True


# --- round trip of revs -----------------------------------------------------------


ROUND_TRIP_REVS = [r for r in QUOTED_REVS + PLAIN_REVS if r]


@pytest.mark.parametrize("rev", ROUND_TRIP_REVS)
def test_rev_round_trips_and_is_a_string_to_yaml_11_and_12(rev: str) -> None:
    data = linkfile.dump_new(link(project="https://example.com/models.git", rev=rev))
    back = linkfile.load(data, "f.mlem")
    assert isinstance(back, Link) and back.rev == rev
    for version in ((1, 1), None):
        value = read_with(version, data)["rev"]
        assert isinstance(value, str) and value == rev, (version, data)
    if linkfile.needs_quotes(rev):
        assert f"rev: '{rev}'\n".encode() in data
    else:
        assert f"rev: {rev}\n".encode() in data


PYYAML_TYPES = r"""
import json, sys, yaml
print(json.dumps([[type(v).__name__, v if isinstance(v, str) else None]
                  for v in (yaml.safe_load(t)["rev"] for t in json.load(sys.stdin))]))
"""


@pytest.mark.mlem
@pytest.mark.skipif(not MLEM_PYTHON, reason="MR_MLEM_PYTHON names no MLEM interpreter")
def test_revs_read_back_as_strings_by_pyyaml() -> None:
    """MLEM reads link files with PyYAML (YAML 1.1): every rev mr writes is that string there."""
    assert MLEM_PYTHON
    revs = ROUND_TRIP_REVS + ["0_9", "1_0e5", "1.0e10", "-.5", "089", "0b101", "+1", "1:20.5", "2024-1-1"]
    texts = [linkfile.dump_new(link(rev=r)).decode() for r in revs]
    out = subprocess.run(
        [MLEM_PYTHON, "-c", PYYAML_TYPES],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout) == [["str", r] for r in revs]


# --- reading: rejects ----------------------------------------------------------------


def bomb(indent: str) -> str:
    """A "billion laughs": 9 levels of 9-fold aliases, 9**9 leaves if expanded."""
    lines = [f'{indent}l0: &a0 "lol"']
    for i in range(1, 10):
        lines.append(f"{indent}l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


REJECTS: list[tuple[str, bytes, int | None, str]] = [
    # (id, file content, line of the error, part of the message)
    ("unclosed-bracket", HEAD + b"params: {pinned_from: [main\nrev: main\n", 5, "invalid YAML"),
    ("tab-indentation", HEAD + b"params:\n\tpinned_from: main\n", 5, "invalid YAML"),
    ("a-list", b"- link_type: model\n- object_type: link\n", 1, "list"),
    ("a-scalar", b"just some text\n", 1, "single value"),
    ("empty", b"", None, "empty"),
    ("only-whitespace", b"\n  \n\n", None, "empty"),
    ("only-comments", b"# a link\n# nothing else\n", None, "empty"),
    ("nul-bytes", b"link_type: model\0\0\nobject_type: link\n", None, "binary"),
    ("invalid-utf8", HEAD + b"rev: \xff\xfe\xfd\n", 4, "UTF-8"),
    ("missing-link_type", b"object_type: link\npath: models/rf.mlem\n", 1, "link_type"),
    ("missing-path", b"link_type: model\nobject_type: link\nrev: main\n", 1, "path"),
    ("link_type-list", b"link_type: [model]\nobject_type: link\npath: m.mlem\n", 1, "link_type"),
    ("link_type-mapping", b"link_type: {a: b}\nobject_type: link\npath: m.mlem\n", 1, "link_type"),
    ("link_type-int", b"link_type: 3\nobject_type: link\npath: m.mlem\n", 1, "link_type"),
    ("link_type-null", b"link_type: null\nobject_type: link\npath: m.mlem\n", 1, "link_type"),
    ("path-list", b"link_type: model\nobject_type: link\npath: [a, b]\n", 3, "path"),
    ("path-mapping", b"link_type: model\nobject_type: link\npath:\n  a: b\n", 3, "path"),
    ("path-int", b"link_type: model\nobject_type: link\npath: 12\n", 3, "path"),
    ("path-null", b"link_type: model\nobject_type: link\npath: ~\n", 3, "path"),
    ("path-missing-value", b"link_type: model\nobject_type: link\npath:\n", 3, "path"),
    ("project-list", HEAD + b"project: [a]\n", 4, "project"),
    ("project-int", HEAD + b"project: 42\n", 4, "project"),
    ("object_type-list", b"object_type: [link]\nlink_type: model\npath: m.mlem\n", 1, "object_type"),
    ("no-object_type", b"link_type: model\npath: m.mlem\n", 1, "object_type"),
    ("unknown-key", HEAD + b"rev: main\ncolour: blue\n", 5, "colour"),
    ("unknown-int-key", HEAD + b"7: seven\n", 4, "7"),
    ("project-and-repo", HEAD + b"project: https://a/b\nrepo: https://a/b\n", 5, "both project and repo"),
    ("rev-int", HEAD + b"rev: 1234567\n", 4, "quote it"),
    ("rev-float", HEAD + b"rev: 1e10\n", 4, "quote it"),
    ("rev-octal", HEAD + b"rev: 0123\n", 4, "quote it"),
    ("rev-date", HEAD + b"rev: 2024-01-01\n", 4, "quote it"),
    ("rev-yes", HEAD + b"rev: yes\n", 4, "quote it"),
    ("rev-on", HEAD + b"rev: on\n", 4, "quote it"),
    ("rev-true", HEAD + b"rev: true\n", 4, "quote it"),
    ("rev-empty-quoted", HEAD + b"rev: ''\n", 4, "rev"),
    ("params-int-value", b"link_type: model\nobject_type: link\nparams:\n  n: 3\npath: m.mlem\n", 4, "quote it"),
    ("params-yes-value", b"link_type: model\nobject_type: link\nparams:\n  ok: yes\npath: m.mlem\n", 4, "quote it"),
    ("params-list-value", b"link_type: model\nobject_type: link\nparams:\n  l: [a]\npath: m.mlem\n", 4, "params.l"),
    ("params-null-value", b"link_type: model\nobject_type: link\nparams:\n  l:\npath: m.mlem\n", 4, "params.l"),
    ("params-a-list", b"link_type: model\nobject_type: link\nparams: [a, b]\npath: m.mlem\n", 3, "params"),
    ("params-a-string", b"link_type: model\nobject_type: link\nparams: pinned\npath: m.mlem\n", 3, "params"),
    ("params-int-key", b"link_type: model\nobject_type: link\nparams:\n  1: one\npath: m.mlem\n", 4, "params"),
    ("path-absolute", b"link_type: model\nobject_type: link\npath: /etc/models/rf.mlem\n", 3, "absolute"),
    ("path-windows-absolute", b"link_type: model\nobject_type: link\npath: 'C:\\models\\rf.mlem'\n", 3, "absolute"),
    ("path-dotdot", b"link_type: model\nobject_type: link\npath: ../other/rf.mlem\n", 3, ".."),
    ("path-inner-dotdot", b"link_type: model\nobject_type: link\npath: models/../../rf.mlem\n", 3, ".."),
    ("path-dot", b"link_type: model\nobject_type: link\npath: .\n", 3, "path"),
    ("too-large", HEAD + b"# " + b"x" * (linkfile.MAX_SIZE + 1) + b"\n", None, "too large"),
    ("duplicate-rev", HEAD + b"rev: main\nrev: v1\n", 5, "duplicate"),
    ("duplicate-link_type", b"link_type: model\nobject_type: link\nlink_type: data\npath: m.mlem\n", 3, "duplicate"),
    (
        "duplicate-params-key",
        b"link_type: model\nobject_type: link\nparams:\n  a: x\n  a: y\npath: m.mlem\n",
        5,
        "duplicate",
    ),
    ("second-document", HEAD + b"---\nobject_type: model\n", 4, "invalid YAML"),
    ("undefined-alias", HEAD + b"rev: *nowhere\n", 4, "invalid YAML"),
    ("bomb-under-unknown-key", HEAD + b"lols:\n" + bomb("  ").encode(), 4, "lols"),
    (
        "bomb-under-params",
        b"link_type: model\nobject_type: link\nparams:\n" + bomb("  ").encode() + b"path: m.mlem\n",
        5,
        "params.l1",
    ),
]


@pytest.mark.parametrize(("data", "line", "part"), [r[1:] for r in REJECTS], ids=[r[0] for r in REJECTS])
def test_reading_rejects(data: bytes, line: int | None, part: str) -> None:
    error = load_error(data, "links/prod.mlem")
    assert error.line == line, str(error)
    assert part in error.detail
    assert str(error).startswith(f"links/prod.mlem:{line}: " if line else "links/prod.mlem: ")


def test_unclosed_bracket_at_end_of_file_names_a_line_of_the_file() -> None:
    error = load_error(HEAD + b"rev: [main\n")
    # opened on line 4, found unclosed at the end (the line after it)
    assert error.line in (4, 5)


def test_invalid_utf8_names_its_line() -> None:
    assert load_error(b"# ok\n# ok\n# bad \xc3\x28\n").line == 3


def test_unknown_key_message_names_the_key_and_params() -> None:
    error = load_error(HEAD + b"owner: data-team\n")
    assert "owner" in error.detail and "params" in error.detail


@pytest.mark.parametrize("rev", ["1234567", "1e10", "2024-01-01", "0123", "yes", "1.50"])
def test_unquoted_rev_message_shows_how_to_quote_it(rev: str) -> None:
    error = load_error(HEAD + f"rev: {rev}\n".encode())
    assert f"quote it: rev: '{rev}'" in error.detail


def test_rev_null_says_quote_it() -> None:
    # DESIGN: "Reading a rev that is not a string is an error that says 'quote it'";
    # null is a valid branch name, so the fix is the same as for rev: yes
    error = load_error(HEAD + b"rev: null\n")
    assert "quote it" in error.detail


def test_quote_it_message_with_bom_shows_the_value_as_written() -> None:
    # _raw_value slices the text still holding the BOM with columns of the text without it
    error = load_error("\ufeffrev: 1.50\n".encode() + HEAD)
    assert "quote it: rev: '1.50'" in error.detail


@pytest.mark.parametrize("version", ["1.0", "1.3"])
def test_unsupported_yaml_version_directive_is_a_link_file_error(version: str) -> None:
    error = load_error(f"%YAML {version}\n---\n".encode() + HEAD)
    assert error.detail.startswith("invalid YAML: ") and "version" in error.detail, error.detail


@pytest.mark.parametrize("version", ["2.0", "0.9"])
def test_incompatible_yaml_version_is_a_link_file_error(version: str) -> None:
    assert load_error(f"%YAML {version}\n---\n".encode() + HEAD).line == 1


def test_yaml_11_directive_applies_its_own_booleans() -> None:
    assert "quote it" in load_error(b"%YAML 1.1\n---\n" + HEAD + b"rev: yes\n").detail


def count_nodes(obj: Any) -> int:
    """Distinct containers and leaves reachable from obj (shared ones counted once)."""
    seen: set[int] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return len(seen)


@pytest.mark.parametrize(
    "data",
    [
        HEAD + b"lols:\n" + bomb("  ").encode(),
        b"link_type: model\nobject_type: link\nparams:\n" + bomb("  ").encode() + b"path: m.mlem\n",
        HEAD + b"lols:\n" + bomb("  ").encode() + b"? *a9\n: key\n",
        b"object_type: model\nlols:\n" + bomb("  ").encode() + b"? *a9\n: key\n",
    ],
    ids=["unknown-key", "params", "as-a-key", "as-a-key-of-a-model"],
)
def test_alias_bomb_is_rejected_without_expanding_it(data: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(LinkFileError):
            linkfile.load(data, "f.mlem")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 9**9 expanded leaves would take gigabytes; the aliases themselves take kilobytes
    assert peak < 50 * 1024 * 1024


def test_alias_bomb_in_another_mlem_object_is_returned_unexpanded() -> None:
    data = b"object_type: model\nlols:\n" + bomb("  ").encode()
    obj = linkfile.load(data, "f.mlem")
    assert isinstance(obj, dict) and obj["object_type"] == "model"
    assert count_nodes(obj) < 100


PYTHON_TAGS = [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.call [["touch", "{marker}"]]',
    '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
    "!!python/name:os.system",
    "!!python/module:os",
]
PLACES = {
    "unknown-key": "link_type: model\nobject_type: link\npath: m.mlem\nx: {tag}\n",
    "params": "link_type: model\nobject_type: link\nparams:\n  x: {tag}\npath: m.mlem\n",
    "rev": "link_type: model\nobject_type: link\npath: m.mlem\nrev: {tag}\n",
    "object_type": "object_type: {tag}\n",
    "model-field": "object_type: model\nprocessors: {tag}\n",
    "document": "{tag}\n",
}


def no_python_objects(obj: Any) -> bool:
    seen: set[int] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if callable(item) or isinstance(item, (types.ModuleType, type)):
            return False
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("tag", PYTHON_TAGS)
def test_python_tags_never_run_anything(tmp_path: Path, place: str, tag: str) -> None:
    marker = tmp_path / "PWNED"
    data = PLACES[place].format(tag=tag.format(marker=marker)).encode()
    try:
        obj = linkfile.load(data, "f.mlem")
    except LinkFileError:
        pass
    else:
        assert not isinstance(obj, Link)
        assert isinstance(obj, dict) and no_python_objects(obj)
    assert not marker.exists()


def test_bom_at_start_is_accepted() -> None:
    plain = HEAD + b"rev: main\n"
    got = linkfile.load("\ufeff".encode() + plain, "f.mlem")
    assert got == linkfile.load(plain, "f.mlem")
    assert isinstance(got, Link) and got.rev == "main" and got.line_of("rev") == 4


# --- reading: accepts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("latest.mlem", "models/rf.mlem"),
        ("api-link.mlem", "models/rf.mlem"),
        ("chained.mlem", "latest.mlem"),
        ("links/nested.mlem", "models/rf.mlem"),
    ],
)
def test_mlem_written_links_load(name: str, path: str) -> None:
    got = linkfile.load((FIXTURES / name).read_bytes(), name)
    assert isinstance(got, Link)
    assert got == Link(link_type="model", path=path)
    assert got.project is None and got.rev is None and dict(got.params) == {}
    assert got.is_alias and got.file == name
    assert dict(got.lines) == {"link_type": 1, "object_type": 2, "path": 3}
    assert linkfile.load_link((FIXTURES / name).read_bytes(), name) == got


def test_mlem_model_loads_as_its_fields() -> None:
    got = linkfile.load((FIXTURES / "model-rf.mlem").read_bytes(), "model-rf.mlem")
    assert isinstance(got, dict)
    assert got["object_type"] == "model"
    assert dict(got["processors"]) == {} and list(got["requirements"]) == []
    with pytest.raises(LinkFileError) as info:
        linkfile.load_link((FIXTURES / "model-rf.mlem").read_bytes(), "model-rf.mlem")
    assert "model" in info.value.detail


def test_documented_example_loads() -> None:
    data = (
        b"link_type: model\nobject_type: link\npath: models/rf.mlem\n"
        b"project: https://github.com/iterative/example-mlem-get-started/\nrev: main\n"
    )
    assert linkfile.load(data, "f.mlem") == Link(
        link_type="model",
        path="models/rf.mlem",
        project="https://github.com/iterative/example-mlem-get-started/",
        rev="main",
    )


def test_older_repo_field_is_read() -> None:
    got = linkfile.load(HEAD + b"repo: https://github.com/iterative/example-mlem/\nrev: main\n", "f.mlem")
    assert isinstance(got, Link)
    assert got.project == "https://github.com/iterative/example-mlem/"
    assert got.project_field == "repo" and got.rev == "main"


@pytest.mark.parametrize(
    ("written", "rev"),
    [
        ("'1234567'", "1234567"),
        ('"1234567"', "1234567"),
        ("'2024-01-01'", "2024-01-01"),
        ("'1e10'", "1e10"),
        ("'0123'", "0123"),
        ('"yes"', "yes"),
        ("'1.50'", "1.50"),
        ("'null'", "null"),
    ],
)
def test_quoted_revs_are_read(written: str, rev: str) -> None:
    got = linkfile.load(HEAD + f"rev: {written}\n".encode(), "f.mlem")
    assert isinstance(got, Link) and got.rev == rev


def test_params_with_string_values_and_comments() -> None:
    data = (
        b"# production model, promoted by CI\n"
        b"link_type: model  # a model\n"
        b"object_type: link\n"
        b"params:\n"
        b"  # where the pin came from\n"
        b"  pinned_from: v1.2.0\n"
        b"  approved: 'yes'\n"
        b"path: models/rf.mlem\n"
        b"project: ../models  # relative to the registry\n"
        b"rev: " + SHA.encode() + b"\n"
    )
    got = linkfile.load(data, "f.mlem")
    assert isinstance(got, Link)
    assert dict(got.params) == {"pinned_from": "v1.2.0", "approved": "yes"}
    assert got.is_pinned and got.pinned_from == "v1.2.0"
    assert got.project == "../models" and got.rev == SHA
    assert got.line_of("link_type") == 2 and got.line_of("rev") == 10


def test_empty_params_is_no_params() -> None:
    got = linkfile.load(b"link_type: model\nobject_type: link\nparams: {}\npath: m.mlem\n", "f.mlem")
    assert isinstance(got, Link) and dict(got.params) == {}


def test_keys_in_any_order_and_flow_style() -> None:
    got = linkfile.load(b"{rev: v1, path: models/rf, object_type: link, link_type: data}\n", "f.mlem")
    assert got == Link(link_type="data", path="models/rf", rev="v1")


def test_crlf_line_endings() -> None:
    got = linkfile.load(HEAD.replace(b"\n", b"\r\n") + b"rev: main\r\n", "f.mlem")
    assert isinstance(got, Link) and got.rev == "main" and got.line_of("rev") == 4


# --- dump_new ------------------------------------------------------------------------


def test_dump_new_writes_keys_sorted_like_mlem() -> None:
    full = Link(
        link_type="model",
        path="models/rf.mlem",
        project="https://github.com/iterative/example-mlem-get-started/",
        rev=SHA,
        params={"pinned_from": "main"},
    )
    assert linkfile.dump_new(full) == (
        b"link_type: model\n"
        b"object_type: link\n"
        b"params:\n"
        b"  pinned_from: main\n"
        b"path: models/rf.mlem\n"
        b"project: https://github.com/iterative/example-mlem-get-started/\n"
        b"rev: " + SHA.encode() + b"\n"
    )


def test_dump_new_leaves_out_empty_fields() -> None:
    assert linkfile.dump_new(link()) == HEAD
    assert (FIXTURES / "latest.mlem").read_bytes() == HEAD  # as MLEM writes it


def test_dump_new_uses_repo_when_asked() -> None:
    data = linkfile.dump_new(link(project="https://a.example/m.git", rev="v1", project_field="repo"))
    assert data == HEAD + b"repo: https://a.example/m.git\nrev: v1\n"
    assert linkfile.load(data, "f.mlem") == link(project="https://a.example/m.git", rev="v1", project_field="repo")


def test_dump_new_quotes_only_what_needs_it() -> None:
    data = linkfile.dump_new(link(project="../models", rev="2024-01-01", params={"pinned_from": "yes"}))
    assert b"rev: '2024-01-01'\n" in data and b"  pinned_from: 'yes'\n" in data
    assert b"project: ../models\n" in data and b"path: models/rf.mlem\n" in data


def test_dump_new_sorts_params_keys_like_mlem() -> None:
    data = linkfile.dump_new(link(params={"pinned_from": "main", "approved_by": "ci"}))
    assert b"params:\n  approved_by: ci\n  pinned_from: main\n" in data


def test_dump_new_params_keys_read_back_as_strings_in_yaml_11() -> None:
    data = linkfile.dump_new(link(params={"yes": "x"}))
    assert read_with((1, 1), data)["params"] == {"yes": "x"}


# --- dump_update -----------------------------------------------------------------------

EDITED = (
    b"# production churn model\n"
    b"link_type: model  # what it is\n"
    b'object_type: "link"\n'
    b"path: 'models/rf.mlem'\n"
    b"# where it comes from\n"
    b"repo: https://github.com/acme/churn\n"
    b"rev: main\n"
)


def test_dump_update_with_nothing_changed_is_byte_identical() -> None:
    for data in (
        EDITED,
        (FIXTURES / "latest.mlem").read_bytes(),
        HEAD + b"params: {pinned_from: main}\nproject: '../m'\nrev: \"" + SHA.encode() + b'"\n',
    ):
        assert linkfile.dump_update(data, "f.mlem", linkfile.load_link(data, "f.mlem")) == data


def test_dump_update_changes_only_the_values_that_differ() -> None:
    old = linkfile.load_link(EDITED, "f.mlem")
    new = linkfile.dump_update(EDITED, "f.mlem", replace(old, rev="v2.0.0"))
    old_lines, new_lines = EDITED.decode().splitlines(), new.decode().splitlines()
    assert new_lines[:-1] == old_lines[:-1]  # comments, order, quoting, repo: all kept
    assert new_lines[-1] == "rev: v2.0.0"
    assert linkfile.load_link(new, "f.mlem") == replace(old, rev="v2.0.0")


def test_dump_update_quotes_a_changed_value_that_needs_it() -> None:
    old = linkfile.load_link(EDITED, "f.mlem")
    new = linkfile.dump_update(EDITED, "f.mlem", replace(old, rev="1234567"))
    assert new.endswith(b"rev: '1234567'\n")
    assert read_with((1, 1), new)["rev"] == "1234567"


def test_dump_update_keeps_comment_on_a_changed_line() -> None:
    data = HEAD + b"rev: main  # the branch\n"
    new = linkfile.dump_update(data, "f.mlem", link(rev="v2"))
    assert new.startswith(HEAD)
    assert new.decode().splitlines()[-1].split() == ["rev:", "v2", "#", "the", "branch"]


def test_dump_update_keeps_the_files_own_project_field() -> None:
    old = linkfile.load_link(EDITED, "f.mlem")
    # the registry's link_format says project, the file says repo: the file wins
    moved = replace(old, project="https://github.com/acme/churn2", project_field="project")
    new = linkfile.dump_update(EDITED, "f.mlem", moved)
    assert b"repo: https://github.com/acme/churn2\n" in new and b"project:" not in new
    as_project = HEAD + b"project: ../m\nrev: main\n"
    new = linkfile.dump_update(as_project, "f.mlem", link(project="../n", rev="main", project_field="repo"))
    assert new == HEAD + b"project: ../n\nrev: main\n"


def test_dump_update_keeps_an_unsorted_key_order() -> None:
    data = b"path: models/rf.mlem\nrev: main\nlink_type: model\nobject_type: link\n"
    new = linkfile.dump_update(data, "f.mlem", link(rev="v1"))
    assert new == b"path: models/rf.mlem\nrev: v1\nlink_type: model\nobject_type: link\n"


def test_dump_update_places_new_keys_in_sorted_position() -> None:
    alias = (FIXTURES / "latest.mlem").read_bytes()
    new = linkfile.dump_update(alias, "latest.mlem", link(project="../models", rev="main", params={"pinned_from": "x"}))
    assert new == HEAD.replace(b"path:", b"params:\n  pinned_from: x\npath:") + b"project: ../models\nrev: main\n"


def test_dump_update_pin_adds_pinned_from_and_unpin_removes_it() -> None:
    data = b"# churn\n" + HEAD + b"project: ../models\nrev: v1.2.0\n"
    plain = linkfile.load_link(data, "f.mlem")
    pinned_text = linkfile.dump_update(data, "f.mlem", pinned(plain, SHA, "v1.2.0"))
    assert pinned_text == (
        b"# churn\nlink_type: model\nobject_type: link\nparams:\n  pinned_from: v1.2.0\n"
        b"path: models/rf.mlem\nproject: ../models\nrev: " + SHA.encode() + b"\n"
    )
    back = linkfile.load_link(pinned_text, "f.mlem")
    assert back.is_pinned and back.pinned_from == "v1.2.0" and back.rev == SHA
    unpinned = linkfile.dump_update(pinned_text, "f.mlem", replace(back, rev="v1.2.0", params={}))
    assert unpinned == data


def test_dump_update_keeps_other_params_when_pinning() -> None:
    data = b"link_type: model\nobject_type: link\nparams:\n  owner: data-team  # who\npath: m.mlem\nrev: main\n"
    old = linkfile.load_link(data, "f.mlem")
    new = linkfile.dump_update(data, "f.mlem", pinned(old, SHA, "main"))
    assert b"  owner: data-team  # who\n" in new and b"  pinned_from: main\n" in new
    assert linkfile.load_link(new, "f.mlem").params == {"owner": "data-team", "pinned_from": "main"}


def test_dump_update_alias_drops_project_and_rev() -> None:
    old = linkfile.load_link(EDITED, "f.mlem")
    new = linkfile.dump_update(EDITED, "f.mlem", replace(old, project=None, rev=None))
    assert (
        new
        == b"# production churn model\nlink_type: model  # what it is\nobject_type: \"link\"\npath: 'models/rf.mlem'\n# where it comes from\n"
    )
    assert linkfile.load_link(new, "f.mlem") == link()


def test_dump_update_unpin_keeps_a_comment_after_params() -> None:
    data = (
        b"link_type: model\nobject_type: link\nparams:\n  pinned_from: main\n"
        b"# the model we ship\npath: models/rf.mlem\nproject: ../models\nrev: " + SHA.encode() + b"\n"
    )
    old = linkfile.load_link(data, "f.mlem")
    new = linkfile.dump_update(data, "f.mlem", replace(old, rev="main", params={}))
    assert b"# the model we ship\n" in new


def test_dump_update_of_invalid_yaml_raises_link_file_error() -> None:
    with pytest.raises(LinkFileError):
        linkfile.dump_update(b"link_type: [\n", "f.mlem", link())


# --- properties ---------------------------------------------------------------------------

KNOWN_KEYS = ["link_type", "object_type", "params", "path", "project", "repo", "rev"]
scalars = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["link", "model", "models/rf.mlem", "../x.mlem", "/abs.mlem", "yes", "1e10", "2024-01-01", "~", ""]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=3),
    ),
    max_leaves=8,
)
documents = st.dictionaries(
    st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=10), st.integers()), values, max_size=6
)
YAML_BITS = [
    "object_type: link\n",
    "link_type: model\n",
    "path: m.mlem\n",
    "rev: ",
    "params:\n",
    "  a: b\n",
    "'",
    '"',
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "!!",
    "!!python/name:os.system ",
    "? ",
    ": ",
    "- ",
    "\t",
    "  ",
    "\n",
    "#",
    "1",
    "e",
    ".",
    "<<: ",
    "|\n",
    ">\n",
    "\ufeff",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG ! x\n",
    "\\",
    "\x00",
    "\x85",
    "\u2028",
]
raw_inputs = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(YAML_BITS), max_size=20).map(lambda parts: "".join(parts).encode("utf-8")),
)


def dump_any(doc: dict[Any, Any]) -> bytes:
    out = io.StringIO()
    yaml_reader(None).dump(doc, out)
    return out.getvalue().encode("utf-8")


def only_link_dict_or_error(data: bytes) -> None:
    """Reading any bytes gives a link, another object's mapping, or a LinkFileError; a link round-trips."""
    try:
        got = linkfile.load(data, "f.mlem")
    except LinkFileError as e:
        assert e.file == "f.mlem"
        assert e.line is None or e.line >= 1
        return
    if isinstance(got, Link):
        # what was read is what is written back: as a new file, and as an edit of this one
        assert linkfile.load(linkfile.dump_new(got), "f.mlem") == got
        assert linkfile.load(linkfile.dump_update(data, "f.mlem", got), "f.mlem") == got
    else:
        assert isinstance(got, dict) and got.get("object_type") != "link", got


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from([None, "link", "model"]))
def test_load_of_any_mapping_gives_link_dict_or_link_file_error(doc: dict[Any, Any], object_type: str | None) -> None:
    if object_type is not None:
        doc.setdefault("object_type", object_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        only_link_dict_or_error(dump_any(doc))


@settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_inputs)
@example(b"object_type: link\nlink_type: model\npath: m.mlem\nrev: '1e10'\nparams:\n  a: 'yes'\n")
@example(b"# kept\nrepo: ../p  # here\nobject_type: link\nlink_type: data\npath: d.mlem\nrev: '0123'\n")
def test_load_of_any_bytes_gives_link_dict_or_link_file_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruamel warns about reused anchors and 1.1 floats
        only_link_dict_or_error(data)


field_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)
path_text = field_text.filter(lambda p: linkfile.project_path_problem(p) is None)


@settings(
    max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(
    field_text,
    path_text,
    st.none() | field_text,
    st.none() | field_text,
    st.dictionaries(field_text, field_text, max_size=3),
    st.sampled_from(["project", "repo"]),
)
def test_dump_new_then_load_gives_the_same_link(
    link_type: str, path: str, project: str | None, rev: str | None, params: dict[str, str], field: str
) -> None:
    made = Link(
        link_type=link_type,
        path=path,
        project=project,
        rev=rev,
        params=params,
        project_field=field if project is not None else "project",
    )
    data = linkfile.dump_new(made)
    assert linkfile.load(data, "f.mlem") == made


rev_alphabet = st.text(st.sampled_from("0123456789eExob._:+-~=<TZynYN/atrufl "), min_size=1, max_size=12)


@settings(max_examples=examples(250), deadline=None)
@given(rev_alphabet.filter(lambda s: s.strip() != ""))
def test_written_rev_is_the_same_string_to_yaml_11_and_12(rev: str) -> None:
    data = linkfile.dump_new(link(rev=rev))
    for version in ((1, 1), None):
        assert read_with(version, data)["rev"] == rev
    assert linkfile.load_link(data, "f.mlem").rev == rev


def test_lone_surrogate_is_refused_when_read() -> None:
    data = b'object_type: link\nlink_type: model\npath: "\\ud800"\n'
    with pytest.raises(LinkFileError, match="lone surrogate") as e:
        linkfile.load(data, "f.mlem")
    assert e.value.line == 3


def test_a_plain_link_file_is_read_without_importing_ruamel(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fast reader's strings say whether they were quoted: asking ruamel would cost its import
    for module in [m for m in sys.modules if m == "ruamel.yaml" or m.startswith("ruamel.yaml.")]:
        monkeypatch.delitem(sys.modules, module)
    data = HEAD + b"params:\n  owner: team\nrev: 'yes'\n"
    assert linkfile.load_link(data, "f.mlem") == link(rev="yes", params={"owner": "team"})
    assert "ruamel.yaml" not in sys.modules


def test_a_quoted_params_key_that_needs_its_quotes_is_read() -> None:
    data = HEAD + b"params:\n  'on': x\n  \"1:20\": z\n"
    assert linkfile.load_link(data, "f.mlem").params == {"on": "x", "1:20": "z"}


def test_a_parser_failing_without_a_message_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        def load(self, text: str) -> None:
            raise AssertionError

    monkeypatch.setattr(linkfile, "_yaml", Failing)
    with pytest.raises(LinkFileError) as e:
        linkfile.load(HEAD + b"rev: [\n", "f.mlem")
    assert (e.value.file, e.value.detail) == ("f.mlem", "invalid YAML: AssertionError")


@pytest.mark.parametrize("value", ["-_", "[-_]", "{a: -_}"])
def test_a_value_ruamel_cannot_construct_is_a_link_file_error(value: str) -> None:
    # ruamel reads "-_" as an int and then indexes an empty string (IndexError), found by hypothesis
    with pytest.raises(LinkFileError) as e:
        linkfile.load(f"object_type: {value}\n".encode(), "f.mlem")
    assert e.value.file == "f.mlem" and e.value.detail.startswith("invalid YAML: ")


def test_unquoted_ambiguous_params_key_says_quote_it() -> None:
    data = b"object_type: link\nlink_type: model\npath: a.mlem\nparams:\n  yes: x\n"
    with pytest.raises(LinkFileError, match="quote it") as e:
        linkfile.load(data, "f.mlem")
    assert e.value.line == 5


def test_ruamel_warnings_stay_off_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    data = b"object_type: model\na: &x 1\nb: &x 2\nc: *x\n"
    linkfile.load(data, "f.mlem")
    assert capfd.readouterr().err == ""


# --- exact messages ---------------------------------------------------------------------


def error_of(call: Any, *args: Any, **kw: Any) -> tuple[str, int | None, str]:
    with pytest.raises(LinkFileError) as info:
        call(*args, **kw)
    return (info.value.file, info.value.line, info.value.detail)


KNOWN = "link_type, object_type, params, path, project, rev (or repo); put extra data under params"
PARAMS_HEAD = b"link_type: model\nobject_type: link\nparams:\n"

#: (id, file content, line, the whole message)
MESSAGES: list[tuple[str, bytes, int | None, str]] = [
    ("unknown-key", HEAD + b"colour: blue\n", 4, f"unknown field colour: a link has only {KNOWN}"),
    ("unknown-int-key", HEAD + b"7: seven\n", 4, f"unknown field 7: a link has only {KNOWN}"),
    # a key that is no string is shown as Python writes it, so its type shows
    (
        "unknown-date-key",
        b"2024-01-01: x\n" + HEAD,
        1,
        f"unknown field datetime.date(2024, 1, 1): a link has only {KNOWN}",
    ),
    (
        "project-and-repo",
        HEAD + b"project: a\nrepo: a\n",
        5,
        "both project and repo are set; they mean the same, keep one",
    ),
    ("missing-path", b"link_type: model\nobject_type: link\n", 1, "missing required field path"),
    (
        "params-a-list",
        b"link_type: model\nobject_type: link\nparams: [a]\npath: m.mlem\n",
        3,
        "params must be a mapping of strings",
    ),
    (
        "params-int-value",
        PARAMS_HEAD + b"  count: 3\npath: m.mlem\n",
        4,
        "params.count must be a string; quote it: count: '3'",
    ),
    ("params-int-key", PARAMS_HEAD + b"  1: one\npath: m.mlem\n", 4, "params key 1 must be a string"),
    (
        "params-yes-key",
        PARAMS_HEAD + b"  on: x\npath: m.mlem\n",
        4,
        "params key on is not read as a string by every YAML reader; quote it: 'on': ...",
    ),
    ("rev-on-the-next-line", HEAD + b"rev:\n  1234567\n", 4, "rev must be a string; quote it: rev: '1234567'"),
    ("rev-empty-first", b"rev:\n" + HEAD, 1, "rev is empty"),
    ("rev-null-on-the-next-line", HEAD + b"rev:\n  null\n", 4, "rev is empty"),
    ("path-missing-value", b"link_type: model\nobject_type: link\npath:\n", 3, "path is empty"),
    ("object_type-a-number", b"object_type: 1\n", 1, "object_type must be a string; quote it: object_type: '1'"),
    ("not-utf-8", HEAD + b"rev: caf\xe9\n", 4, "not UTF-8 text (binary data?)"),
    ("rev-a-mapping", HEAD + b"rev: {a: b}\n", 4, "rev must be a string, not a mapping"),
    ("rev-a-list", HEAD + b"rev: [a]\n", 4, "rev must be a string, not a list"),
    (
        "path-lone-surrogate",
        b'link_type: model\nobject_type: link\npath: "\\ud800"\n',
        3,
        "path holds an invalid character (a lone surrogate)",
    ),
    # an anchor or a tag before a value is not the value; an alias shows the value it stands for
    (
        "rev-an-alias-of-a-number",
        b"link_type: model\nobject_type: link\npath: m.mlem\nparams:\n  a: &n 12\nrev: *n\n",
        6,
        "rev must be a string; quote it: rev: '12'",
    ),
    ("rev-an-anchored-number", HEAD + b"rev: &n 12\n", 4, "rev must be a string; quote it: rev: '12'"),
    ("rev-a-tagged-number", HEAD + b"rev: !!int 12\n", 4, "rev must be a string; quote it: rev: '12'"),
    (
        "rev-tagged-above-a-number",
        HEAD + b"rev: !!int\n  12\n",
        4,
        "rev must be a string; quote it where it is written",
    ),
    # a value from a << merge is not written beside its key: no line, no value to show
    ("rev-empty-by-merge", HEAD + b"<<: {rev: }\n", None, "rev is empty"),
    ("rev-int-by-merge", HEAD + b"<<: {rev: 12}\n", None, "rev must be a string; quote it where it is written"),
    (
        "path-absolute",
        b"link_type: model\nobject_type: link\npath: /m.mlem\n",
        3,
        "path /m.mlem: absolute; it must be relative to the project root",
    ),
    ("no-object_type", b"link_type: model\npath: m.mlem\n", 1, "no object_type: not a MLEM object"),
    (
        "tag",
        HEAD + b"x: !!python/name:os.system ''\n",
        4,
        "YAML tag !!python/name:os.system is not allowed (a safe loader refuses it)",
    ),
    (
        "tag-in-params",
        PARAMS_HEAD + b"  a: [b, !local c]\npath: m.mlem\n",
        4,
        "YAML tag !local is not allowed (a safe loader refuses it)",
    ),
    # the tag comes before a node reached twice (an alias): the walk goes on past it
    (
        "tag-then-alias",
        b"x: !local v\nlink_type: model\nobject_type: link\npath: &p m.mlem\nrev: *p\n",
        1,
        "YAML tag !local is not allowed (a safe loader refuses it)",
    ),
    ("a-list", b"- a\n", 1, "the document is a list; a link file is a YAML mapping"),
    ("empty", b"# nothing\n", None, "empty: a link file is a YAML mapping"),
]


@pytest.mark.parametrize(("data", "line", "message"), [m[1:] for m in MESSAGES], ids=[m[0] for m in MESSAGES])
def test_reading_error_messages_in_full(data: bytes, line: int | None, message: str) -> None:
    assert error_of(linkfile.load, data, "links/prod.mlem") == ("links/prod.mlem", line, message)


def test_yaml_error_message_is_the_problem_on_one_line() -> None:
    from ruamel.yaml.error import MarkedYAMLError, StreamMark, YAMLError

    def made(e: Exception) -> tuple[str, int | None, str]:
        error = linkfile._yaml_error("f.mlem", e)
        return (error.file, error.line, error.detail)

    mark = StreamMark("f.mlem", 0, 2, 4)
    both = MarkedYAMLError("while parsing", mark, "found  a\n   tab", StreamMark("f.mlem", 9, 4, 0))
    assert made(both) == ("f.mlem", 5, "invalid YAML: found a tab")
    assert made(MarkedYAMLError(context="while parsing a mapping", context_mark=mark)) == (
        "f.mlem",
        3,
        "invalid YAML: while parsing a mapping",
    )
    assert made(MarkedYAMLError(note="see\n  the docs")) == ("f.mlem", None, "invalid YAML: see the docs")
    assert made(YAMLError("no  mark,\n two lines")) == ("f.mlem", None, "invalid YAML: no mark, two lines")


@pytest.mark.parametrize(
    ("data", "what", "line", "message"),
    [
        (b"- a\n", "dvc.lock", 1, "the document is a list; dvc.lock is a YAML mapping"),
        (b"text\n", ".mr.yaml", 1, "the document is a single value; .mr.yaml is a YAML mapping"),
        (b"", None, None, "empty: a link file is a YAML mapping"),
        (b"a: b\0", "dvc.lock", None, "not a text file (binary data)"),
    ],
)
def test_parse_mapping_errors_name_the_file_and_its_kind(
    data: bytes, what: str | None, line: int | None, message: str
) -> None:
    kind = {} if what is None else {"what": what}
    assert error_of(linkfile.parse_mapping, data, "sub/x.yaml", **kind) == ("sub/x.yaml", line, message)


@pytest.mark.parametrize(
    "data", [b"stages: [dev, prod]\nlink_format: repo\n", b"stages: &s [dev, prod]\nlink_format: repo\n"]
)
def test_parse_mapping_returns_the_mapping(data: bytes) -> None:
    doc = linkfile.parse_mapping(data, "x.yaml", "x.yaml")
    assert {k: (list(v) if isinstance(v, list) else v) for k, v in doc.items()} == {
        "stages": ["dev", "prod"],
        "link_format": "repo",
    }


def test_load_link_of_another_object_names_file_line_and_type() -> None:
    data = b"object_type: model\nprocessors: {}\n"
    assert error_of(linkfile.load_link, data, "links/m.mlem") == (
        "links/m.mlem",
        1,
        "not a link: it is a MLEM object of type model",
    )
    assert error_of(linkfile.load_link, b"object_type: link\npath: m\n", "links/m.mlem") == (
        "links/m.mlem",
        1,
        "missing required field link_type",
    )


def test_load_link_keeps_the_file_and_name() -> None:
    got = linkfile.load_link(HEAD, "links/rf.mlem", name="rf")
    assert (got.file, got.name) == ("links/rf.mlem", "rf")
    got = linkfile.load(HEAD + b"rev: main\n", "links/rf.mlem", name="rf")
    assert isinstance(got, Link) and (got.file, got.name) == ("links/rf.mlem", "rf")


def test_a_merged_key_is_on_line_1() -> None:
    got = linkfile.load_link(HEAD + b"<<: {rev: main}\n", "f.mlem")
    assert got.rev == "main"
    assert dict(got.lines) == {"link_type": 1, "object_type": 2, "path": 3, "rev": 1}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/abs", "absolute; it must be relative to the project root"),
        ("\\abs", "absolute; it must be relative to the project root"),
        ("C:\\x", "absolute; it must be relative to the project root"),
        ("c:/x", "absolute; it must be relative to the project root"),
        ("a\\..\\..\\b", "escapes its project with .."),
        ("..", "escapes its project with .."),
        ("../a", "escapes its project with .."),
        (".", "names no file"),
        ("", "names no file"),
        ("a/..", "names no file"),
        ("a\0b", "contains a control character"),
        ("a\nb", "contains a control character"),
        ("a\rb", "contains a control character"),
        ("X.mlem", None),
        ("a\\..\\b", None),
        ("c:x", None),
        ("models/../rf.mlem", None),
        ("..a/b", None),
    ],
)
def test_project_path_problem(path: str, problem: str | None) -> None:
    assert linkfile.project_path_problem(path) == problem


# --- dump_update: exact bytes -----------------------------------------------------------


def test_dump_update_errors_name_the_file() -> None:
    for data, line, message in [
        (b"- a\n", 1, "the document is a list; a link file is a YAML mapping"),
        (b"a: b\0", None, "not a text file (binary data)"),
    ]:
        assert error_of(linkfile.dump_update, data, "links/a.mlem", link()) == ("links/a.mlem", line, message)


def test_dump_update_of_an_alias_writes_the_links_own_project_field() -> None:
    new = linkfile.dump_update(HEAD, "f.mlem", link(project="../m", rev="main", project_field="repo"))
    assert new == HEAD + b"repo: ../m\nrev: main\n"


def test_dump_update_keeps_unchanged_params_as_written() -> None:
    data = (
        PARAMS_HEAD + b'  owner: "data-team"  # who\n  pinned_from: "main"\npath: m.mlem\nrev: ' + SHA.encode() + b"\n"
    )
    got = linkfile.load_link(data, "f.mlem")
    assert linkfile.dump_update(data, "f.mlem", got) == data


def test_dump_update_of_a_file_with_a_number_param_key_is_a_link_file_error() -> None:
    # mr's string key is placed among the file's own number keys without comparing a str to an int,
    # and the result, which no reader takes as a link, is refused
    data = PARAMS_HEAD + b"  1: one\n  2: two\npath: m.mlem\n"
    with pytest.raises(LinkFileError) as e:
        linkfile.dump_update(data, "f.mlem", link(path="m.mlem", params={"1": "x"}))
    assert (e.value.line, e.value.detail) == (4, "params key 1 must be a string")


UNPIN = link(path="m.mlem", rev="main")
OWNED = link(path="m.mlem", rev="main", params={"owner": "team"})
ALIAS = link(path="m.mlem")
REST = b"path: m.mlem\nrev: main\n"

#: (id, file before, the link written, file after): removing a key keeps the full-line comments below it
REMOVALS: list[tuple[str, bytes, Link, bytes]] = [
    (
        "params-in-the-middle",
        b"link_type: model\nobject_type: link\n# pinned by CI\nparams:\n  pinned_from: main  # by mr\n"
        b"# the model we ship\n\n#tight\npath: m.mlem\nrev: " + SHA.encode() + b"\n",
        UNPIN,
        b"link_type: model\nobject_type: link\n# pinned by CI\n# the model we ship\n\n#tight\n" + REST,
    ),
    (
        "params-after-a-commented-line",
        b"link_type: model\nobject_type: link  # always\nparams:\n  pinned_from: main\n# below\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link  # always\n# below\n" + REST,
    ),
    (
        "params-first",
        b"# head\nparams:\n  pinned_from: main  # by mr\n# XGBoost model\n\n  #  indented\n#tight\n"
        b"link_type: model\nobject_type: link\n" + REST,
        UNPIN,
        b"# head\n# XGBoost model\n\n  #  indented\n#tight\nlink_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-first-no-comment",
        b"params:\n  pinned_from: main\nlink_type: model\nobject_type: link\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-last",
        b"link_type: model\nobject_type: link\n" + REST + b"params:\n  pinned_from: main\n# the end\n",
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST + b"# the end\n",
    ),
    (
        "params-last-no-final-newline",
        b"link_type: model\nobject_type: link\n" + REST + b"params:\n  pinned_from: main  # by mr",
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-then-a-blank-line",
        b"link_type: model\nobject_type: link\nparams:\n  pinned_from: main\n\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-empty",
        b"link_type: model\nobject_type: link\nparams: {}\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-a-list",
        b"link_type: model\nobject_type: link\nparams: [a]\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link\n" + REST,
    ),
    (
        "params-flow",
        b"link_type: model\nobject_type: link\nparams: {pinned_from: main}  # by mr\n# below\n" + REST,
        UNPIN,
        b"link_type: model\nobject_type: link\n# below\n" + REST,
    ),
    (
        "pinned_from-last-of-params",
        PARAMS_HEAD
        + b"  owner: team  # who\n  pinned_from: main  # by mr\n# below\npath: m.mlem\nrev: "
        + SHA.encode()
        + b"\n",
        OWNED,
        PARAMS_HEAD + b"  owner: team  # who\n# below\n" + REST,
    ),
    (
        "pinned_from-first-of-params",
        PARAMS_HEAD
        + b"  pinned_from: main  # by mr\n  # about the owner\n  owner: team\npath: m.mlem\nrev: "
        + SHA.encode()
        + b"\n",
        OWNED,
        PARAMS_HEAD + b"  # about the owner\n  owner: team\n" + REST,
    ),
    (
        "project-and-rev",
        HEAD + b"project: ../p  # where\n# below project\n\nrev: main  # r\n# below rev\n",
        link(),
        HEAD + b"# below project\n\n# below rev\n",
    ),
    (
        "rev-first",
        b"rev: main\n# about the model\nlink_type: model\nobject_type: link\npath: m.mlem\n",
        ALIAS,
        b"# about the model\nlink_type: model\nobject_type: link\npath: m.mlem\n",
    ),
    (
        "pinned_from-alone-in-params-then-another-param",
        PARAMS_HEAD + b"  pinned_from: main\n  # pinned for the audit\npath: m.mlem\nrev: " + SHA.encode() + b"\n",
        OWNED,
        PARAMS_HEAD + b"  owner: team\n  # pinned for the audit\n" + REST,
    ),
    (
        "an-unknown-key-alone-before-the-link-is-written",
        b"note: 1\n# keep me\n",
        UNPIN,
        b"link_type: model\n# keep me\nobject_type: link\n" + REST,
    ),
    (
        "the-last-key-after-a-nested-map",
        b"link_type: model\nobject_type: link\npath: m.mlem\nparams:\n  owner: team\nrev: main\n# the end\n",
        link(path="m.mlem", params={"owner": "team"}),
        b"link_type: model\nobject_type: link\npath: m.mlem\nparams:\n  owner: team\n# the end\n",
    ),
    # after a flow value, ruamel hangs the comment lines on the next key: two removals put two there
    (
        "comments-after-flow-values-then-the-last-key",
        b"link_type: model\nobject_type: link\npath: m.mlem\nx: [1]\n# one\ny: [2]\n# two\nrev: main\n",
        ALIAS,
        b"link_type: model\nobject_type: link\npath: m.mlem\n# one\n# two\n",
    ),
    (
        "crlf",
        b"rev: main\r\n# about the model\r\nlink_type: model\r\nobject_type: link\r\npath: m.mlem\r\n",
        ALIAS,
        b"# about the model\nlink_type: model\nobject_type: link\npath: m.mlem\n",
    ),
]


def test_a_removed_last_key_after_a_block_scalar_leaves_the_scalar_as_it_was() -> None:
    # the lines below the removed key would join a keep-chomped scalar's value: they go with the key
    old = PARAMS_HEAD + b"  note: |+\n    text\n\n  pinned_from: main\n# about the pin\npath: m.mlem\nrev: "
    new = linkfile.dump_update(
        old + SHA.encode() + b"\n", "f.mlem", link(path="m.mlem", rev="main", params={"note": "text\n\n"})
    )
    assert new == PARAMS_HEAD + b"  note: |+\n    text\n\n" + REST
    assert linkfile.load_link(new, "f.mlem").params == {"note": "text\n\n"}
    # a block scalar removed as well leaves the plain value before it to carry them
    last = b"link_type: model\nobject_type: link\npath: m.mlem\nnote: |+\n  text\n\nrev: main\n# after\n"
    assert linkfile.dump_update(last, "f.mlem", link(path="m.mlem")) == (
        b"link_type: model\nobject_type: link\npath: m.mlem\n# after\n"
    )


def test_no_plain_entry_ends_an_empty_mapping() -> None:
    from ruamel.yaml.comments import CommentedMap

    assert linkfile._last_plain_entry(CommentedMap()) is None


@pytest.mark.parametrize(("old", "new", "want"), [r[1:] for r in REMOVALS], ids=[r[0] for r in REMOVALS])
def test_dump_update_removing_a_key_keeps_the_comments_below_it(old: bytes, new: Link, want: bytes) -> None:
    assert linkfile.dump_update(old, "f.mlem", new) == want
    assert linkfile.load_link(want, "f.mlem") == new


def test_dump_update_unpin_keeps_the_files_other_params() -> None:
    # mr manages only pinned_from: a param the link does not name stays
    data = (
        PARAMS_HEAD
        + b"  owner: team\n  pinned_from: main  # by mr\n# below\npath: m.mlem\nrev: "
        + SHA.encode()
        + b"\n"
    )
    new = linkfile.dump_update(data, "f.mlem", UNPIN)
    assert new == PARAMS_HEAD + b"  owner: team\n# below\n" + REST
    assert linkfile.load_link(new, "f.mlem") == replace(UNPIN, params={"owner": "team"})


def test_dump_update_refuses_to_keep_what_makes_no_link() -> None:
    # a param mr does not manage stays as written: when it is no string, no valid file can keep it
    old = PARAMS_HEAD + b"  owners:\n  - ml-team\n  pinned_from: main\n" + REST
    with pytest.raises(LinkFileError) as e:
        linkfile.dump_update(old, "f.mlem", UNPIN)
    assert (e.value.file, e.value.detail) == ("f.mlem", "params.owners must be a string, not a list")


def test_a_long_value_is_written_on_one_line() -> None:
    note = " ".join(["word"] * 100)
    data = linkfile.dump_new(link(params={"note": note}))
    assert f"  note: {note}\n".encode() in data
    assert linkfile.load_link(data, "f.mlem").params == {"note": note}


def test_a_file_of_exactly_the_largest_size_is_read() -> None:
    data = HEAD + b"# "
    data += b"x" * (linkfile.MAX_SIZE - len(data) - 1) + b"\n"
    assert len(data) == linkfile.MAX_SIZE
    assert linkfile.load_link(data, "f.mlem") == link()
    assert load_error(data + b"#").detail == f"too large for a link file ({linkfile.MAX_SIZE + 1} bytes)"


def test_dump_update_leaves_an_unchanged_value_as_written() -> None:
    # only values that change are touched: quoting, even where mr would not quote, stays
    data = PARAMS_HEAD + b'  note: "x"  # why\npath: m.mlem\nrev: "main"\n'
    assert linkfile.dump_update(data, "f.mlem", link(path="m.mlem", rev="main", params={"note": "x"})) == data


def test_dump_update_quotes_an_unchanged_value_a_yaml_reader_reads_otherwise() -> None:
    # 1:20 is the string "1:20" to YAML 1.2 and a number to YAML 1.1: mr reads it only quoted
    data = PARAMS_HEAD + b"  note: 1:20  # why\npath: m.mlem\nrev: 1:20\n"
    want = link(path="m.mlem", rev="1:20", params={"note": "1:20"})
    new = linkfile.dump_update(data, "f.mlem", want)
    assert new == PARAMS_HEAD + b"  note: '1:20' # why\npath: m.mlem\nrev: '1:20'\n"  # the comment stays in its column
    assert linkfile.load_link(new, "f.mlem") == want
