"""Link files kept between runs: the same link as a fresh read, whatever the kept file holds."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mr import linkcache, linkfile
from mr.linkcache import LinkCache
from mr.model import Link
from tests.helpers import commit_all

FIXTURES = Path(__file__).parent / "fixtures" / "mlem-0.4.14"


def read(cache: LinkCache, data: bytes, file: str = "f.mlem", name: str | None = "f") -> Link | dict[str, object]:
    return cache.load_file(data, file, name)


def blob_id(data: bytes) -> bytes:
    """The id git gives a file: where its link is kept."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).digest()


def keep(folder: Path, entries: dict[bytes, object]) -> None:
    (folder / "mr").mkdir(parents=True, exist_ok=True)
    with open(folder / "mr" / "links", "wb") as f:
        marshal.dump((linkcache._HEADER, entries), f)


def same(a: Link, b: Link) -> bool:
    """Equal in every field, those left out of ``==`` (name, file, lines) too."""
    return a == b and (a.name, a.file, dict(a.lines)) == (b.name, b.file, dict(b.lines))


def link_files() -> list[bytes]:
    found = [p.read_bytes() for p in sorted(FIXTURES.rglob("*.mlem"))]
    return [d for d in found if isinstance(linkfile.load(d, "x"), Link)]


def test_a_kept_link_reads_as_a_fresh_read_does(tmp_path: Path) -> None:
    files = link_files()
    assert files, "no MLEM link fixtures"
    files.append(
        b"# a comment first\nlink_type: model\n\nobject_type: link\npath: m.mlem\n"
        b"params:\n  pinned_from: v1\nrev: 0123456789abcdef0123456789abcdef01234567\n"
    )
    first = LinkCache(str(tmp_path))
    fresh = [read(first, d) for d in files]
    first.save()
    again = LinkCache(str(tmp_path))
    for data, was in zip(files, fresh, strict=True):
        kept = read(again, data, "other.mlem", "other")
        assert isinstance(kept, Link) and isinstance(was, Link)
        assert same(kept, linkfile.load_link(data, "other.mlem", "other"))
        assert dict(kept.lines) == dict(was.lines)


def test_a_second_run_does_not_read_the_files_again(registry: Path, project: Path, mr, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("mr.registry.FEW_FILES", 2)  # kept from 2 files on, not 200
    for i in range(5):
        assert mr("link", "models/rf", f"l{i}", "--sp", str(project)).code == 0
    commit_all(registry)
    before = json.loads(mr("show", "--stage", "dev", "--json").out)
    assert (registry / ".git" / "mr" / "links").is_file()
    reads: list[str] = []
    real = linkfile.load

    def counted(data: bytes, file: str, name: str | None = None) -> object:
        reads.append(file)
        return real(data, file, name)

    monkeypatch.setattr(linkfile, "load", counted)
    assert json.loads(mr("show", "--stage", "dev", "--json").out) == before
    assert reads == []
    # a changed file is other bytes: read afresh
    (registry / "l0.mlem").write_text((registry / "l0.mlem").read_text().replace("models/rf", "models/other"))
    commit_all(registry, "change l0")
    after = json.loads(mr("show", "--stage", "dev", "--json").out)
    assert reads == ["dev:l0.mlem"]
    assert {e["name"]: e["path"] for e in after["links"]}["l0"] == "models/other.mlem"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage, not marshal",
        marshal.dumps(("mr-links", 0, "0.0"), 4),
        marshal.dumps((("mr-links", 1, "another version"), {}), 4),
        marshal.dumps([1, 2, 3], 4),
    ],
    ids=["empty", "garbage", "no entries", "other version", "wrong shape"],
)
def test_a_damaged_or_foreign_file_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    data = (FIXTURES / "links").glob("*.mlem").__next__().read_bytes()
    (tmp_path / "mr").mkdir()
    (tmp_path / "mr" / "links").write_bytes(content)
    cache = LinkCache(str(tmp_path))
    assert same(read(cache, data), linkfile.load_link(data, "f.mlem", "f"))  # type: ignore[arg-type]
    cache.save()
    assert LinkCache(str(tmp_path))._load()  # rewritten, readable


@pytest.mark.parametrize(
    "entry",
    [
        42,
        "only\x00three\x00fields",
        "model\x00p.mlem\x00\x00\x00project\x00bad-params\x00",
        "model\x00p.mlem\x00\x00\x00project\x00\x00\x02k\x02notanumber",
        "\x00p.mlem\x00\x00\x00project\x00\x00",
    ],
    ids=["not a string", "too few fields", "params without values", "line not a number", "empty link_type"],
)
def test_an_entry_of_the_wrong_shape_is_read_afresh(tmp_path: Path, entry: object) -> None:
    data = b"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: /p\nrev: main\n"
    keep(tmp_path, {blob_id(data): linkcache._digest(data) + "\x00" + entry if isinstance(entry, str) else entry})
    got = read(LinkCache(str(tmp_path)), data)
    assert same(got, linkfile.load_link(data, "f.mlem", "f"))  # type: ignore[arg-type]


def test_a_value_holding_a_separator_is_never_kept(tmp_path: Path) -> None:
    data = b'link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: "/p\\x01q"\nrev: main\n'
    cache = LinkCache(str(tmp_path))
    link = read(cache, data)
    assert isinstance(link, Link) and link.project == "/p\x01q"
    cache.save()
    assert not (tmp_path / "mr" / "links").exists()


