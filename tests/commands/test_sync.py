"""``mr sync``: one fetch of every stage, then fast-forwards, against a real ``git daemon`` remote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mr import api
from tests.helpers import commit, git
from tests.test_shared_remote import clone, origin, push_daemon  # noqa: F401 (fixtures)


def states(mr) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = mr("sync", "--json")
    data = json.loads(r.out)
    return {s["stage"]: s["state"] for s in data["stages"]}


def test_every_state_of_a_stage(
    origin: str,  # noqa: F811
    tmp_path: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")  # dev only, checked out
    git(mine, "branch", "-q", "staging", "origin/staging")
    git(mine, "config", "branch.staging.remote", "origin")
    teammate = clone(origin, tmp_path / "teammate")
    moved = api.promote(["scoring"], "staging", registry=str(teammate), push="origin").commit
    assert moved is not None
    old = git(mine, "rev-parse", "staging")
    monkeypatch.chdir(mine)
    r = mr("sync")
    assert r.code == 0, r.err
    production = git(mine, "rev-parse", "production")
    dev = git(mine, "rev-parse", "dev")
    assert r.out.splitlines() == [
        f"Synced stages with origin ({origin}):",
        f"  dev         up to date ({dev[:12]})",
        f"  staging     fast-forwarded {old[:12]}..{moved[:12]} (1 commit)",
        f"  production  created at {production[:12]}, tracking origin/production",
    ]
    assert git(mine, "rev-parse", "staging") == moved
    assert git(mine, "rev-parse", "--abbrev-ref", "production@{upstream}") == "origin/production"
    # the second time, everything is up to date, and nothing is said about copies any more
    assert set(states(mr).values()) == {"up to date"}
    assert mr("show", "--stage", "staging").err == ""

    # ahead here: not pushed, left as it is; the remote's dev moved meanwhile: fast-forwarded
    api.promote(["fraud"], "staging", registry=str(mine))
    ahead = git(mine, "rev-parse", "staging")
    commit(teammate, {"notes.txt": "x\n"}, "notes on dev")
    git(teammate, "push", "-q", "origin", "dev")
    data = json.loads(mr("sync", "--json").out)
    by_stage = {s["stage"]: s for s in data["stages"]}
    assert data["ok"] is True and data["remote"] == "origin"
    assert by_stage["staging"] == {
        "stage": "staging",
        "state": "not pushed",
        "before": ahead,
        "after": ahead,
        "remote_tip": moved,
        "behind": 0,
        "ahead": 1,
        "why": None,
    }
    # dev is checked out and clean: fast-forwarded with its files
    assert by_stage["dev"]["state"] == "fast-forwarded"
    assert (mine / "notes.txt").read_text() == "x\n"
    assert git(mine, "status", "--porcelain") == ""

    # diverged: left alone, exit 1, both counts named
    api.promote(["churn"], "staging", registry=str(teammate), push="origin", pin=True)
    r = mr("sync")
    assert r.code == 1
    line = next(x for x in r.out.splitlines() if x.startswith("  staging"))
    assert line == (
        "  staging     diverged from origin/staging (1 and 1 different commits), left alone: reconcile them "
        "(git checkout staging) and (git pull --rebase origin staging), then push"
    )
    assert git(mine, "rev-parse", "staging") == ahead
    r = mr("sync", "--quiet")
    assert r.code == 1 and r.out == "" and r.err.startswith("mr: error: diverged from origin/staging")


def test_a_checked_out_stage_with_edits_in_the_way_is_left_behind(
    origin: str,  # noqa: F811
    tmp_path: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")
    teammate = clone(origin, tmp_path / "teammate")
    commit(teammate, {"notes.txt": "theirs\n"}, "notes on dev")
    git(teammate, "push", "-q", "origin", "dev")
    (mine / "notes.txt").write_text("mine, not committed\n")
    before = git(mine, "rev-parse", "dev")
    monkeypatch.chdir(mine)
    r = mr("sync", "--json")
    assert r.code == 0
    dev = next(s for s in json.loads(r.out)["stages"] if s["stage"] == "dev")
    assert dev["state"] == "behind" and dev["behind"] == 1
    assert "notes.txt: uncommitted changes on dev" in dev["why"]
    assert git(mine, "rev-parse", "dev") == before
    assert (mine / "notes.txt").read_text() == "mine, not committed\n"


def test_a_stage_only_here_and_bad_remotes(
    origin: str,  # noqa: F811
    tmp_path: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine")
    monkeypatch.chdir(mine)
    git(mine, "branch", "-q", "production", "origin/production")
    git(mine, "update-ref", "refs/remotes/origin/staging-old", "origin/production")
    teammate = clone(origin, tmp_path / "teammate")
    git(teammate, "push", "-q", "origin", "--delete", "production")  # mine still has origin/production
    r = mr("sync")
    assert r.code == 0
    assert "  production  not on origin (git push -u origin production)" in r.out.splitlines()
    # the remote-tracking branch of a stage the remote no longer has is pruned; others are left alone
    assert git(mine, "branch", "-r", "--list", "origin/production") == ""
    assert git(mine, "branch", "-r", "--list", "origin/staging-old") != ""
    r = mr("sync", "--remote", "nope")
    assert (r.code, r.out) == (1, "")
    assert r.err == "mr: error: --remote nope: no such remote (remotes: origin; git remote -v lists them)\n"
    git(mine, "remote", "remove", "origin")
    r = mr("sync")
    assert r.code == 1 and r.err.startswith("mr: error: no remote origin to sync with (remotes: none)")
    r = mr("sync", "--registry", origin)
    assert r.code in (1, 2) and "Traceback" not in r.err


def test_a_remote_named_to_run_something_is_quoted_in_every_printed_command(
    origin: str,  # noqa: F811
    tmp_path: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    mine = clone(origin, tmp_path / "mine", "--origin", "up$(id>PWNED)")
    git(mine, "branch", "-q", "staging", "up$(id>PWNED)/staging")
    api.promote(["fraud"], "staging", registry=str(mine))  # not pushed
    monkeypatch.chdir(mine)
    r = mr("sync", "--remote", "up$(id>PWNED)")
    assert r.code == 0, r.err
    line = next(x for x in r.out.splitlines() if x.startswith("  staging"))
    assert line == "  staging     1 commit not pushed (git push 'up$(id>PWNED)' staging)"
    subprocess.run(line.split("(", 1)[1].rstrip(")"), shell=True, cwd=mine, check=True, capture_output=True)
    assert not (mine / "PWNED").exists()
    assert git(mine, "ls-remote", origin, "refs/heads/staging").split()[0] == git(mine, "rev-parse", "staging")
