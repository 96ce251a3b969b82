"""Starting a team: mr init in a clone of an empty remote, and --push, against a real git daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import GitDaemon
from tests.helpers import git
from tests.test_shared_remote import push_daemon  # noqa: F401 (fixture)


@pytest.fixture
def empty_remote(push_daemon: GitDaemon, tmp_path: Path) -> str:  # noqa: F811
    """An empty bare repository whose HEAD names main, served over git://: its URL."""
    name = tmp_path.name + "-team.git"
    git(push_daemon.base, "init", "-q", "--bare", "--initial-branch=main", str(push_daemon.base / name))
    return push_daemon.url(name)


def test_init_push_in_a_clone_of_an_empty_remote_starts_the_team(
    empty_remote: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "first"
    git(tmp_path, "clone", "-q", empty_remote, str(first))
    monkeypatch.chdir(first)
    r = mr("init", "--push", "origin", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["branch"], data["pushed_to"], data["share"]) == ("main", empty_remote, None)
    # the registry's files are on main, which the remote's HEAD names; every branch is there and tracked
    heads = git(first, "ls-remote", "--symref", "origin").splitlines()
    assert heads[0] == "ref: refs/heads/main\tHEAD"
    assert {line.split("\t")[1] for line in heads[1:]} >= {
        "refs/heads/main",
        "refs/heads/dev",
        "refs/heads/staging",
        "refs/heads/production",
    }
    for branch in ("main", "dev", "staging", "production"):
        assert git(first, "rev-parse", "--abbrev-ref", f"{branch}@{{upstream}}") == f"origin/{branch}"
    # the next teammate's clone checks out a registry, and reads every stage without a warning
    second = tmp_path / "second"
    out = git(tmp_path, "clone", "-q", empty_remote, str(second))
    assert "warning" not in out
    assert (second / ".mr.yaml").is_file()
    monkeypatch.chdir(second)
    r = mr("show", "--all-stages")
    assert r.code == 0 and r.err == "no links on any stage\n"
    r = mr("show")
    assert r.code == 0


def test_init_without_push_says_how_to_share(
    empty_remote: str, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "first"
    git(tmp_path, "clone", "-q", empty_remote, str(first))
    monkeypatch.chdir(first)
    r = mr("init")
    assert r.code == 0, r.err
    assert "  share it  git push -u origin main dev staging production" in r.out.splitlines()
    assert git(first, "symbolic-ref", "--short", "HEAD") == "main"
    # the printed command works as printed
    git(first, "push", "-q", "-u", "origin", "main", "dev", "staging", "production")
    assert git(first, "ls-remote", "origin", "refs/heads/production") != ""


def test_init_with_no_remote_names_one_to_add(tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    r = mr("init", str(tmp_path / "reg"))
    assert r.code == 0, r.err
    assert "  share it  git remote add origin URL && git push -u origin dev staging production" in r.out.splitlines()


def test_a_refused_init_push_says_the_registry_is_made_here(
    empty_remote: str,
    push_daemon: GitDaemon,  # noqa: F811
    tmp_path: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "first"
    git(tmp_path, "clone", "-q", empty_remote, str(first))
    hook = push_daemon.base / (tmp_path.name + "-team.git") / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    monkeypatch.chdir(first)
    r = mr("init", "--push", "origin")
    assert r.code == 1
    assert r.err.startswith("mr: error: the registry is made here, but not pushed: ")
    assert "pre-receive hook declined" in r.err
    assert (first / ".mr.yaml").is_file()
    r = mr("init", "--push", "nope")
    assert r.code == 1 and "no remote nope" in r.err
