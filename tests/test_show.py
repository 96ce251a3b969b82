"""mr show: one value for scripts (--field), the stage diff, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
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
def churn_linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn"], "staging")
    return registry


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


def test_diff_shows_params_and_field_name_changes(churn_linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    text = git(churn_linked, "show", "dev:churn.mlem")
    (churn_linked / "churn.mlem").write_text(text.replace("project:", "repo:") + "\nparams:\n  owner: alice\n")
    git(churn_linked, "commit", "-qam", "repo field")
    r = mr("show", "--diff", "staging", "dev")
    assert "+   params: owner=alice" in r.out and "+   field: repo" in r.out


def test_empty_name_and_alias_rev(churn_linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "").code == 2
    api.link("churn", target="best", follow_links=False)
    assert mr("show", "best", "--field", "rev").out == "dev\n"
