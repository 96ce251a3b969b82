"""Promotions put on a review branch (--branch) and the merge-request URL printed for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
from mr.stagecommit import merge_request_url
from tests.helpers import git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="fraud")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn", "fraud"], "staging")
    return registry


@pytest.fixture
def remote(linked: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(linked, "remote", "add", "origin", str(bare))
    git(linked, "push", "-q", "origin", "dev", "staging", "production")
    return bare


def test_review_branch_leaves_the_stage_alone(linked: Path, remote: Path, mr) -> None:  # type: ignore[no-untyped-def]
    prod = git(linked, "rev-parse", "production")
    r = mr("promote", "churn", "--to", "production", "--branch", "--push", "origin")
    assert r.code == 0, r.err
    branch = "promote/production/churn"
    assert f"onto branch {branch}" in r.out and "production is unchanged" in r.out
    assert git(linked, "rev-parse", "production") == prod
    assert git(linked, "rev-parse", f"{branch}^") == prod
    assert git(linked, "rev-list", "--count", f"production..{branch}") == "1"
    assert git(remote, "rev-parse", branch) == git(linked, "rev-parse", branch)
    assert git(remote, "rev-parse", "production") == prod
    assert "open a merge request" not in r.out  # a local remote is no known host


def test_review_branch_name_collision(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("promote", "churn", "--to", "production", "--branch", "review/churn").code == 0
    first = git(linked, "rev-parse", "review/churn")
    r = mr("promote", "churn", "--to", "production", "--branch", "review/churn")
    assert r.code == 1 and "exists; pass --force" in r.err
    assert git(linked, "rev-parse", "review/churn") == first
    assert mr("promote", "churn", "--to", "production", "--branch", "review/churn", "--force", "-m", "again").code == 0
    assert git(linked, "rev-parse", "review/churn") != first
    assert mr("promote", "churn", "--to", "production", "--branch", "bad..name").code == 1
    assert mr("promote", "churn", "--to", "production", "--force").code == 2


def test_merged_review_branch_shows_in_history(linked: Path, project: Path) -> None:
    result = api.promote(["churn", "fraud"], "production", branch="")
    assert result.branch == "promote/production/churn+fraud"
    git(linked, "checkout", "-q", "production")
    git(linked, "merge", "-q", "--no-ff", "-m", "Merge review", result.branch)
    git(linked, "checkout", "-q", "dev")
    history = api.link_history("churn").history
    assert [(e.stage, e.kind, e.source) for e in history] == [
        ("production", "promotion", "staging"),
        ("staging", "promotion", "dev"),
        ("dev", "direct change", None),
    ]
    assert history[0].commit == result.commit
    assert api.verify(stage="production").ok


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "https://github.com/org/registry.git",
            "https://github.com/org/registry/compare/production...promote/production/churn?expand=1",
        ),
        (
            "git@github.com:org/registry.git",
            "https://github.com/org/registry/compare/production...promote/production/churn?expand=1",
        ),
        (
            "ssh://git@github.com/org/registry",
            "https://github.com/org/registry/compare/production...promote/production/churn?expand=1",
        ),
        (
            "https://user:tok@gitlab.example.com/team/sub/registry.git",
            "https://gitlab.example.com/team/sub/registry/-/merge_requests/new?merge_request%5Bsource_branch%5D=promote%2Fproduction%2Fchurn&merge_request%5Btarget_branch%5D=production",
        ),
        ("/srv/git/registry.git", None),
        ("https://example.com/registry.git", None),
    ],
)
def test_merge_request_urls(url: str, expected: str | None) -> None:
    assert merge_request_url(url, "promote/production/churn", "production") == expected
