"""mr show --outdated: links whose source moved on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from mr.commands.outdated import version_key
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


def test_outdated_with_nothing_checkable_fails(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "r.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: git://127.0.0.1:1/none\nrev: v1\n"
    )
    r = mr("show", "--outdated", "--offline")
    assert r.code == 1 and "no link could be checked" in r.out


def test_version_order() -> None:
    tags = ["v1.10.0", "v1.2.0", "v1.2.0-rc1", "v2.0", "model@v3.0.0", "latest"]
    keyed = sorted((version_key(t), t) for t in tags if version_key(t) and version_key(t)[0] == "")  # type: ignore[index]
    assert [t for _, t in keyed] == ["v1.2.0-rc1", "v1.2.0", "v1.10.0", "v2.0"]
    assert version_key("latest") is None
    assert version_key("model@v3.0.0")[0] == "model@"  # type: ignore[index]


def test_a_stage_is_checked_with_its_own_hosts(
    registry: Path,
    git_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    isolated_git: Path,
) -> None:
    """show --outdated --stage S reads S's own hosts: (the work tree's .mr.yaml declares none)."""
    from tests.helpers import make_project

    name = f"mono-{tmp_path.name}"
    source = make_project(git_daemon.base / name, {"ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL})
    tag(source, "v1.0.0")
    commit(source, {"ml/models/rf.mlem": MODEL + "# retrained\n"}, "retrain")
    tag(source, "v1.1.0")
    git(isolated_git, "config", "--global", f"url.{git_daemon.url('')}.insteadOf", "https://git.corp.example/team/")
    spec = f"https://git.corp.example/team/{name}/-/tree/v1.0.0/ml"
    git(registry, "checkout", "-q", "staging")
    config = (registry / ".mr.yaml").read_text() + "hosts: {git.corp.example: gitlab}\n"
    link = f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\n"
    commit(registry, {".mr.yaml": config, "rf.mlem": link}, "a self-hosted project at a tag")
    git(registry, "checkout", "-q", "dev")
    report = api.outdated(stage="staging")
    assert (report.checked, report.problems, report.unchecked) == (1, (), ())
    assert [(e.name, e.kind, e.current, e.latest, e.detail) for e in report.entries] == [
        ("rf", "tag", "v1.0.0", "v1.1.0", "1 newer version tag than v1.0.0")
    ]


def test_outdated_says_it_as_a_person_would(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "--outdated").out.strip() == "no links to check"
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="fraud")
    r = mr("show", "--outdated")
    assert (r.code, r.out.strip()) == (0, "the 1 link checked is up to date")
