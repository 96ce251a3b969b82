"""``mr verify --pre-receive`` as a bare repository's hook, with real pushes from a clone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mr import api
from tests.helpers import commit, git, tag

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served(registry: Path, project: Path, tmp_path: Path) -> Path:
    """A bare copy of a registry (churn on every stage, fraud on dev) whose pre-receive hook runs mr."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), rev="v1", target="churn")
    api.link("models/rf", source_project=str(project), rev="main", target="fraud")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "links")
    api.promote(["churn"], "staging")
    api.promote(["churn"], "production")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry), str(bare))
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nPYTHONPATH='{ROOT}' exec '{sys.executable}' -m mr verify --pre-receive\n")
    hook.chmod(0o755)
    return bare


def work_clone(bare: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(bare), str(where))
    for stage in ("staging", "production"):
        git(where, "branch", "-q", stage, f"origin/{stage}")
    return where


def push(clone: Path, *refs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "origin", *refs], cwd=clone, capture_output=True, text=True, check=False)


def edit_on(clone: Path, branch: str, files: dict[str, str], message: str = "by hand") -> None:
    git(clone, "checkout", "-q", branch)
    commit(clone, files, message)
    git(clone, "checkout", "-q", "dev")


def test_a_bad_link_is_refused_and_the_remote_is_unchanged(served: Path, tmp_path: Path) -> None:
    clone = work_clone(served, tmp_path / "clone")
    before = git(served, "for-each-ref")
    text = (clone / "churn.mlem").read_text().replace("rev: v1", "rev: no-such-tag")
    edit_on(clone, "staging", {"churn.mlem": text})
    r = push(clone, "staging")
    assert r.returncode != 0
    assert "remote: staging:churn.mlem:" in r.stderr and "error:" in r.stderr and "no-such-tag" in r.stderr
    assert "pre-receive hook declined" in r.stderr
    assert git(served, "for-each-ref") == before


def test_production_s_policy_is_the_one_it_has_not_the_one_pushed(served: Path, tmp_path: Path) -> None:
    clone = work_clone(served, tmp_path / "clone")
    before = git(served, "for-each-ref")
    unpinned = (clone / "churn.mlem").read_text()  # dev's: rev v1, not a SHA
    edit_on(clone, "production", {"churn.mlem": unpinned})
    r = push(clone, "production")
    assert r.returncode != 0 and "stage production requires pinned links" in r.stderr
    assert "remote: policy: production (its .mr.yaml before the push)" in r.stderr
    # the same change, with .mr.yaml loosened in the same push: still judged by the policy production has
    git(clone, "checkout", "-q", "production")
    config = (clone / ".mr.yaml").read_text()
    loose = config.replace("require_pinned: true", "require_pinned: false")
    assert loose != config
    commit(clone, {".mr.yaml": loose}, "no pins")
    git(clone, "checkout", "-q", "dev")
    r = push(clone, "production")
    assert r.returncode != 0 and "stage production requires pinned links" in r.stderr
    assert "remote: policy: production (its .mr.yaml as pushed)" in r.stderr  # checked under both
    assert git(served, "for-each-ref") == before


def test_deleting_a_stage_is_refused_and_other_refs_pass(served: Path, tmp_path: Path) -> None:
    clone = work_clone(served, tmp_path / "clone")
    r = push(clone, ":production")
    assert r.returncode != 0 and "deleting the stage branch production is refused" in r.stderr
    assert git(served, "rev-parse", "--verify", "-q", "production") != ""
    git(clone, "checkout", "-q", "-b", "notes")
    commit(clone, {"notes.txt": "anything\n"}, "notes")
    assert push(clone, "notes").returncode == 0


def test_a_good_promotion_lands(served: Path, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    clone = work_clone(served, tmp_path / "clone")
    monkeypatch.chdir(clone)
    r = mr("promote", "fraud", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    assert git(served, "rev-parse", "staging") == git(clone, "rev-parse", "staging")


def test_hook_input_that_is_not_git_s_is_a_usage_error(served: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(served)
    r = subprocess.run(
        [sys.executable, "-m", "mr", "verify", "--pre-receive"],
        input="not three words\n",
        capture_output=True,
        text=True,
        cwd=served,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert r.returncode == 2 and "not an 'OLD NEW REF' line" in r.stderr and "Traceback" not in r.stderr
    r = mr("verify", "--pre-receive", "--stage", "production")
    assert r.code == 2


def test_a_push_that_breaks_the_stage_order_is_refused(served: Path, tmp_path: Path) -> None:
    clone = work_clone(served, tmp_path / "clone")
    git(clone, "checkout", "-q", "production")
    config = (clone / ".mr.yaml").read_text().replace("    # from: [staging]", "    from: [staging]")
    assert "    from: [staging]" in config
    commit(clone, {".mr.yaml": config}, "production takes promotions from staging only")
    git(clone, "checkout", "-q", "dev")
    assert push(clone, "production").returncode == 0
    before = git(served, "for-each-ref")
    git(clone, "checkout", "-q", "production")
    pinned = git(clone, "show", "production:churn.mlem")
    dev = git(clone, "rev-parse", "dev")
    commit(
        clone,
        {"churn.mlem": pinned + "\n# by hand\n"},
        f"Promote churn to production\n\nMr-From: dev {dev}\nMr-Link: churn\nMr-Rev: v1 -",
    )
    git(clone, "checkout", "-q", "dev")
    r = push(clone, "production")
    assert r.returncode != 0 and "promoted from dev" in r.stderr and "only from staging" in r.stderr, r.stderr
    assert git(served, "for-each-ref") == before
