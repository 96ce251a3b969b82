"""A registry shared through a remote: fresh clones, teammates pushing, stale stages, CI checkouts.

The remote is a bare repository served by a real ``git daemon`` (receive-pack
enabled, so clones push over git://); every clone is made with git itself.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mr import api
from tests.conftest import GitDaemon
from tests.helpers import commit, git, tag, with_seams

STAGES = ("dev", "staging", "production")


@pytest.fixture(scope="module")
def push_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitDaemon]:
    daemon = GitDaemon(tmp_path_factory.mktemp("shared"), push=True)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def origin(registry: Path, project: Path, push_daemon: GitDaemon, tmp_path: Path) -> str:
    """A registry with churn on every stage and fraud on dev, pushed to a served bare repository: its URL."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), rev="v1", target="churn")
    api.link("models/rf", source_project=str(project), rev="main", target="fraud")
    api.link("models/rf", source_project=str(project), rev="v1", target="scoring")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "links")
    api.promote(["churn"], "staging")
    api.promote(["churn"], "production")
    name = tmp_path.name + ".git"
    bare = push_daemon.base / name
    git(push_daemon.base, "init", "-q", "--bare", "--initial-branch=dev", str(bare))
    url = push_daemon.url(name)
    git(registry, "remote", "add", "origin", url)
    git(registry, "push", "-q", "origin", *STAGES)
    git(registry, "branch", "-q", "--set-upstream-to=origin/dev", "dev")
    return url


