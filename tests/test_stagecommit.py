"""mr.stagecommit: diffs, review branch names, merge-request URLs and the commit path's refusals,
checked on exact values and messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api, promotion, stagecommit
from mr.errors import GitError, RegistryError, RemoteError, UsageError
from mr.promotion import Promotion
from mr.registry import Registry
from mr.stagecommit import diff, merge_request_url, review_branch_name
from tests.helpers import commit_all, git, tag


def test_diff_of_a_new_a_deleted_and_a_changed_file() -> None:
    assert diff("s", "a.mlem", None, b"x\ny\n") == "--- /dev/null\n+++ s:a.mlem\n@@ -0,0 +1,2 @@\n+x\n+y\n"
    assert diff("s", "a.mlem", b"x\n", None) == "--- s:a.mlem\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    assert diff("s", "a.mlem", b"x\ny\n", b"x\nz\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
    assert diff("s", "a.mlem", b"", b"x\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -0,0 +1 @@\n+x\n"
    assert diff("s", "a.mlem", b"\xff\n", b"x\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -1 +1 @@\n-\ufffd\n+x\n"
    assert diff("s", "a.mlem", b"x\n", b"x\n") == ""


@pytest.mark.parametrize(
    ("verb", "stage", "names", "expected"),
    [
        ("promote", "prod", ["a", "b/c"], "promote/prod/a+b-c"),
        ("promote", "prod", [], "promote/prod/links"),
        ("promote", "prod", ["a..b", "x.lock", "c@{d", "e f", "/g/"], "promote/prod/a-b+x.lock+c-d+e-f+-g"),
        ("p", "s", ["x.lock"], "p/s/x"),
        ("p", "s", ["-x-"], "p/s/-x"),
        ("p", "s/", ["x"], "p/s/x"),
        ("p", "s.lock", ["x"], "p/s-/x"),
        ("retire", "s", ["a" * 200], "retire/s/" + "a" * 111),
        ("promote", "s", ["a." + "b" * 115 + "/c"], "promote/s/a." + "b" * 108),
        ("promote", "s", ["a" * 110 + "/-b"], "promote/s/" + "a" * 110),
    ],
)
def test_review_branch_name(verb: str, stage: str, names: list[str], expected: str) -> None:
    assert review_branch_name(verb, stage, names) == expected


GITHUB = "https://{}/{}/compare/prod/x...promote/prod/a%2Bb%20c?expand=1"
GITLAB = (
    "https://{}/{}/-/merge_requests/new?merge_request%5Bsource_branch%5D=promote%2Fprod%2Fa%2Bb%20c"
    "&merge_request%5Btarget_branch%5D=prod%2Fx"
)


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/org/repo.git", GITHUB.format("github.com", "org/repo")),
        ("http://github.com/o/r", GITHUB.format("github.com", "o/r")),
        ("git@github.com:org/repo.git", GITHUB.format("github.com", "org/repo")),
        ("ssh://github.com/o/r", GITHUB.format("github.com", "o/r")),
        ("ssh://git@github.example.com:22/org/repo/", GITHUB.format("github.example.com", "org/repo")),
        ("https://github.com:8443/o/r", GITHUB.format("github.com", "o/r")),
        ("https://gitlab.com/g/sub/repo", GITLAB.format("gitlab.com", "g/sub/repo")),
        ("https://u:p@gitlab.example.org/g/r.git", GITLAB.format("gitlab.example.org", "g/r")),
        ("https://bitbucket.org/o/r", None),
        ("https://mygithub.com/o/r", None),
        ("ftp://github.com/o/r", None),
        ("/local/path", None),
    ],
)
def test_merge_request_url(remote: str, expected: str | None) -> None:
    assert merge_request_url(remote, "promote/prod/a+b c", "prod/x") == expected


# --- the commit path, on a real registry ---------------------------------------------------------


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    """dev holds link a to the project."""
    api.link("models/rf", source_project=str(project), target="a")
    commit_all(registry)
    return registry


def move(root: Path, branch: str) -> str:
    """Another writer's commit on ``branch`` (not checked out): same tree, new commit."""
    new = git(root, "commit-tree", f"{branch}^{{tree}}", "-p", branch, "-m", "another writer")
    git(root, "update-ref", f"refs/heads/{branch}", new)
    return new


def test_a_review_branch_may_not_be_a_stage_nor_checked_out(linked: Path) -> None:
    for name in ("staging", "production"):
        with pytest.raises(UsageError) as e:
            api.promote(["a"], "staging", branch=name)
        assert str(e.value) == f"--branch {name}: that is a stage; a review branch must be a new branch"
    git(linked, "checkout", "-q", "-b", "review")
    with pytest.raises(UsageError) as e:
        api.promote(["a"], "staging", source="dev", branch="review")
    assert str(e.value) == f"--branch review: that branch is checked out in {linked}"


