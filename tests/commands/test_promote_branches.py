"""Promotion against the branches around it: stages, checked-out and linked work trees, aliases, pushes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import api
from mr.errors import Refused, RegistryError, UnsafePath, UsageError, WorkTreeNotUpdated
from tests.helpers import git, tag, with_seams


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
    with pytest.raises(Refused, match="nothing promoted") as e:
        api.promote(["best"], "production")  # production has no churn.mlem
    assert "churn.mlem not found" in str(e.value.problems[0])
    # promoted together, the alias sees the link it points to
    result = api.promote(["best", "churn"], "production")
    text = git(linked, "show", "production:best.mlem")
    assert "rev:" not in text and "pinned_from" not in text  # an alias is never pinned
    assert "Mr-Rev: (alias) -" in git(linked, "log", "-1", "--format=%B", result.commit)
    assert api.verify(stage="production").ok


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
    tip = git(linked, "rev-parse", "staging")
    elsewhere = linked.parent / "elsewhere.mlem"

    def in_the_way(plan: object) -> None:
        # after the checks, before the commit: the work tree gets a symlink
        # where the promoted file goes, so updating it fails after the commit
        os.symlink(elsewhere, linked / "fresh.mlem")

    with pytest.raises(WorkTreeNotUpdated) as e:
        with_seams("promote", ["fresh"], "staging", source="dev", before_swap=in_the_way)
    new = git(linked, "rev-parse", "staging")
    assert new != tip and "fresh.mlem" in git(linked, "ls-tree", "--name-only", new)  # the commit landed
    assert e.value.commit == new and isinstance(e.value.error, UnsafePath)
    assert str(e.value).startswith(f"staging is promoted (commit {new[:12]}), but fresh.mlem is a symlink")
    assert (linked / "fresh.mlem").is_symlink() and not elsewhere.exists()  # nothing written through it
