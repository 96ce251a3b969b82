"""Cases found by review: each once did the wrong thing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api, linkfile
from mr.errors import LinkFileError, MrError, RegistryError, UsageError
from tests.helpers import git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn"], "staging")
    return registry


def test_force_never_replaces_a_stage_or_checked_out_branch(linked: Path) -> None:
    prod = git(linked, "rev-parse", "production")
    for branch in ("production", "staging", "dev"):
        with pytest.raises(UsageError):
            api.promote(["churn"], "production", branch=branch, force=True)
    git(linked, "branch", "feature")
    git(linked, "checkout", "-q", "feature")
    with pytest.raises(UsageError, match="checked out"):
        api.promote(["churn"], "production", source="staging", branch="feature", force=True)
    assert git(linked, "rev-parse", "production") == prod


def test_alias_is_checked_against_the_target_stage(linked: Path) -> None:
    api.link("churn", target="best", follow_links=False)  # an alias to churn.mlem
    git(linked, "add", "-A")
    git(linked, "commit", "-qm", "alias")
    api.promote(["best"], "staging")  # churn is on staging: fine
    with pytest.raises(MrError, match="nothing promoted") as e:
        api.promote(["best"], "production")  # production has no churn.mlem
    assert "churn.mlem not found" in str(e.value.problems[0])  # type: ignore[attr-defined]
    # promoted together, the alias sees the link it points to
    result = api.promote(["best", "churn"], "production")
    text = git(linked, "show", "production:best.mlem")
    assert "rev:" not in text and "pinned_from" not in text  # an alias is never pinned
    assert "Mr-Rev: (alias) -" in git(linked, "log", "-1", "--format=%B", result.commit)
    assert api.verify(stage="production").ok


def test_fast_reader_leaves_unusual_characters_to_ruamel() -> None:
    sneaky = "link_type: model\nobject_type: link\npath: m.mlem\nrev: v1\n# reviewed\u2028rev: other\n"
    assert linkfile._fast_mapping(sneaky) is None
    with pytest.raises(LinkFileError):
        # YAML readers take the separator as a line break (PyYAML, MLEM's
        # reader, would see a second rev); mr refuses the file outright
        linkfile.load(sneaky.encode(), "f.mlem")
    for ch in ("\x85", "\x01", "\x7f", "\x9b", "\ufffe", "\u2029"):
        assert linkfile._fast_mapping(f"link_type: model\nobject_type: link\npath: 'a{ch}b'\n") is None
    assert linkfile._fast_mapping("null: 1\nobject_type: model\n") is None


def test_push_is_retried_when_nothing_is_left_to_promote(linked: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(linked, "remote", "add", "origin", str(remote))
    git(linked, "push", "-q", "origin", "dev", "staging", "production")
    api.promote(["churn"], "production")  # promoted here, not pushed
    r = mr("promote", "churn", "--to", "production", "--push", "origin")
    assert r.code == 0 and "Nothing to promote" in r.out and "pushed production" in r.out
    assert git(remote, "rev-parse", "production") == git(linked, "rev-parse", "production")


def test_target_checked_out_in_a_linked_worktree_is_refused(linked: Path, project: Path, tmp_path: Path) -> None:
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True)
    git(linked, "commit", "-qam", "v1")
    git(linked, "worktree", "add", "-q", str(tmp_path / "wt"), "staging")
    tip = git(linked, "rev-parse", "staging")
    with pytest.raises(RegistryError, match="checked out in the work tree"):
        api.promote(["churn"], "staging")
    assert git(linked, "rev-parse", "staging") == tip


def test_autocrlf_checkout_is_not_dirty(linked: Path, project: Path) -> None:
    git(linked, "config", "core.autocrlf", "true")
    git(linked, "checkout", "-q", "staging")
    for f in linked.glob("*.mlem"):
        f.unlink()
    git(linked, "checkout", "-q", "--", ".")
    git(linked, "checkout", "-q", "dev")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True)
    git(linked, "commit", "-qam", "v1")
    git(linked, "checkout", "-q", "staging")
    assert git(linked, "status", "--porcelain") == ""
    assert api.promote(["churn"], "staging", source="dev").commit


def test_work_tree_failure_after_commit_says_what_happened(linked: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="fresh")
    git(linked, "add", "-A")
    git(linked, "commit", "-qm", "fresh")
    git(linked, "checkout", "-q", "staging")
    (linked / "fresh.mlem").mkdir()  # a folder in the way
    tip = git(linked, "rev-parse", "staging")
    with pytest.raises(RegistryError, match="uncommitted changes"):
        api.promote(["fresh"], "staging", source="dev")
    assert git(linked, "rev-parse", "staging") == tip


def test_link_force_keeps_the_owners_params(linked: Path, project: Path) -> None:
    f = linked / "churn.mlem"
    f.write_text(f.read_text() + "params:\n  owner: alice\n")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True, pin=True)
    link = linkfile.load_link(f.read_bytes(), "churn.mlem")
    assert link.params == {"owner": "alice", "pinned_from": "v1.0.0"}
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True)
    assert linkfile.load_link(f.read_bytes(), "churn.mlem").params == {"owner": "alice"}


def test_diff_shows_params_and_field_name_changes(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    text = git(linked, "show", "dev:churn.mlem")
    (linked / "churn.mlem").write_text(text.replace("project:", "repo:") + "\nparams:\n  owner: alice\n")
    git(linked, "commit", "-qam", "repo field")
    r = mr("show", "--diff", "staging", "dev")
    assert "+   params: owner=alice" in r.out and "+   field: repo" in r.out


def test_empty_name_and_alias_rev(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "").code == 2
    api.link("churn", target="best", follow_links=False)
    assert mr("show", "best", "--field", "rev").out == "dev\n"


def test_outdated_with_nothing_checkable_fails(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "r.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: git://127.0.0.1:1/none\nrev: v1\n"
    )
    r = mr("show", "--outdated", "--offline")
    assert r.code == 1 and "no link could be checked" in r.out
