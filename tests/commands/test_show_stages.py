from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from mr.errors import RegistryError
from mr.trailers import parse_trailers, promotions_of
from tests.helpers import git, tag


@pytest.fixture
def promoted(registry: Path, project: Path) -> Path:
    """a on every stage (pinned on production), b on dev and staging, c on dev only."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    api.link("models/rf", source_project=str(project), rev="v1", target="b")
    api.link("models/rf", source_project=str(project), target="c")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["a", "b"], "staging", message="first")
    api.promote(["a"], "production")
    return registry


def test_matrix(promoted: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    m = api.stage_matrix()
    assert m.stages == ("dev", "staging", "production")
    assert list(m.rows) == ["a", "b", "c"]
    assert [x is not None for x in m.rows["b"]] == [True, True, False]
    r = mr("show", "--all-stages")
    sha = git(project, "rev-parse", "HEAD")
    lines = r.out.splitlines()
    assert lines[0].split() == ["name", "dev", "staging", "production"]
    assert lines[1].split() == ["a", "main", "main", f"main@{sha[:12]}", "*"]
    assert lines[3].split() == ["c", "main", "-", "*", "-"]
    assert lines[-1] == "* differs from the stage before; retired: taken off by mr retire; -: never there"
    data = json.loads(mr("show", "--all-stages", "--json").out)
    assert data["stages"] == ["dev", "staging", "production"]
    a = data["links"][0]
    assert (
        a["name"] == "a" and a["stages"]["production"]["pinned_from"] == "main" and a["stages"]["dev"]["rev"] == "main"
    )
    assert data["links"][2]["stages"]["staging"] is None


def test_diff(promoted: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    d = api.stage_diff("staging", "production")
    assert [(c.name, c.kind) for c in d.changes] == [("a", "changed"), ("b", "removed")]
    sha = git(project, "rev-parse", "HEAD")
    assert d.changes[0].changed_fields() == {"rev": ("main", sha), "pinned_from": (None, "main")}
    r = mr("show", "--diff", "dev", "staging", "--patch")
    assert r.out.splitlines()[:3] == ["--- dev", "+++ staging", "- c: model models/rf.mlem in ../models at main"]
    r = mr("show", "--diff", "staging", "production", "--patch")
    assert "@@ a" in r.out and f"+   rev: {sha}" in r.out and "-   rev: main" in r.out
    data = json.loads(mr("show", "--diff", "staging", "production", "--json").out)
    assert data["changes"][0]["fields"]["rev"] == {"from": "main", "to": sha}
    assert mr("show", "--diff", "dev", "dev").out.strip() == "dev and dev hold the same links"
    assert mr("show", "--diff", "dev", "nope").code == 1


def test_history(promoted: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    h = api.link_history("a")
    assert [s for s, x in h.stages if x] == ["dev", "staging", "production"]
    sha = git(project, "rev-parse", "HEAD")
    assert [(e.stage, e.kind, e.source, e.rev, e.rev_before, e.rev_after) for e in h.history] == [
        ("production", "promotion", "staging", "main", None, f"main@{sha}"),
        ("staging", "promotion", "dev", "main", None, "main"),
        ("dev", "direct change", None, None, None, "main"),
    ]
    assert h.history[0].author == "Test User" and h.history[0].sha == sha
    assert h.history[0].commit == git(promoted, "rev-parse", "production")
    assert h.history[2].commit == git(promoted, "rev-parse", "dev")
    r = mr("show", "a")
    lines = r.out.splitlines()
    start = lines.index("history, newest first:")
    assert (
        lines[start + 1].split()[3:]
        == [
            "production",
            "promotion",
            "(absent)",
            "->",
            f"main@{sha[:12]}",  # the version: pinned from a branch
            "from",
            f"staging@{git(promoted, 'rev-parse', 'staging')[:7]}",
            "by",
            "Test",
            "User",
            "commit",
            git(promoted, "rev-parse", "production")[:7],
        ]
    )
    assert lines[start + 3].split()[3:7] == ["dev", "direct", "change", "(absent)"]
    data = json.loads(mr("show", "b", "--json").out)
    assert data["stages"]["production"] is None
    assert [(e["stage"], e["kind"], e["rev_before"], e["rev_after"]) for e in data["history"]] == [
        ("staging", "promotion", None, "v1"),
        ("dev", "direct change", None, "v1"),
    ]
    c = api.link_history("c")
    assert [(e.stage, e.kind) for e in c.history] == [("dev", "direct change")]
    with pytest.raises(RegistryError, match="no link nope on any stage"):
        api.link_history("nope")


def test_trailer_parsing() -> None:
    msg = "Promote a, b to prod\n\nbody text\n\nMr-From: staging abc\nMr-Link: a\nMr-Rev: main 111\nMr-Link: b\nMr-Rev: v1 222\n"
    assert parse_trailers(msg)[0] == ("Mr-From", "staging abc")
    assert promotions_of(msg, "b") == [("staging", "abc", "v1", "222")]
    assert promotions_of(msg, "c") == []
    assert promotions_of("no trailers here\n", "a") == []
    assert promotions_of("subject\n\nnot: a trailer block\nbecause this line has none\n", "a") == []


def test_views_conflict(mr, registry: Path) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "a", "--all-stages").code == 2
    assert mr("show", "--all-stages", "--stage", "dev").code == 2


def test_diff_of_two_revisions_says_what_a_push_changed(promoted: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    before = git(promoted, "rev-parse", "production")
    git(promoted, "config", "core.logAllRefUpdates", "always")
    api.promote(["b"], "production")
    after = git(promoted, "rev-parse", "production")
    sha = git(project, "rev-parse", "v1^{commit}")
    for old, new in [("production~1", "production"), (before, after), ("production@{1}", "production")]:
        r = mr("show", "--diff", old, new, "--json")
        assert r.code == 0, r.err
        data = json.loads(r.out)
        assert (data["from"], data["to"], data["from_commit"], data["to_commit"]) == (old, new, before, after)
        assert [(c["name"], c["change"]) for c in data["changes"]] == [("b", "added")]
        b = data["changes"][0]["to"]
        assert (b["project"], b["path"], b["rev"], b["pinned_from"], b["commit"]) == (
            "../models",
            "models/rf.mlem",
            sha,
            "v1",
            sha,
        )
    r = mr("show", "--diff", "production~1", "production")
    assert r.out.splitlines()[:2] == [
        "from production~1 to production:",
        "  b: (absent) -> v1 (model models/rf.mlem in ../models at v1@" + sha[:7] + ")",
    ]
    r = mr("show", "--diff", "production~1", "production", "--patch")
    assert r.out.splitlines()[:3] == [
        "--- production~1",
        "+++ production",
        f"+ b: model models/rf.mlem in ../models at v1@{sha[:7]}",
    ]


@pytest.mark.parametrize("rev", ["production~9", "nope", "-x", "a\nb"])
def test_diff_of_something_that_is_no_revision_is_one_clear_error(promoted: Path, mr, rev: str) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", "--diff", rev, "production")
    assert r.code in (1, 2) and "Traceback" not in r.err
    if r.code == 1:
        assert "neither a stage (dev, staging, production) nor a revision of" in r.err
        assert "git fetch" not in r.err and len(r.err.splitlines()) == 1


def test_diff_reads_only_what_differs(promoted: Path, mr, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A file both sides share is no difference, even an unreadable one; what differs is read and,
    when it is a symlink or unreadable, reported (exit 1)."""
    from mr import linkfile
    from tests.plumbing import commit_on as plumb

    broken = b"object_type: link\nlink_type: model\n"  # no path
    for stage in ("dev", "staging"):
        plumb(promoted, stage, {"broken.mlem": broken})
    reads: list[str] = []
    real = linkfile.load

    def counted(data: bytes, file: str, name: str | None = None) -> object:
        reads.append(file)
        return real(data, file, name)

    monkeypatch.setattr(linkfile, "load", counted)
    r = mr("show", "--diff", "dev", "staging", "--json")
    assert r.code == 0, r.err
    assert [c["name"] for c in json.loads(r.out)["changes"]] == ["c"]
    assert "broken" not in r.out + r.err
    assert not any("broken" in f for f in reads)
    plumb(promoted, "staging", {"broken.mlem": broken + b"path: [1]\n", "sneaky.mlem": ("link", "/etc/passwd")})
    r = mr("show", "--diff", "dev", "staging")
    assert r.code == 1
    assert "staging:broken.mlem:3: error: path must be a string" in r.err
    assert "staging:sneaky.mlem" in r.err and "symlink" in r.err
    assert "dev:broken.mlem" in r.err  # the other side of a changed file is read too