def test_errors_and_other_objects_are_read_each_time(tmp_path: Path) -> None:
    cache = LinkCache(str(tmp_path))
    with pytest.raises(Exception, match="missing required field"):
        read(cache, b"object_type: link\nlink_type: model\n")
    assert isinstance(read(cache, b"object_type: model\n"), dict)
    cache.save()
    assert not (tmp_path / "mr" / "links").exists()


def test_a_file_it_cannot_write_leaves_the_command_alone(tmp_path: Path) -> None:
    (tmp_path / "mr").write_text("a file where the folder would be")
    cache = LinkCache(str(tmp_path))
    read(cache, b"link_type: model\nobject_type: link\npath: m.mlem\n")
    cache.save()  # no error
    assert (tmp_path / "mr").read_text() == "a file where the folder would be"


def test_a_symlink_in_place_of_the_file_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    git_dir = tmp_path / "git"
    (git_dir / "mr").mkdir(parents=True)
    os.symlink(outside, git_dir / "mr" / "links")
    cache = LinkCache(str(git_dir))
    read(cache, b"link_type: model\nobject_type: link\npath: m.mlem\n")
    cache.save()
    assert outside.read_bytes() == b"precious"
    assert not (git_dir / "mr" / "links").is_symlink()


def test_the_kept_links_do_not_grow_without_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linkcache, "SPARE", 3)

    def files(start: int) -> list[bytes]:
        return [f"link_type: model\nobject_type: link\npath: m{i}.mlem\n".encode() for i in range(start, start + 4)]

    for start in (0, 4, 8, 12):
        cache = LinkCache(str(tmp_path))
        for data in files(start):
            read(cache, data)
        cache.save()
        assert len(LinkCache(str(tmp_path))._load()) <= 4 + 3


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["a", "pinned_from", "x y", "k\x01", "ünï"]),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8),
        max_size=3,
    )
)
def test_params_round_trip_whatever_they_hold(params: dict[str, str]) -> None:
    link = Link("model", "m.mlem", "/p", "main", params, "project", "n", "f", {"link_type": 1, "path": 3})
    entry = linkcache._encode(link)
    if entry is None:
        assert any(c in text for text in [*params, *params.values()] for c in "\x00\x01\x02")
        return
    back = linkcache._decode(entry, "n", "f", {})
    assert back is not None and same(back, link)


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_a_fifo_or_symlink_in_place_of_the_file_is_not_read(tmp_path: Path, kind: str) -> None:
    data = b"link_type: model\nobject_type: link\npath: m.mlem\n"
    elsewhere = tmp_path / "elsewhere"
    evil = linkcache._digest(data) + "\x00model\x00evil.mlem\x00\x00\x00project\x00\x00"
    with open(elsewhere, "wb") as f:
        marshal.dump((linkcache._HEADER, {blob_id(data): evil}), f)
    (tmp_path / "git" / "mr").mkdir(parents=True)
    target = tmp_path / "git" / "mr" / "links"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        os.symlink(elsewhere, target)
    link = read(LinkCache(str(tmp_path / "git")), data)  # a FIFO would block here
    assert isinstance(link, Link) and link.path == "m.mlem"


def test_an_entry_under_the_right_id_but_for_other_bytes_is_not_believed(tmp_path: Path) -> None:
    """Found by the SHA-1 git would give the file, but kept only for the bytes whose hash it records:
    a collision of SHA-1 cannot pass one file off as another."""
    data = b"link_type: model\nobject_type: link\npath: models/rf.mlem\n"
    other = linkcache._digest(b"other bytes")
    keep(tmp_path, {blob_id(data): other + "\x00model\x00evil.mlem\x00\x00\x00project\x00\x00"})
    link = read(LinkCache(str(tmp_path)), data)
    assert isinstance(link, Link) and link.path == "models/rf.mlem"


def test_a_blob_read_before_is_not_read_again_and_a_file_with_its_bytes_shares_it(tmp_path: Path) -> None:
    data = b"link_type: model\nobject_type: link\npath: models/rf.mlem\n"
    reads: list[bytes] = []

    def read_blob(oid: bytes) -> bytes:
        reads.append(oid)
        return data

    first = LinkCache(str(tmp_path))
    assert isinstance(first.load_blob(blob_id(data), read_blob, "dev:a.mlem", "a"), Link)
    first.save()
    again = LinkCache(str(tmp_path))
    link = again.load_blob(blob_id(data), read_blob, "prod:a.mlem", "a")
    assert reads == [blob_id(data)]  # once, by the first run
    assert isinstance(link, Link) and (link.file, link.path) == ("prod:a.mlem", "models/rf.mlem")
    assert same(read(again, data, "a.mlem", "a"), linkfile.load_link(data, "a.mlem", "a"))  # type: ignore[arg-type]
    assert len(again._used) == 1


def test_a_handful_of_files_is_read_without_loading_what_was_kept(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("link", "models/rf", "a", "--sp", str(project)).code == 0
    commit_all(registry)
    assert mr("show", "--stage", "dev").code == 0
    assert mr("verify", "-q").code == 0
    assert not (registry / ".git" / "mr").exists()
