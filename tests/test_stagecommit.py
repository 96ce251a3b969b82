"""mr.stagecommit: diffs, review branch names, merge-request URLs and the commit path's refusals,
checked on exact values and messages."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mr import api, stagecommit
from mr.commands import promote as promotion
from mr.errors import GitError, NotPushed, RegistryError, RemoteError, UsageError
from mr.registry import Registry
from mr.results import Promotion, file_diff
from mr.stagecommit import merge_request_url, review_branch_name
from tests.helpers import commit, commit_all, git, tag, with_seams


def test_diff_of_a_new_a_deleted_and_a_changed_file() -> None:
    assert file_diff("s", "a.mlem", None, b"x\ny\n") == "--- /dev/null\n+++ s:a.mlem\n@@ -0,0 +1,2 @@\n+x\n+y\n"
    assert file_diff("s", "a.mlem", b"x\n", None) == "--- s:a.mlem\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    assert file_diff("s", "a.mlem", b"x\ny\n", b"x\nz\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
    assert file_diff("s", "a.mlem", b"", b"x\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -0,0 +1 @@\n+x\n"
    assert file_diff("s", "a.mlem", b"\xff\n", b"x\n") == "--- s:a.mlem\n+++ s:a.mlem\n@@ -1 +1 @@\n-\ufffd\n+x\n"
    assert file_diff("s", "a.mlem", b"x\n", b"x\n") == ""


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
        # cut at 120 on a "-", a "." or a "/": those are stripped off the end, and only the end
        ("promote", "s", ["a" * 109 + "-b"], "promote/s/" + "a" * 109),
        ("promote", "s", ["a" * 109 + ".b"], "promote/s/" + "a" * 109),
        ("p" * 119, "s", ["x"], "p" * 119),
        ("promote", "s", ["-" + "a" * 108 + ".b"], "promote/s/-" + "a" * 108),
        # upper case stays; so does a name ending in X
        ("Promote", "Prod", ["Churn", "X"], "Promote/Prod/Churn+X"),
        # nor may it start with "-", "." or "/"
        ("-p", "s", ["x"], "p/s/x"),
        ("..p", "s", ["x"], "p/s/x"),
        (".p", "s", ["x"], "p/s/x"),
        ("", "s", ["x"], "s/x"),
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
        ("https://user:token@github.com/o/r.git", GITHUB.format("github.com", "o/r")),
        ("git@gitlab.com:g/r.git", GITLAB.format("gitlab.com", "g/r")),
        ("ssh://git@gitlab.example.org:2222/g/r.git/", GITLAB.format("gitlab.example.org", "g/r")),
        ("https://bitbucket.org/o/r", None),
        ("https://example.com/github.com/o/r", None),
        ("git@example.org:o/r.git", None),
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


class Clock:
    """``stagecommit.time``: sleeps are listed, and each reading of the clock is ``step`` seconds on."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_a_branch_others_keep_landing_on_is_retried_until_the_promotion_lands(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every lost race is another writer's commit landing: it does not count against ATTEMPTS
    clock = Clock()
    monkeypatch.setattr(stagecommit, "time", clock)
    monkeypatch.setattr(stagecommit, "random", SimpleNamespace(uniform=lambda a, b: (a + b) * 10))
    moved: list[str] = []

    def another_writer(plan: object) -> None:
        if len(moved) < stagecommit.ATTEMPTS + 3:
            moved.append(move(linked, "staging"))

    result = with_seams("promote", ["a"], "staging", before_swap=another_writer)
    assert len(moved) == 11
    assert git(linked, "rev-parse", "staging^") == moved[-1]
    assert git(linked, "rev-parse", "staging") == result.commit
    # between 10 and 50 ms (here uniform returns 10 times the sum of its bounds), longer at each try up to the 8th
    assert clock.sleeps == [pytest.approx(0.6 * min(n, 8)) for n in range(1, 12)]