def test_a_review_branch_holds_the_commit_and_the_stage_stays(linked: Path) -> None:
    staging = git(linked, "rev-parse", "staging")
    result = api.promote(["a"], "staging", branch="")
    assert (result.branch, result.commit) == ("promote/staging/a", git(linked, "rev-parse", "promote/staging/a"))
    assert git(linked, "rev-parse", "promote/staging/a^") == staging == git(linked, "rev-parse", "staging")
    # nothing to change: no branch, no commit
    api.promote(["a"], "staging")
    nothing = api.promote(["a"], "staging", branch="again")
    assert (nothing.commit, nothing.branch) == (None, None)
    assert git(linked, "branch", "--list", "again") == ""


def test_a_stage_checked_out_in_another_work_tree_is_refused(linked: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(linked, "worktree", "add", "-q", str(other), "staging")
    tip = git(linked, "rev-parse", "staging")
    with pytest.raises(RegistryError) as e:
        api.promote(["a"], "staging")
    assert str(e.value) == (
        f"staging is checked out in the work tree {other}; run mr from there, or check out another branch in it"
    )
    assert git(linked, "rev-parse", "staging") == tip


def test_uncommitted_changes_on_a_checked_out_stage_are_refused(linked: Path, project: Path) -> None:
    api.promote(["a"], "staging")
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), rev="v1", target="a", force=True)
    commit_all(linked, "a to v1")
    git(linked, "checkout", "-q", "staging")
    (linked / "a.mlem").write_text((linked / "a.mlem").read_text() + "# local edit\n")
    tip = git(linked, "rev-parse", "staging")
    with pytest.raises(RegistryError) as e:
        api.promote(["a"], "staging", source="dev")
    assert str(e.value) == "a.mlem: uncommitted changes on staging, which is checked out; commit or stash them first"
    assert git(linked, "rev-parse", "staging") == tip


def test_a_branch_that_keeps_moving_is_given_up_after_eight_attempts(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stagecommit.time, "sleep", lambda s: None)
    moved: list[str] = []
    monkeypatch.setattr(stagecommit, "before_swap", lambda plan: moved.append(move(linked, "staging")))
    with pytest.raises(GitError) as e:
        api.promote(["a"], "staging")
    assert str(e.value) == f"staging kept moving while committing ({stagecommit.ATTEMPTS} attempts); try again"
    assert len(moved) == stagecommit.ATTEMPTS == 8
    assert git(linked, "rev-parse", "staging") == moved[-1]


def test_a_lock_left_on_the_branch_is_named(linked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stagecommit.time, "sleep", lambda s: None)
    monkeypatch.setattr(stagecommit, "ATTEMPTS", 2)
    lock = linked / ".git" / "refs" / "heads" / "staging.lock"

    def race(plan: object) -> None:
        move(linked, "staging")

    replans: list[str] = []

    def replan(plan: Promotion) -> Promotion:
        replans.append(plan.base)
        if len(replans) == 2:  # after the last attempt failed
            lock.write_text("")
        return promotion.replan(reg, plan)

    monkeypatch.setattr(stagecommit, "before_swap", race)
    reg = Registry.open(str(linked))
    first = promotion.plan(reg, ["a"], "staging")
    with pytest.raises(GitError) as e:
        stagecommit.apply(reg, first, replan)
    assert str(e.value) == (
        f"{lock} exists: another git process is updating staging, or one crashed; "
        "if none is running, remove the file and try again"
    )


@pytest.fixture
def shared(linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``linked`` with a bare remote ``origin`` holding every stage, and a teammate's clone of it: its path."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(linked), str(bare))
    git(linked, "remote", "add", "origin", str(bare))
    git(linked, "fetch", "-q", "origin")
    bob = tmp_path / "bob"
    git(tmp_path, "clone", "-q", str(bare), str(bob))
    monkeypatch.setattr(stagecommit.time, "sleep", lambda s: None)
    return bob


def bob_pushes(bob: Path) -> str:
    git(bob, "fetch", "-q", "origin")
    new = git(bob, "commit-tree", "origin/staging^{tree}", "-p", "origin/staging", "-m", "bob")
    git(bob, "push", "-q", "origin", f"{new}:refs/heads/staging")
    return new


def test_a_remote_that_keeps_moving_is_given_up(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stagecommit, "ATTEMPTS", 2)
    pushed: list[str] = []
    monkeypatch.setattr(stagecommit, "before_push", lambda plan: pushed.append(bob_pushes(shared)))
    with pytest.raises(RemoteError) as e:
        api.promote(["a"], "staging", push="origin")
    assert str(e.value) == "staging kept moving on origin while pushing (2 attempts); try again"
    assert len(pushed) == 2


def test_a_stage_moved_here_while_pushing_is_not_taken_back(
    shared: Path, linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def race(plan: object) -> None:
        bob_pushes(shared)
        move(linked, "staging")

    monkeypatch.setattr(stagecommit, "before_push", race)
    with pytest.raises(GitError) as e:
        api.promote(["a"], "staging", push="origin")
    mine = git(linked, "rev-parse", "staging^")
    assert str(e.value) == f"staging moved here while pushing; the commit {mine[:12]} is on it but not pushed"