def clone(url: str, where: Path, *args: str) -> Path:
    git(where.parent, "clone", "-q", *args, url, str(where))
    return where


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def view(mr, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = mr("show", *args, "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    data.pop("registry", None)  # where each clone lives
    data.pop("read_from", None)  # a branch in one, a remote-tracking branch in the other
    return dict(data)


# --- reading stages through the remote -------------------------------------------------------


def test_fresh_clone_views_equal_the_origin_views(
    origin: str, registry: Path, project: Path, tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    commit(project, {"models/rf.mlem": "object_type: model\nprocessors: {}\n"}, "retrain")
    tag(project, "v2")  # churn's v1 on staging is outdated now
    fresh = clone(origin, tmp_path / "fresh")
    assert git(fresh, "branch", "--format=%(refname:short)") == "dev"
    views = [
        ("--all-stages",),
        ("--stage", "staging"),
        ("--stage", "production"),
        ("churn",),
        ("--diff", "staging", "production"),
        ("--diff", "dev", "staging"),
        ("--outdated", "--stage", "staging"),
        ("--stage", "production", "--resolve"),
    ]
    theirs = {v: view(mr, *v) for v in views}
    mine = {v: view(mr, *v, "--registry", str(fresh)) for v in views}
    copies = json.loads(mr("show", "--diff", "dev", "staging", "--json", "--registry", str(fresh)).out)
    assert copies["read_from"] == {"dev": "dev", "staging": "origin/staging"}
    assert mine == theirs
    outdated = mine[("--outdated", "--stage", "staging")]
    assert [(e["name"], e["latest"]) for e in outdated["outdated"]] == [("churn", "v2")]
    matrix = mine[("--all-stages",)]
    assert [row["name"] for row in matrix["links"]] == ["churn", "fraud", "scoring"]
    r = mr("show", "--all-stages", "--registry", str(fresh))
    assert r.code == 0 and r.err == ""
    assert mr("show", "churn", "--field", "rev", "--stage", "staging", "--registry", str(fresh)).out == "v1\n"
    # reading created no branch
    assert git(fresh, "branch", "--format=%(refname:short)") == "dev"
    # nor does mr init: the stages are on the remote already
    api.init(str(fresh))
    assert git(fresh, "branch", "--format=%(refname:short)") == "dev"


def test_completion_in_a_fresh_clone(origin: str, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from mr import complete

    fresh = clone(origin, tmp_path / "fresh")
    ctx = SimpleNamespace(params={"registry": str(fresh), "stage": "production", "names": ()}, parent=None)
    param = SimpleNamespace(name="names", multiple=False, nargs=-1)
    assert complete.branches(ctx, param, "") == ["dev", "production", "staging"]
    assert complete.stage_link_names(ctx, param, "") == ["churn"]
    assert complete.stage_link_names(ctx, param, "f") == []
    git(fresh, "remote", "add", "mirror", origin)
    assert complete.remotes(ctx, param, "") == ["mirror", "origin"]
    assert complete.remotes(ctx, param, "m") == ["mirror"]
    # a local staging behind origin/staging: the names come from origin/staging, as commands read it
    git(fresh, "branch", "-q", "staging", "origin/staging")
    teammate = clone(origin, tmp_path / "teammate")
    api.promote(["fraud"], "staging", registry=str(teammate), push="origin")
    git(fresh, "fetch", "-q", "origin")
    on_staging = SimpleNamespace(params={**ctx.params, "stage": "staging"}, parent=None)
    assert complete.stage_link_names(on_staging, param, "") == ["churn", "fraud"]
    # ahead: the local branch
    git(fresh, "branch", "-q", "-f", "staging", "origin/staging")
    api.retire(["fraud"], "staging", registry=str(fresh))
    assert complete.stage_link_names(on_staging, param, "") == ["churn"]


def test_verify_and_promote_in_a_fresh_clone(
    origin: str, registry: Path, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    fresh = clone(origin, tmp_path / "fresh")
    monkeypatch.chdir(fresh)
    r = mr("verify", "--stage", "production", "--offline")
    assert r.code == 0, r.out + r.err
    assert "1 link checked" in r.out
    staging = git(fresh, "rev-parse", "origin/staging")
    r = mr("promote", "fraud", "--to", "staging", "--yes")
    assert r.code == 0, r.err
    # the local branch was created from origin/staging, as git checkout would
    assert git(fresh, "rev-parse", "staging^") == staging
    assert git(fresh, "rev-parse", "--abbrev-ref", "staging@{upstream}") == "origin/staging"
    assert git(fresh, "show", "staging:fraud.mlem") == git(fresh, "show", "dev:fraud.mlem")
    r = mr("promote", "fraud", "--to", "production", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    assert git(registry, "ls-remote", origin, "refs/heads/production").split()[0] == git(
        fresh, "rev-parse", "production"
    )
    assert git(fresh, "show", "production:fraud.mlem").startswith("link_type: model")


def test_two_clones_promoting_to_one_stage_through_push_both_land(origin: str, tmp_path: Path) -> None:
    alice = clone(origin, tmp_path / "alice")
    bob = clone(origin, tmp_path / "bob")
    raced: list[str] = []

    def bob_pushes_first(plan: object) -> None:
        # called once alice's commit is made and before it is pushed: bob wins the race
        if raced:
            return
        result = api.promote(["scoring"], "staging", registry=str(bob), push="origin")
        assert result.commit is not None
        raced.append(result.commit)

    result = with_seams(
        "promote", ["fraud"], "staging", registry=str(alice), push="origin", before_push=bob_pushes_first
    )
    assert len(raced) == 1
    # alice's push was refused, so her promotion was built again on bob's and pushed
    assert result.commit is not None and result.plan.base == raced[0]
    remote_tip = git(alice, "ls-remote", origin, "refs/heads/staging").split()[0]
    assert remote_tip == result.commit == git(alice, "rev-parse", "staging")
    assert git(alice, "rev-parse", "staging^") == raced[0]
    subjects = git(alice, "log", "--format=%s", "-2", "staging").splitlines()
    assert [s.split()[:2] + s.split()[-2:] for s in subjects] == [
        ["Promote", "fraud", "to", "staging"],
        ["Promote", "scoring", "to", "staging"],
    ]
    files = git(alice, "ls-tree", "--name-only", "staging").split()
    assert {"churn.mlem", "fraud.mlem", "scoring.mlem"} <= set(files)


def test_a_race_lost_to_the_same_promotion_never_rewinds_the_remote(origin: str, tmp_path: Path) -> None:
    alice = clone(origin, tmp_path / "alice")
    bob = clone(origin, tmp_path / "bob")
    raced: list[str] = []

    def bob_promotes_the_same_first(plan: object) -> None:
        if raced:
            return
        # (a message of bob's own: the same promotion at the same second would be the very same commit)
        result = api.promote(["fraud"], "staging", registry=str(bob), push="origin", message="bob's")
        assert result.commit is not None
        raced.append(result.commit)

    result = with_seams(
        "promote", ["fraud"], "staging", registry=str(alice), push="origin", before_push=bob_promotes_the_same_first
    )
    # alice's commit was taken back; planned again on bob's, it had nothing left to do
    assert result.commit is None and result.plan.changes == ()
    remote_tip = git(alice, "ls-remote", origin, "refs/heads/staging").split()[0]
    assert remote_tip == raced[0]
    assert git(alice, "show", f"{raced[0]}:fraud.mlem") == git(alice, "show", "dev:fraud.mlem")


def test_a_local_stage_behind_is_read_at_the_remote_tracking_tip(
    origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")
    git(mine, "branch", "-q", "staging", "origin/staging")
    teammate = clone(origin, tmp_path / "teammate")
    theirs = api.promote(["scoring"], "staging", registry=str(teammate), push="origin").commit
    assert theirs is not None
    monkeypatch.chdir(mine)
    git(mine, "fetch", "-q", "origin")
    old = git(mine, "rev-parse", "staging")
    note = "mr: warning: reading origin/staging: your staging is 1 commit behind (mr sync updates it)\n"
    r = mr("show", "--all-stages")
    assert r.code == 0 and r.err == note
    matrix = json.loads(mr("show", "--all-stages", "--json").out)
    assert [row["name"] for row in matrix["links"] if row["stages"]["staging"]] == ["churn", "scoring"]
    assert matrix["read_from"] == {"dev": "dev", "staging": "origin/staging", "production": "origin/production"}
    r = mr("show", "--stage", "staging", "--json")
    assert r.err == note and json.loads(r.out)["read_from"] == {"staging": "origin/staging"}
    assert [link["name"] for link in json.loads(r.out)["links"]] == ["churn", "scoring"]
    r = mr("verify", "--stage", "staging", "--json")
    assert r.code == 0 and r.err == note
    assert json.loads(r.out)["read_from"] == {"staging": "origin/staging"}
    r = mr("get", "scoring", "--stage", "staging", "-o", str(tmp_path / "out"), "--json")
    assert r.code == 0 and r.err == note
    assert json.loads(r.out)["read_from"] == "origin/staging"
    assert json.loads((tmp_path / "out" / ".mr-get.json").read_text())["stage_commit"] == theirs
    r = mr("show", "--outdated", "--stage", "staging", "--json")
    assert r.err == note and json.loads(r.out)["read_from"] == {"staging": "origin/staging"}
    assert json.loads(r.out)["checked"] == 2  # churn and scoring: origin/staging's links, not the stale copy's
    # a review branch is made from the newest copy too
    r = mr("promote", "fraud", "--to", "staging", "--branch", "--yes")
    assert r.code == 0, r.err
    assert git(mine, "rev-parse", "promote/staging/fraud^") == theirs
    # a write builds on the newest copy too, and brings the local branch along
    before = refs(mine)
    r = mr("promote", "fraud", "--to", "staging", "--yes")
    assert r.code == 0, r.err
    assert git(mine, "rev-parse", "staging^") == theirs != old
    assert git(mine, "show", "staging:scoring.mlem") == git(mine, "show", "dev:scoring.mlem")
    assert git(mine, "rev-parse", "origin/staging") == theirs and refs(mine) != before
    # now it is ahead: read here, and said so
    r = mr("show", "--stage", "staging", "--json")
    assert r.err == "mr: warning: staging has 1 commit not on origin/staging (not pushed yet)\n"
    assert json.loads(r.out)["read_from"] == {"staging": "staging"}


def test_a_missing_link_names_the_other_copy_that_has_it(
    origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")
    git(mine, "branch", "-q", "staging", "origin/staging")
    api.promote(["churn"], "staging", registry=str(mine), message="here only", pin=True)  # ahead here
    teammate = clone(origin, tmp_path / "teammate")
    api.promote(["scoring"], "staging", registry=str(teammate), push="origin")
    monkeypatch.chdir(mine)
    git(mine, "fetch", "-q", "origin")
    # diverged: reads take the local branch, warn, and point at the copy that has the link
    r = mr("promote", "scoring", "--from", "staging", "--to", "production", "--yes")
    assert (r.code, r.err) == (1, "mr: error: no link scoring on staging (origin/staging has it)\n")
    # writes onto a diverged stage are refused, with the commands that resolve it
    r = mr("retire", "churn", "--stage", "staging", "--yes")
    assert r.code == 1 and "reconcile them (git checkout staging && git pull --rebase origin staging)" in r.err


def test_a_push_reads_the_source_stage_as_the_remote_has_it(
    origin: str, project: Path, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")  # dev checked out
    teammate = clone(origin, tmp_path / "teammate")
    tag(project, "v2")
    # the teammate re-pins fraud and adds big on dev, and pushes; mine has not fetched
    api.link(
        "models/rf", source_project=str(project), rev="v2", target="fraud", force=True, target_project=str(teammate)
    )
    api.link("models/rf", source_project=str(project), rev="v2", target="big", target_project=str(teammate))
    git(teammate, "add", "-A")
    git(teammate, "commit", "-q", "-m", "fraud to v2, big")
    git(teammate, "push", "-q", "origin", "dev")
    monkeypatch.chdir(mine)
    old_dev = git(mine, "rev-parse", "dev")
    r = mr("promote", "fraud", "big", "--to", "staging", "--push", "origin", "--yes", "--no-verify")
    assert r.code == 0, r.err
    assert "reading origin/dev: your dev is 1 commit behind (mr sync updates it)" in r.err
    theirs = git(mine, "rev-parse", "origin/dev")
    assert theirs != old_dev == git(mine, "rev-parse", "dev")  # dev itself is left alone
    for name in ("fraud", "big"):
        assert git(mine, "show", f"origin/staging:{name}.mlem") == git(mine, "show", f"origin/dev:{name}.mlem")
    assert f"Mr-From: dev {theirs}" in git(mine, "log", "-1", "--format=%B", "origin/staging")
    # --fetch, without pushing, reads the source the same way
    other = clone(origin, tmp_path / "other")
    git(teammate, "pull", "-q", "--no-rebase", "origin", "dev")
    api.link("models/rf", source_project=str(project), rev="v1", target="big", force=True, target_project=str(teammate))
    git(teammate, "commit", "-q", "-am", "big back to v1")
    git(teammate, "push", "-q", "origin", "dev")
    monkeypatch.chdir(other)
    r = mr("promote", "big", "--to", "staging", "--fetch", "--yes", "--no-verify")
    assert r.code == 0, r.err
    assert git(other, "show", "staging:big.mlem") == git(other, "show", "origin/dev:big.mlem")


def test_a_diverged_stage_is_refused_by_push(origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")
    git(mine, "branch", "-q", "staging", "origin/staging")
    api.promote(["fraud"], "staging", registry=str(mine))  # here only
    teammate = clone(origin, tmp_path / "teammate")
    api.promote(["scoring"], "staging", registry=str(teammate), push="origin")
    monkeypatch.chdir(mine)
    git(mine, "fetch", "-q", "origin")
    r = mr("show", "--stage", "staging")
    assert "staging and origin/staging have diverged (1 and 1 different commits;" in r.err
    before = refs(mine)
    remote = git(mine, "ls-remote", origin, "refs/heads/staging")
    r = mr("promote", "churn", "--to", "staging", "--push", "origin", "--yes", "--no-verify")
    assert r.code == 1 and "Traceback" not in r.err
    assert "staging and origin/staging have diverged" in r.err and "nothing was changed" in r.err
    assert refs(mine) == before and git(mine, "ls-remote", origin, "refs/heads/staging") == remote


def test_remote_option_and_setting(
    origin: str, registry: Path, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    fresh = clone(origin, tmp_path / "fresh", "--origin", "shared")
    monkeypatch.chdir(fresh)
    # the upstream of the current branch names the remote
    assert view(mr, "--stage", "production") == view(mr, "--stage", "production", "--remote", "shared")
    git(fresh, "remote", "add", "mirror", origin)
    git(fresh, "fetch", "-q", "mirror")
    git(fresh, "branch", "-q", "--unset-upstream")
    r = mr("show", "--stage", "production")
    assert r.code == 1 and r.err.startswith("mr: error: no branch production in ")
    assert "fetch it: git fetch origin production:refs/remotes/origin/production" not in r.err
    assert view(mr, "--stage", "production", "--remote", "mirror")["links"]
    (fresh / ".mr.yaml").write_text((fresh / ".mr.yaml").read_text() + "remote: mirror\n")
    assert view(mr, "--stage", "production") == view(mr, "--stage", "production", "--remote", "shared")
    (fresh / ".mr.yaml").write_text((fresh / ".mr.yaml").read_text() + "remote: [1]\n")
    r = mr("show", "--stage", "production")
    assert r.code == 1 and ".mr.yaml" in r.err


def test_bad_remotes_and_stages(origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    fresh = clone(origin, tmp_path / "fresh")
    monkeypatch.chdir(fresh)
    before = refs(fresh)
    r = mr("show", "--all-stages", "--remote", "nope")
    assert (r.code, r.out) == (1, "")
    assert r.err == "mr: error: --remote nope: no such remote (remotes: origin; git remote -v lists them)\n"
    r = mr("promote", "fraud", "--to", "staging", "--remote", "nope", "--yes")
    assert r.code == 1 and r.err.count("\n") == 1 and "no such remote" in r.err
    r = mr("verify", "--stage", "qa")
    assert r.code == 1 and r.err == "mr: error: no branch qa here or on origin; is qa a stage of this registry?\n"
    r = mr("verify", "--stage", "qa", "--offline")
    assert r.code == 1 and r.err.count("\n") == 1
    assert "fetch it: git fetch origin qa:refs/remotes/origin/qa (--offline fetches nothing)" in r.err
    r = mr("verify", "--stage", "qa:refs/heads/dev")
    assert r.code == 2 and r.err.count("\n") == 1 and "--stage 'qa:refs/heads/dev'" in r.err
    r = mr("promote", "fraud", "--to", "qa", "--fetch", "--yes")
    assert r.code == 2 and r.err == "mr: error: qa is not a stage (stages: dev, staging, production)\n"
    r = mr("verify", "--policy-stage", "qa")
    assert r.code == 2 and "not a stage" in r.err
    r = mr("verify", "--policy-stage", "dev", "--stage", "dev")
    assert r.code == 2 and r.err.count("\n") == 1
    assert refs(fresh) == before


# --- a CI checkout: shallow, one branch, detached HEAD ---------------------------------


@pytest.fixture
def ci_checkout(origin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What actions/checkout makes: a shallow clone of one branch at a detached HEAD."""
    ci = tmp_path / "ci"
    ci.mkdir()
    git(ci, "init", "-q")
    git(ci, "remote", "add", "origin", origin)
    git(ci, "fetch", "-q", "--no-tags", "--depth=1", "origin", "+refs/heads/dev:refs/remotes/origin/dev")
    git(ci, "checkout", "-q", "--detach", "origin/dev")
    monkeypatch.chdir(ci)
    return ci


def test_verify_in_a_shallow_detached_ci_checkout(ci_checkout: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    assert git(ci_checkout, "rev-parse", "--is-shallow-repository") == "true"
    r = mr("verify")
    assert r.code == 0 and "3 links checked, 0 failed" in r.out
    # production requires pins: a change headed there is checked against that policy
    monkeypatch.setenv("GITHUB_BASE_REF", "production")
    r = mr("verify", "--json")
    report = json.loads(r.out)
    assert r.code == 1 and report["errors"] == 3
    assert "pin" in report["links"][0]["problems"][0]["message"]
    monkeypatch.delenv("GITHUB_BASE_REF")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "staging")
    assert mr("verify").code == 0
    assert mr("verify", "--policy-stage", "production").code == 1
    # the stage it needs is not here: --offline says what to fetch, else it is fetched (that branch only)
    r = mr("verify", "--stage", "production", "--offline")
    assert r.code == 1 and r.err == (
        f"mr: error: no branch production in {ci_checkout}, nor origin/production (branches: none); "
        "fetch it: git fetch origin production:refs/remotes/origin/production (--offline fetches nothing)\n"
    )
    r = mr("verify", "--stage", "production")
    assert r.code == 0, r.err
    assert "1 link checked, 0 failed" in r.out
    assert git(ci_checkout, "for-each-ref", "--format=%(refname)") == (
        "refs/remotes/origin/dev\nrefs/remotes/origin/production"
    )
    assert git(ci_checkout, "rev-parse", "--is-shallow-repository") == "true"
    # history stops at the shallow boundary: each fetched tip is all there is
    r = mr("show", "churn", "--json")
    assert r.code == 0, r.err
    history = json.loads(r.out)["history"]
    # the promotion's source commit is not in this clone: its trailers cannot be checked, so are not believed
    assert [(e["stage"], e["kind"]) for e in history] == [("production", "direct change"), ("dev", "direct change")]
    assert history[0]["note"].endswith("that cannot be checked: that commit is not in this clone")
    assert history[0]["note"].startswith("claims a promotion from staging@")


def test_push_from_a_clone_where_the_stage_is_checked_out_and_behind(
    origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine", "-b", "staging")
    teammate = clone(origin, tmp_path / "teammate")
    theirs = api.promote(["scoring"], "staging", registry=str(teammate), push="origin").commit
    monkeypatch.chdir(mine)
    # an edit of a file the fast-forward does not touch stays as it is
    (mine / "notes.txt").write_text("mine\n")
    r = mr("promote", "fraud", "--from", "dev", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    assert "work tree and index updated" in r.out
    assert git(mine, "rev-parse", "HEAD^") == theirs
    assert git(mine, "rev-parse", "HEAD") == git(mine, "ls-remote", origin, "refs/heads/staging").split()[0]
    # the teammate's file arrived with the fast-forward, the promoted one with the commit
    assert (mine / "scoring.mlem").read_text() == git(mine, "show", "origin/dev:scoring.mlem") + "\n"
    assert (mine / "fraud.mlem").read_text() == git(mine, "show", "origin/dev:fraud.mlem") + "\n"
    assert git(mine, "status", "--porcelain") == "?? notes.txt"


def test_a_plan_fetched_again_before_it_lands_is_made_again(origin: str, tmp_path: Path) -> None:
    mine = clone(origin, tmp_path / "mine")
    git(mine, "branch", "-q", "staging", "origin/staging")
    teammate = clone(origin, tmp_path / "teammate")
    first = api.promote(["scoring"], "staging", registry=str(teammate), push="origin").commit
    plan = api.plan_promotion(["fraud"], "staging", registry=str(mine), fetch=True)
    assert plan.base == first
    second = api.retire(["churn"], "staging", registry=str(teammate), push="origin").commit
    result = api.promote(plan, registry=str(mine), fetch=True)
    assert result.plan.base == second and result.commit is not None
    assert git(mine, "rev-parse", "staging^") == second
    assert git(mine, "ls-tree", "--name-only", "staging").split() == [
        ".mlem.yaml",
        ".mr.yaml",
        "fraud.mlem",
        "scoring.mlem",
    ]


def test_promote_and_push_from_a_shallow_ci_checkout_fetches_the_tip_alone(ci_checkout: Path, origin: str, mr) -> None:  # type: ignore[no-untyped-def]
    theirs = git(ci_checkout, "ls-remote", origin, "refs/heads/staging").split()[0]
    r = mr("promote", "scoring", "--from", "dev", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    pushed = git(ci_checkout, "ls-remote", origin, "refs/heads/staging").split()[0]
    assert git(ci_checkout, "rev-parse", "staging", "staging^") == f"{pushed}\n{theirs}"
    # the clone stays shallow: of staging's history, only the tip it was built on was fetched
    assert git(ci_checkout, "rev-parse", "--is-shallow-repository") == "true"
    assert git(ci_checkout, "rev-list", "staging") == f"{pushed}\n{theirs}"


def test_push_from_a_single_branch_clone_leaves_no_stale_remote_tracking_branch(
    origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # a clone of dev alone: git push does not move origin/staging, which its fetch refspec leaves out
    mine = clone(origin, tmp_path / "mine", "--single-branch", "-b", "dev")
    monkeypatch.chdir(mine)
    r = mr("promote", "fraud", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    pushed = git(mine, "ls-remote", origin, "refs/heads/staging").split()[0]
    assert git(mine, "rev-parse", "staging", "origin/staging") == f"{pushed}\n{pushed}"
    assert git(mine, "reflog", "-1", "--format=%gs", "origin/staging") == "mr: pushed"
    r = mr("show", "--stage", "staging")
    assert (r.code, r.err) == (0, "")


def test_a_checked_out_stage_with_edits_the_fast_forward_would_overwrite_is_refused(
    origin: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine", "-b", "staging")
    teammate = clone(origin, tmp_path / "teammate")
    api.retire(["churn"], "staging", registry=str(teammate), push="origin")
    api.promote(["scoring"], "staging", registry=str(teammate), push="origin")
    monkeypatch.chdir(mine)
    (mine / "churn.mlem").write_text("# my edit\n")
    (mine / "scoring.mlem").write_text("# mine too\n")
    before = git(mine, "rev-parse", "staging")
    r = mr("promote", "fraud", "--from", "dev", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 1
    assert r.err.strip().splitlines()[-1] == (
        "mr: error: churn.mlem, scoring.mlem: uncommitted changes on staging, which is checked out and behind "
        "the remote; commit or stash them first"
    )
    assert (mine / "churn.mlem").read_text() == "# my edit\n"
    assert (mine / "scoring.mlem").read_text() == "# mine too\n"
    assert git(mine, "rev-parse", "staging") == before


def test_a_stage_caught_up_while_another_branch_is_checked_out_leaves_the_work_tree_alone(
    origin: str, tmp_path: Path
) -> None:
    mine = clone(origin, tmp_path / "mine")
    git(mine, "branch", "-q", "staging", "origin/staging")
    teammate = clone(origin, tmp_path / "teammate")
    api.retire(["churn"], "staging", registry=str(teammate), push="origin")
    # an uncommitted edit on dev of a file the stage's fast-forward changes
    (mine / "churn.mlem").write_text("# work in progress on dev\n")
    result = api.promote(["fraud"], "staging", registry=str(mine), push="origin")
    assert result.commit == git(mine, "rev-parse", "staging") and not result.worktree_updated
    assert git(mine, "rev-parse", "--abbrev-ref", "HEAD") == "dev"
    assert (mine / "churn.mlem").read_text() == "# work in progress on dev\n"
    assert git(mine, "status", "--porcelain") == "M churn.mlem"


@pytest.mark.parametrize("remote", ["origin", "backup", "path"])
def test_a_stage_made_here_by_a_push_tracks_the_remote_it_came_from(origin: str, tmp_path: Path, remote: str) -> None:
    mine = clone(origin, tmp_path / "mine")
    backup = tmp_path / "backup.git"
    git(tmp_path, "clone", "-q", "--bare", origin, str(backup))
    git(mine, "remote", "add", "backup", str(backup))
    git(mine, "fetch", "-q", "backup")
    target = str(backup) if remote == "path" else remote
    result = api.promote(["fraud"], "staging", registry=str(mine), push=target)
    assert result.commit == git(mine, "rev-parse", "staging")
    config = subprocess.run(
        ["git", "config", "--get-regexp", r"^branch\.staging\."], cwd=mine, capture_output=True, text=True
    ).stdout.strip()
    if remote == "path":
        # a path is no remote to track: the branch is made without an upstream
        assert config == ""
    else:
        assert config.splitlines() == [f"branch.staging.remote {remote}", "branch.staging.merge refs/heads/staging"]


def test_a_review_branch_is_made_on_the_plan_shown_even_when_the_stage_moved_since(origin: str, tmp_path: Path) -> None:
    mine = clone(origin, tmp_path / "mine")
    teammate = clone(origin, tmp_path / "teammate")
    plan = api.plan_promotion(["fraud"], "staging", registry=str(mine), fetch=True)
    moved = api.retire(["churn"], "staging", registry=str(teammate), push="origin").commit
    result = api.promote(plan, registry=str(mine), fetch=True, branch="review/fraud")
    assert result.plan is plan and result.branch == "review/fraud"
    assert git(mine, "rev-parse", "review/fraud^") == plan.base != moved


def test_sign_false_reaches_a_pushed_promotion(origin: str, tmp_path: Path) -> None:
    mine = clone(origin, tmp_path / "mine")
    git(mine, "config", "commit.gpgSign", "true")
    git(mine, "config", "gpg.program", "false")
    result = api.promote(["fraud"], "staging", registry=str(mine), push="origin", sign=False)
    assert result.commit is not None
    assert git(mine, "log", "-1", "--format=%G?", result.commit) == "N"


@pytest.mark.parametrize(
    ("env", "policy", "code"),
    [
        ({"CI_COMMIT_BRANCH": "production"}, {"stage": "production", "from": "CI_COMMIT_BRANCH"}, 1),
        (
            {"GITHUB_REF_NAME": "production", "GITHUB_REF_TYPE": "branch"},
            {"stage": "production", "from": "GITHUB_REF_NAME"},
            1,
        ),
        ({"GITHUB_REF_NAME": "production", "GITHUB_REF_TYPE": "tag"}, None, 0),  # a tag is no stage
        ({"CI_COMMIT_BRANCH": "feature/x"}, None, 0),  # a branch that is no stage
        (
            {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "staging", "CI_COMMIT_BRANCH": "production"},
            {"stage": "staging", "from": "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"},
            0,
        ),
        (
            {"GITHUB_BASE_REF": "production", "GITHUB_REF_NAME": "staging", "GITHUB_REF_TYPE": "branch"},
            {"stage": "production", "from": "GITHUB_BASE_REF"},
            1,
        ),
    ],
)
def test_a_branch_pipeline_verifies_under_its_branch_s_policy(  # type: ignore[no-untyped-def]
    ci_checkout: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    policy: dict[str, str] | None,
    code: int,
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    r = mr("verify", "--json")
    assert r.code == code, r.out
    assert json.loads(r.out)["policy"] == policy
    text = mr("verify")
    expected = f"policy: {policy['stage']} ({policy['from']})" if policy else "policy: none"
    assert text.out.splitlines()[-1] == expected


def test_ci_without_a_policy_says_how_to_name_one(ci_checkout: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CI", "true")
    r = mr("verify")
    assert r.code == 0
    assert r.out.splitlines()[-1] == "policy: none"
    assert "no stage's policy applied in CI: name it with --policy-stage" in r.err
    monkeypatch.delenv("CI")
    assert "policy applied" not in mr("verify").err
