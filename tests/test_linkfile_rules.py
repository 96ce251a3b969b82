from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mr import linkfile
from mr.errors import LinkFileError
from mr.model import Link, pinned

FIXTURES = Path(__file__).parent / "fixtures" / "mlem-0.4.14"
AMBIGUOUS = [
    "1234567", "1e10", "0123", "yes", "Yes", "on", "off", "no", "y", "n", "null", "~", "true",
    "2024-01-01", "2024-01-01T10:00:00Z", "1_000", "0x1f", "0o17", "1:20", "1.0", ".5", ".inf",
    ".nan", "=", "<<", "",
]
PLAIN = ["main", "v1.2.0", "5-deploy-meta", "deadbeef", "3f2a" * 10, "feature/x", "1e", "e10", "model@v1.0"]


@pytest.mark.parametrize("rev", AMBIGUOUS)
def test_ambiguous_revs_need_quotes(rev: str) -> None:
    assert linkfile.needs_quotes(rev)


@pytest.mark.parametrize("rev", PLAIN)
def test_plain_revs_do_not(rev: str) -> None:
    assert not linkfile.needs_quotes(rev)


@pytest.mark.parametrize("rev", [r for r in AMBIGUOUS if r] + PLAIN)
@pytest.mark.parametrize("version", [(1, 1), (1, 2)])
def test_written_rev_reads_back_as_the_same_string(rev: str, version: tuple[int, int]) -> None:
    from ruamel.yaml import YAML

    data = linkfile.dump_new(Link("model", "models/rf.mlem", "https://h/r", rev))
    assert linkfile.load_link(data, "f.mlem").rev == rev
    yaml = YAML(typ="safe", pure=True)
    yaml.version = version
    assert yaml.load(data.decode())["rev"] == rev


def test_mlem_fixtures_load() -> None:
    for name in ("latest.mlem", "chained.mlem", "api-link.mlem", "links/nested.mlem"):
        link = linkfile.load_link((FIXTURES / name).read_bytes(), name)
        assert link.link_type == "model" and link.project is None and link.rev is None
    assert linkfile.load((FIXTURES / "model-rf.mlem").read_bytes(), "m")["object_type"] == "model"


def test_old_repo_field_and_new_file_layout() -> None:
    old = b"link_type: model\nobject_type: link\npath: m.mlem\nrepo: https://h/r/\nrev: main\n"
    link = linkfile.load_link(old, "f")
    assert link.project_field == "repo" and link.project == "https://h/r/"
    assert linkfile.dump_new(link) == old
    p = pinned(Link("model", "m.mlem", "https://h/r"), "a" * 40, "main")
    assert linkfile.dump_new(p).decode() == (
        "link_type: model\nobject_type: link\nparams:\n  pinned_from: main\npath: m.mlem\n"
        f"project: https://h/r\nrev: {'a' * 40}\n"
    )


def test_update_keeps_comments_order_quoting_and_field_name() -> None:
    old = (
        b"# owned by ops\nobject_type: link\nlink_type: model\npath: \"m.mlem\"  # the model\n"
        b"repo: 'https://h/r'\nrev: main\n"
    )
    new = pinned(Link("model", "m.mlem", "https://h/r"), "b" * 40, "main")
    text = linkfile.dump_update(old, "f", new).decode()
    assert text == (
        "# owned by ops\nobject_type: link\nlink_type: model\nparams:\n  pinned_from: main\n"
        "path: \"m.mlem\"  # the model\nrepo: 'https://h/r'\nrev: " + "b" * 40 + "\n"
    )
    unpinned = linkfile.dump_update(text.encode(), "f", Link("model", "m.mlem", "https://h/r", "v2"))
    assert b"params" not in unpinned and b"rev: v2\n" in unpinned


def test_write_atomic_keeps_mode_and_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "reg"
    folder.mkdir()
    target = folder / "a.mlem"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    linkfile.write_atomic(str(target), b"new\n")
    assert target.read_text() == "new\n" and (target.stat().st_mode & 0o777) == 0o640

    def fail(*a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        linkfile.write_atomic(str(target), b"newer\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in folder.iterdir()) == ["a.mlem"]


def test_oversized_file_is_refused_without_parsing() -> None:
    with pytest.raises(LinkFileError, match="too large"):
        linkfile.load(b"#" * (linkfile.MAX_SIZE + 1), "big.mlem")


def test_bom_is_accepted() -> None:
    data = "\ufefflink_type: model\nobject_type: link\npath: m.mlem\n".encode()
    assert linkfile.load_link(data, "f").path == "m.mlem"


def test_python_tags_construct_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for payload in (
        f"object_type: link\nlink_type: model\npath: a\nrev: !!python/object/apply:os.system ['touch {marker}']\n",
        "object_type: !!python/name:os.system\nlink_type: model\npath: a\n",
    ):
        with pytest.raises(LinkFileError):
            linkfile.load(payload.encode(), "f.mlem")
    assert not marker.exists()


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(["object_type", "link_type", "path", "project", "repo", "rev", "params"]) | st.text(max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=7))
def test_structured_input_gives_a_link_or_our_error(doc: dict) -> None:  # type: ignore[type-arg]
    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    try:
        result = linkfile.load(out.getvalue().encode(), "f.mlem")
    except LinkFileError as e:
        assert e.file == "f.mlem" and "\n" not in e.message
    else:
        assert isinstance(result, (Link, dict))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_input_gives_a_link_or_our_error(data: bytes) -> None:
    try:
        result = linkfile.load(data, "f.mlem")
    except LinkFileError as e:
        assert e.file == "f.mlem"
    else:
        assert isinstance(result, (Link, dict))


field = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s.strip()
)


@settings(max_examples=300, deadline=None)
@given(field, field, st.none() | field, st.none() | field, st.dictionaries(field, field, max_size=2))
def test_written_links_read_back_equal(link_type: str, path: str, project: str | None, rev: str | None, params: dict) -> None:  # type: ignore[type-arg]
    if linkfile.path_problem(path):
        return
    link = Link(link_type, path, project, rev, params)
    assert linkfile.load_link(linkfile.dump_new(link), "f.mlem") == link