def test_a_branch_that_keeps_moving_is_given_up_after_busy_seconds(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(step=10.0)  # read once when applying starts, then once before each try
    monkeypatch.setattr(stagecommit, "time", clock)
    moved: list[str] = []
    with pytest.raises(GitError) as e:
        with_seams("promote", ["a"], "staging", before_swap=lambda plan: moved.append(move(linked, "staging")))
    # the deadline is at 70 s: the tries start at 20, 30, ..., 70 s (not past it yet), none at 80
    assert str(e.value) == "staging kept moving while committing (6 attempts); try again"
    assert stagecommit.BUSY_SECONDS == 60.0
    assert len(moved) == 6
    assert git(linked, "rev-parse", "staging") == moved[-1]


def test_a_lock_left_on_the_branch_is_named_after_attempts_in_a_row(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stagecommit, "time", Clock())
    lock = linked / ".git" / "refs" / "heads" / "staging.lock"
    replans: list[str] = []

    def replan(plan: Promotion) -> Promotion:
        replans.append(plan.base)
        lock.write_text("")  # nothing can land from now on
        return promotion.replan(reg, plan)

    seams = stagecommit.Seams(before_swap=lambda plan: replans or move(linked, "staging"))
    reg = Registry.open(str(linked))
    first = promotion.plan_on(reg, ["a"], "staging")
    with pytest.raises(GitError) as e:
        stagecommit.apply(reg, first, replan, seams=seams)
    assert str(e.value) == (
        f"{lock} exists: another git process is updating staging, or one crashed; "
        "if none is running, remove the file and try again"
    )
    # one try lost to a writer that landed, then ATTEMPTS in a row with nothing landed
    assert len(replans) == 1 + stagecommit.ATTEMPTS
    assert replans[0] == first.base and len(set(replans[1:])) == 1 and replans[1] != first.base


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
    bob_first = stagecommit.Seams(before_push=lambda plan: pushed.append(bob_pushes(shared)))
    clock = Clock()
    sleeps = clock.sleeps
    monkeypatch.setattr(stagecommit, "time", clock)
    monkeypatch.setattr(stagecommit, "random", SimpleNamespace(uniform=lambda a, b: (a + b) * 10))
    with pytest.raises(RemoteError) as e:
        with_seams("promote", ["a"], "staging", push="origin", before_push=bob_first.before_push)
    assert str(e.value) == "staging kept moving on origin while pushing (2 attempts); try again"
    assert len(pushed) == 2
    # between 10 and 50 ms (here uniform returns 10 times the sum of its bounds), longer at each attempt
    assert sleeps == [pytest.approx(0.6), pytest.approx(1.2)]


def test_a_stage_moved_here_while_pushing_is_not_taken_back(
    shared: Path, linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def race(plan: object) -> None:
        bob_pushes(shared)
        move(linked, "staging")

    with pytest.raises(GitError) as e:
        with_seams("promote", ["a"], "staging", push="origin", before_push=race)
    mine = git(linked, "rev-parse", "staging^")
    assert str(e.value) == f"staging moved here while pushing; the commit {mine[:12]} is on it but not pushed"


def relink(linked: Path, project: Path, rev: str) -> None:
    """dev's link a moves to a new tag ``rev`` of the project: something new to promote."""
    tag(project, rev)
    api.link("models/rf", source_project=str(project), rev=rev, target="a", force=True)
    commit_all(linked, f"a to {rev}")


def test_a_push_to_a_path_keeps_the_pushed_tip_in_a_ref_of_mr(
    shared: Path, linked: Path, project: Path, tmp_path: Path
) -> None:
    # every ref update is logged, so the reflogs say who moved what
    git(linked, "config", "core.logAllRefUpdates", "always")
    bare = str(tmp_path / "origin.git")
    first = api.promote(["a"], "staging", push=bare)
    assert first.commit is not None and first.pushed_to == bare
    assert first.commit == git(linked, "rev-parse", "staging") == git(bare, "rev-parse", "staging")
    # the ref --push PATH is fetched into holds what was pushed, as a remote-tracking branch would
    assert git(linked, "rev-parse", "refs/mr/fetched/staging") == first.commit
    assert git(linked, "reflog", "-1", "--format=%gs", "refs/mr/fetched/staging") == "mr: pushed"
    # and the next push builds on it
    relink(linked, project, "v1")
    second = api.promote(["a"], "staging", push=bare)
    assert second.plan.base == first.commit and second.commit is not None
    assert git(linked, "rev-parse", "refs/mr/fetched/staging") == second.commit == git(bare, "rev-parse", "staging")
    assert git(linked, "rev-parse", "staging^") == first.commit
    # a named remote's remote-tracking branch, moved by git push already, is left as it is
    relink(linked, project, "v2")
    third = api.promote(["a"], "staging", push="origin")
    assert third.commit == git(linked, "rev-parse", "refs/remotes/origin/staging") == git(bare, "rev-parse", "staging")
    assert "mr: pushed" not in git(linked, "reflog", "--format=%gs", "refs/remotes/origin/staging").splitlines()
    assert (
        git(linked, "for-each-ref", "--format=%(refname)", "refs/mr/") == "refs/mr/fetched/dev\nrefs/mr/fetched/staging"
    )


def test_sign_false_reaches_the_pushed_commit_and_the_review_branch(shared: Path, linked: Path, tmp_path: Path) -> None:
    # git would sign (commit.gpgSign) with a program that always fails: sign=False must not try
    git(linked, "config", "commit.gpgSign", "true")
    git(linked, "config", "gpg.program", "false")
    with pytest.raises(GitError):
        api.promote(["a"], "staging", branch="signed")
    review = api.promote(["a"], "staging", branch="", sign=False)
    assert review.branch == "promote/staging/a" and review.commit is not None
    assert git(linked, "log", "-1", "--format=%G?", review.commit) == "N"
    before = git(linked, "rev-parse", "staging")
    with pytest.raises(GitError):
        api.promote(["a"], "staging", push="origin")
    assert git(linked, "rev-parse", "staging") == before
    done = api.promote(["a"], "staging", push="origin", sign=False)
    assert done.commit == git(linked, "rev-parse", "staging") == git(tmp_path / "origin.git", "rev-parse", "staging")
    assert git(linked, "log", "-1", "--format=%G?", "staging") == "N"


def test_a_review_branch_that_exists_is_replaced_only_when_forced(linked: Path) -> None:
    git(linked, "branch", "review", "dev")
    reg = Registry.open(str(linked))
    plan = promotion.plan_on(reg, ["a"], "staging")
    with pytest.raises(GitError) as e:
        stagecommit.apply_to_branch(reg, plan, "review")
    assert str(e.value) == "branch review exists; pass --force to replace it"
    assert git(linked, "rev-parse", "review") == git(linked, "rev-parse", "dev")
    done = stagecommit.apply_to_branch(reg, plan, "review", force=True)
    assert done.commit == git(linked, "rev-parse", "review") and git(linked, "rev-parse", "review^") == plan.base


def test_a_plan_with_nothing_to_change_makes_no_review_branch(linked: Path) -> None:
    api.promote(["a"], "staging")
    reg = Registry.open(str(linked))
    plan = promotion.plan_on(reg, ["a"], "staging")
    assert plan.changes == ()
    done = stagecommit.apply_to_branch(reg, plan, "review")
    assert (done.plan, done.commit, done.branch) == (plan, None, None)
    assert git(linked, "branch", "--list", "review") == ""


def test_a_refused_push_leaves_the_stage_as_it_was(shared: Path, linked: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    bare = tmp_path / "origin.git"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    remote = git(linked, "ls-remote", "origin", "refs/heads/staging")
    before = git(linked, "for-each-ref")
    base = git(linked, "rev-parse", "staging")
    refused = (
        f"mr: error: staging was not promoted: {bare}: refused the push: pre-receive hook declined; "
        f"staging here is back at {base[:12]}, nothing was changed\n"
    )
    for _ in range(2):
        # the commit made for the push is taken back: the next promote is not blocked by it
        r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
        assert (r.code, r.err) == (1, refused)
        assert git(linked, "ls-remote", "origin", "refs/heads/staging") == remote
        assert git(linked, "for-each-ref") == before
    # once the remote takes pushes again, the promotion lands
    hook.unlink()
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    mine = git(linked, "rev-parse", "staging")
    assert git(linked, "rev-parse", "staging^") == base
    assert git(linked, "ls-remote", "origin", "refs/heads/staging") == f"{mine}\trefs/heads/staging"
    assert git(linked, "show", "staging:a.mlem") == git(linked, "show", "dev:a.mlem")


def test_commits_made_here_before_stay_when_a_push_with_nothing_new_is_refused(  # type: ignore[no-untyped-def]
    shared: Path, linked: Path, tmp_path: Path, mr
) -> None:
    api.promote(["a"], "staging")  # here only: not pushed
    mine = git(linked, "rev-parse", "staging")
    bare = tmp_path / "origin.git"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert (r.code, r.out) == (1, "Nothing to promote: a on staging is already as on dev\n")
    assert r.err == (
        f"mr: error: staging is promoted here (nothing new) but not pushed: "
        f"{bare}: refused the push: pre-receive hook declined\n"
    )
    assert git(linked, "rev-parse", "staging") == mine
    hook.unlink()
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    assert git(linked, "ls-remote", "origin", "refs/heads/staging") == f"{mine}\trefs/heads/staging"


def test_a_push_whose_answer_is_lost_but_which_landed_is_a_success(
    shared: Path, linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr import transport

    real = transport.push_lease

    def lands_then_fails(*args: Any, **kwargs: Any) -> str:
        real(*args, **kwargs)
        raise RemoteError("origin: the connection was reset")

    monkeypatch.setattr(transport, "push_lease", lands_then_fails)
    result = api.promote(["a"], "staging", push="origin")
    assert result.commit is not None and result.pushed_to is not None
    assert git(linked, "ls-remote", "origin", "refs/heads/staging").split()[0] == result.commit
    assert git(linked, "rev-parse", "staging", "origin/staging") == f"{result.commit}\n{result.commit}"


def test_a_push_that_failed_and_cannot_be_checked_is_taken_back(
    shared: Path, linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr import transport

    base = git(linked, "rev-parse", "staging")
    real_fetch = transport.fetch_branches
    calls: list[str] = []

    def second_fetch_fails(*args: Any, **kwargs: Any) -> set[str]:
        calls.append("fetch")
        if len(calls) > 1:
            raise RemoteError("origin: could not resolve host")
        return real_fetch(*args, **kwargs)

    def push_fails(*args: Any, **kwargs: Any) -> str:
        raise RemoteError("origin: the connection was reset")

    monkeypatch.setattr(transport, "fetch_branches", second_fetch_fails)
    monkeypatch.setattr(transport, "push_lease", push_fails)
    with pytest.raises(NotPushed) as e:
        api.promote(["a"], "staging", push="origin")
    assert str(e.value) == (
        "staging was not promoted: the push failed (origin: the connection was reset) and fetching origin again "
        "to see whether it landed failed too (origin: could not resolve host); "
        f"staging here is back at {base[:12]}: fetch and look before trying again"
    )
    assert git(linked, "rev-parse", "staging") == base


def test_a_held_ref_lock_on_the_server_is_a_lost_race(shared: Path, linked: Path, tmp_path: Path) -> None:
    # the server's lock on the stage is held once (another push updating it): the push is tried again
    bare = tmp_path / "origin.git"
    hook = bare / "hooks" / "pre-receive"
    marker = tmp_path / "locked-once"
    hook.write_text(
        f"#!/bin/sh\nif [ ! -e '{marker}' ]; then touch '{marker}'; "
        "echo 'error: cannot lock ref refs/heads/staging' >&2; exit 1; fi\nexit 0\n"
    )
    hook.chmod(0o755)
    result = api.promote(["a"], "staging", push="origin")
    assert marker.exists() and result.commit is not None
    assert git(linked, "ls-remote", "origin", "refs/heads/staging").split()[0] == result.commit


def test_a_lost_push_race_on_the_checked_out_stage_leaves_the_work_tree_as_landed(
    shared: Path, linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(linked, "checkout", "-q", "staging")
    before = git(linked, "rev-parse", "staging")
    seen: list[tuple[str, str, int]] = []

    def bob_wins(plan: Promotion) -> None:
        # mine is committed here and in the work tree; bob adds a file and pushes first
        seen.append((plan.stage, plan.base, len(plan.changes)))
        if len(seen) == 1:
            git(shared, "checkout", "-q", "staging")
            commit(shared, {"notes.txt": "bob\n"}, "bob")
            git(shared, "push", "-q", "origin", "staging")

    # the wait before trying again: stagecommit's own time and random, seen here
    clock = Clock()
    sleeps = clock.sleeps
    monkeypatch.setattr(stagecommit, "time", clock)
    monkeypatch.setattr(stagecommit, "random", SimpleNamespace(uniform=lambda a, b: (a + b) * 10))
    result = with_seams("promote", ["a"], "staging", push="origin", before_push=bob_wins)
    bobs = git(shared, "rev-parse", "staging")
    assert seen == [("staging", before, 1), ("staging", bobs, 1)]
    assert sleeps == [pytest.approx(0.6)]  # (0.01 + 0.05) * 10, on the first attempt
    assert result.commit == git(linked, "rev-parse", "HEAD") == git(linked, "ls-remote", "origin", "staging").split()[0]
    assert git(linked, "rev-parse", "HEAD^") == bobs
    assert git(linked, "status", "--porcelain") == ""
    assert (linked / "notes.txt").read_text() == "bob\n"
    assert (linked / "a.mlem").read_text() == git(linked, "show", "staging:a.mlem") + "\n"


def test_a_remote_lacking_the_stage_gets_it_from_here(shared: Path, linked: Path, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(bare, "branch", "-q", "-D", "staging")
    git(linked, "update-ref", "-d", "refs/remotes/origin/staging")
    here = git(linked, "rev-parse", "staging")
    result = api.promote(["a"], "staging", push="origin")
    assert result.plan.base == here and result.commit == git(bare, "rev-parse", "staging")
    # neither here nor there
    git(bare, "branch", "-q", "-D", "production")
    git(linked, "update-ref", "-d", "refs/remotes/origin/production")
    git(linked, "branch", "-q", "-D", "production")
    with pytest.raises(RegistryError) as e:
        api.promote(["a"], "production", source="staging", push="origin")
    assert str(e.value) == "no branch production here or on the remote; 'mr init' creates the stage branches"


def test_a_stage_deleted_on_a_pushed_path_is_pushed_again(
    shared: Path, linked: Path, project: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "origin.git"
    first = api.promote(["a"], "staging", push=str(bare)).commit
    assert git(linked, "rev-parse", "refs/mr/fetched/staging") == first
    git(bare, "branch", "-q", "-D", "staging")
    relink(linked, project, "v1")
    # the remote lacks staging now: it is pushed as new, from here
    result = api.promote(["a"], "staging", push=str(bare))
    assert result.plan.base == first and result.commit == git(bare, "rev-parse", "staging")
    assert git(linked, "rev-parse", "refs/mr/fetched/staging") == result.commit


def test_a_stage_moved_here_while_committing_for_a_push_is_planned_again(
    shared: Path, linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved: list[str] = []

    def race(plan: object) -> None:
        if not moved:
            moved.append(move(linked, "staging"))

    result = with_seams("promote", ["a"], "staging", push="origin", before_swap=race)
    assert result.plan.base == moved[0] == git(linked, "rev-parse", "staging^")
    assert result.commit == git(linked, "rev-parse", "staging") == git(tmp_path / "origin.git", "rev-parse", "staging")


def test_sign_false_reaches_a_commit_on_the_stage_here(linked: Path) -> None:
    git(linked, "config", "commit.gpgSign", "true")
    git(linked, "config", "gpg.program", "false")
    before = git(linked, "rev-parse", "staging")
    with pytest.raises(GitError):
        api.promote(["a"], "staging")
    assert git(linked, "rev-parse", "staging") == before
    done = api.promote(["a"], "staging", sign=False)
    assert done.commit == git(linked, "rev-parse", "staging") and git(linked, "rev-parse", "staging^") == before
    assert git(linked, "log", "-1", "--format=%G?", "staging") == "N"


def test_force_reaches_a_review_branch_through_the_api(linked: Path) -> None:
    git(linked, "branch", "review", "dev")
    with pytest.raises(GitError) as e:
        api.promote(["a"], "staging", branch="review")
    assert str(e.value) == "branch review exists; pass --force to replace it"
    done = api.promote(["a"], "staging", branch="review", force=True)
    assert done.commit == git(linked, "rev-parse", "review")
    assert git(linked, "rev-parse", "review^") == git(linked, "rev-parse", "staging")


def test_a_fetch_moving_the_fetched_ref_after_the_push_is_no_error(
    shared: Path, linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = str(tmp_path / "origin.git")
    set_ref = stagecommit.git.set_ref
    moved: list[str] = []

    def a_fetch_first(repo: object, ref: str, sha: str, old: str | None, message: str) -> None:
        if ref == "refs/mr/fetched/staging" and message == "mr: pushed":
            # another mr fetched the stage just now: the ref already holds the remote's tip
            git(linked, "update-ref", ref, sha)
            moved.append(sha)
        set_ref(repo, ref, sha, old, message)  # type: ignore[arg-type]

    monkeypatch.setattr(stagecommit.git, "set_ref", a_fetch_first)
    done = api.promote(["a"], "staging", push=bare)
    assert moved == [done.commit] and done.pushed_to == bare
    assert git(linked, "rev-parse", "refs/mr/fetched/staging") == done.commit == git(bare, "rev-parse", "staging")


def test_a_checked_out_stage_with_edits_to_the_promoted_files_is_refused(linked: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), target="b")
    commit_all(linked, "b")
    api.promote(["a", "b"], "staging")
    relink(linked, project, "v9")
    api.link("models/rf", source_project=str(project), rev="v9", target="b", force=True)
    commit_all(linked, "b to v9")
    git(linked, "checkout", "-q", "staging")
    (linked / "a.mlem").write_text("# mine\n")
    (linked / "b.mlem").write_text("# mine too\n")
    before = git(linked, "rev-parse", "staging")
    with pytest.raises(RegistryError) as e:
        api.promote(["a", "b"], "staging", source="dev")
    assert e.value.message == (
        "a.mlem, b.mlem: uncommitted changes on staging, which is checked out; commit or stash them first"
    )
    assert git(linked, "rev-parse", "staging") == before and (linked / "b.mlem").read_text() == "# mine too\n"


def test_the_seam_before_the_swap_sees_each_plan_tried(linked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stagecommit.time, "sleep", lambda s: None)
    first = api.plan_promotion(["a"], "staging")
    seen: list[str] = []

    def moved_once(plan: Promotion) -> None:
        seen.append(plan.base)
        if len(seen) == 1:
            move(linked, "staging")

    done = with_seams("promote", first, before_swap=moved_once)
    assert seen == [first.base, done.plan.base] and done.plan.base != first.base


def test_a_work_tree_that_cannot_be_updated_says_the_commit_landed(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(linked, "checkout", "-q", "staging")
    cause = GitError("the disk is full")

    def fails(repo: object, files: object) -> None:
        raise cause

    monkeypatch.setattr(stagecommit.git, "update_worktree", fails)
    with pytest.raises(stagecommit.WorkTreeNotUpdated) as e:
        api.promote(["a"], "staging", source="dev")
    tip = git(linked, "rev-parse", "staging")
    assert (e.value.message, e.value.commit, e.value.error) == (
        f"staging is promoted (commit {tip[:12]}), but the disk is full",
        tip,
        cause,
    )


def test_a_review_branch_pushed_to_a_hosting_site_names_its_merge_request(
    shared: Path, linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr import transport

    bare = tmp_path / "origin.git"
    # where git would push origin to, were it on GitLab (the push itself goes to the bare repository)
    monkeypatch.setattr(transport, "push_url", lambda repo, remote: "git@gitlab.com:team/registry.git")
    done = api.promote(["a"], "staging", branch="", push="origin")
    assert (done.branch, done.review_url) == (
        "promote/staging/a",
        "https://gitlab.com/team/registry/-/merge_requests/new?"
        "merge_request%5Bsource_branch%5D=promote%2Fstaging%2Fa&merge_request%5Btarget_branch%5D=staging",
    )
    assert done.commit == git(bare, "rev-parse", "promote/staging/a")
    assert done.pushed_to == "git@gitlab.com:team/registry.git"  # where the push went, as git names it
    assert git(linked, "rev-parse", "staging") == git(bare, "rev-parse", "staging")  # the stage is untouched
    # a remote on no known host: no merge request to open
    monkeypatch.setattr(transport, "push_url", lambda repo, remote: "ssh://git.internal/registry.git")
    other = api.promote(["a"], "staging", branch="review/other", push="origin")
    assert other.review_url is None and other.commit == git(bare, "rev-parse", "review/other")


def test_a_review_branch_whose_push_is_refused_says_what_was_done_here(
    shared: Path, linked: Path, tmp_path: Path
) -> None:
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(stagecommit.NotPushed) as e:
        api.promote(["a"], "staging", branch="review/a", push="origin")
    mine = git(linked, "rev-parse", "review/a")
    assert e.value.message == (
        f"review/a is promoted here (commit {mine[:12]}) but not pushed: "
        f"{tmp_path / 'origin.git'}: refused the push: pre-receive hook declined"
    )
    assert isinstance(e.value.error, RemoteError) and e.value.error.message in e.value.message
    # nothing new to put on a review branch: nothing is pushed (the hook would refuse it)
    api.promote(["a"], "staging")
    nothing = api.promote(["a"], "staging", branch="review/b", push="origin")
    assert (nothing.commit, nothing.pushed_to) == (None, None)
