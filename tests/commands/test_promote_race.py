"""A promotion planned against one tip of the stage and committed after another writer moved it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
from tests.helpers import git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    api.link("models/rf", source_project=str(project), rev="v1", target="b")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "links")
    api.promote(["a"], "staging")
    return registry


def other_writer_edits(registry: Path, tmp_path: Path, path: str, text: str) -> str:
    """Commit an edit of ``path`` on staging from a second work tree, as a teammate would."""
    wt = tmp_path / "teammate"
    git(registry, "worktree", "add", "-q", str(wt), "staging")
    (wt / path).write_text(text)
    git(wt, "commit", "-q", "-am", "hand edit")
    sha = git(wt, "rev-parse", "HEAD")
    git(registry, "worktree", "remove", "--force", str(wt))
    return sha


def test_an_edit_made_between_plan_and_commit_survives(linked: Path, tmp_path: Path) -> None:
    # the plan is computed against staging as it is now ...
    plan = api.plan_promotion(["a", "b"], "staging")
    planned_base = plan.base
    # ... then another writer comments a.mlem on staging before the commit is written
    edited = (linked / "a.mlem").read_text().replace("link_type:", "# reviewed by ops\nlink_type:", 1)
    theirs = other_writer_edits(linked, tmp_path, "a.mlem", edited)
    assert theirs != planned_base
    result = api.promote(plan)
    assert result.commit is not None
    # the promotion was rebuilt on the other writer's commit, not on the stale plan
    assert git(linked, "rev-parse", f"{result.commit}^") == theirs
    assert "# reviewed by ops\n" in git(linked, "show", "staging:a.mlem")
    assert git(linked, "show", "staging:b.mlem") == git(linked, "show", "dev:b.mlem")
    assert result.plan.base == theirs


def test_a_stale_plan_never_reverts_the_other_writer(linked: Path, tmp_path: Path) -> None:
    plan = api.plan_promotion(["b"], "staging")
    other_writer_edits(linked, tmp_path, "a.mlem", (linked / "a.mlem").read_text() + "# pinned by hand\n")
    api.promote(plan)
    assert git(linked, "show", "staging:a.mlem").endswith("# pinned by hand")
    subjects = git(linked, "log", "--format=%s", "-3", "staging").splitlines()
    assert subjects[:2] == ["Promote b v1 to staging", "hand edit"]
    assert subjects[2].startswith("Promote a main@") and subjects[2].endswith(" to staging")
