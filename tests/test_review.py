"""Reviewed promotions, one value for scripts, and what could be promoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from mr.outdated import version_key
from mr.promotion import merge_request_url
from tests.helpers import MODEL, commit, git, tag


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


def test_fields(linked: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    head = git(project, "rev-parse", "HEAD")
    values = {
        f: mr("show", "churn", "--stage", "staging", "--field", f).out
        for f in ("rev", "sha", "project", "path", "url", "type")
    }
    assert values == {
        "rev": "main\n",
        "sha": f"{head}\n",
        "project": "../models\n",
        "path": "models/rf.mlem\n",
        "url": f"file://{project}\n",
        "type": "model\n",
    }
    assert mr("show", "fraud", "--stage", "staging", "--field", "rev").out == "v1.0.0\n"
    r = mr("show", "nope", "--stage", "staging", "--field", "rev")
    assert r.code == 1 and r.out == "" and "no such link" in r.err
    r = mr("show", "churn", "--stage", "production", "--field", "rev")
    assert r.code == 1 and "no such link" in r.err
    r = mr("show", "churn", "--stage", "qa", "--field", "rev")
    assert r.code == 1 and "no branch qa" in r.err
    assert mr("show", "--field", "rev").code == 2
    assert mr("show", "churn", "--field", "colour").code == 2


def test_field_url_strips_credentials(registry: Path, served: tuple[Path, str], mr) -> None:  # type: ignore[no-untyped-def]
    _, url = served
    secret = url.replace("git://", "git://bob:hunter2@")
    (registry / "r.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {secret}\nrev: main\n"
    )
    r = mr("show", "r", "--field", "url")
    assert r.out == f"{url}\n"


def test_outdated_each_kind_of_movement(linked: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["churn", "fraud"], "production")  # churn pinned from main, fraud pinned from v1.0.0
    assert api.outdated(stage="staging").entries == ()
    assert mr("show", "--outdated", "--stage", "staging").out.strip() == "all 2 links checked are up to date"
    commit(project, {"models/rf.mlem": MODEL + "# retrained\n"})
    tag(project, "v1.1.0")
    tag(project, "v1.1.0-rc1", rev="HEAD~1")
    tag(project, "not-a-version")
    staging = {e.name: e for e in api.outdated(stage="staging").entries}
    assert staging["churn"].kind == "branch" and staging["churn"].latest == git(project, "rev-parse", "HEAD")
    assert staging["fraud"].kind == "tag" and staging["fraud"].latest == "v1.1.0"
    production = {e.name: e for e in api.outdated(stage="production").entries}
    assert production["churn"].kind == "pin" and "has moved on" in production["churn"].detail
    assert production["fraud"].kind == "pin" and production["fraud"].latest == "v1.1.0"
    data = json.loads(mr("show", "--outdated", "--stage", "production", "--json").out)
    assert {e["name"] for e in data["outdated"]} == {"churn", "fraud"}


def test_outdated_offline_and_remote(registry: Path, served: tuple[Path, str], mr) -> None:  # type: ignore[no-untyped-def]
    path, url = served
    tag(path, "v1.0.0")
    api.link("models/rf", source_project=url, rev="v1.0.0", target="r")
    tag(path, "v2.0.0")
    # the cache has not seen v2.0.0 yet: offline says nothing moved, online finds it
    assert api.outdated(offline=True).entries == ()
    (entry,) = api.outdated().entries
    assert entry.latest == "v2.0.0"
    assert api.outdated(offline=True).entries[0].latest == "v2.0.0"
    (registry / "other.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: git://127.0.0.1:1/none\nrev: v1\n"
    )
    r = mr("show", "--outdated", "--offline")
    assert "not checked" in r.err


def test_version_order() -> None:
    tags = ["v1.10.0", "v1.2.0", "v1.2.0-rc1", "v2.0", "model@v3.0.0", "latest"]
    keyed = sorted((version_key(t), t) for t in tags if version_key(t) and version_key(t)[0] == "")  # type: ignore[index]
    assert [t for _, t in keyed] == ["v1.2.0-rc1", "v1.2.0", "v1.10.0", "v2.0"]
    assert version_key("latest") is None
    assert version_key("model@v3.0.0")[0] == "model@"  # type: ignore[index]
