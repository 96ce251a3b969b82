"""The registry record ``mr site`` is built from: one walk that must tell each link's story exactly as
``mr show NAME`` tells it alone."""

from __future__ import annotations

from pathlib import Path

from mr import api
from mr import git as mrgit
from mr.commands.show import registry_record
from tests.commands.conftest import release
from tests.helpers import MODEL, commit, commit_all, git, tag


def busy_registry(registry: Path, project: Path) -> None:
    """Releases, a rollback, a retirement, a merged review branch, a direct edit, a link in a folder."""
    tag(project, "v1")
    commit(project, {"models/rf.mlem": MODEL + "# v2\n"}, "v2")
    tag(project, "v2")
    release(registry, project, "v1", "churn", "fraud")
    release(registry, project, "v2", "churn")
    api.rollback(["churn"], "production")
    api.retire(["fraud"], "staging")
    git(registry, "checkout", "-q", "-b", "review", "dev")
    api.link("models/rf", source_project=str(project), rev="v2", target="teams/ranker")
    commit_all(registry, "ranker")
    git(registry, "checkout", "-q", "dev")
    commit(registry, {"notes.txt": "x"}, "unrelated")
    git(registry, "merge", "-q", "--no-ff", "-m", "merge review", "review")
    path = registry / "fraud.mlem"
    path.write_text(path.read_text().replace("rev: v1", "rev: v2"))
    commit_all(registry, "fraud by hand")


def test_one_walk_tells_every_history_as_link_history_does(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    record = registry_record()
    names = [link.history.name for link in record.links]
    assert names == ["churn", "fraud", "teams/ranker"]
    for link in record.links:
        alone = api.link_history(link.history.name)
        assert link.history.history == alone.history
        assert link.history.stages == alone.stages
    assert [s.stage for s in record.stages] == ["dev", "staging", "production"]
    assert all(s.commit == git(registry, "rev-parse", s.stage) for s in record.stages)


def test_cells_tell_on_retired_and_never_apart(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    cells = {(link.history.name, c.stage): c for link in registry_record().links for c in link.cells}
    assert cells["fraud", "staging"].state == "retired"
    assert cells["fraud", "production"].state == "on"
    assert cells["teams/ranker", "production"].state == "never"
    assert cells["teams/ranker", "dev"].state == "on"
    on = cells["churn", "production"]
    assert on.state == "on" and on.commit == git(registry, "rev-parse", "production")
    assert on.since == int(git(registry, "log", "-1", "--format=%ct", "production"))


def test_every_path_change_matches_path_changes_path_by_path(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    repo = mrgit.open_exact(str(registry))
    assert repo is not None
    tips = [git(registry, "rev-parse", s) for s in ("dev", "staging", "production")]
    together: dict[str, list[tuple[str, bytes | None, bytes | None, int]]] = {}
    for path, c in mrgit.every_path_change(repo, tips, ".mlem"):
        together.setdefault(path, []).append((c.commit.sha, c.before_id, c.after_id, c.reached_by))
    assert set(together) == {"churn.mlem", "fraud.mlem", "teams/ranker.mlem"}
    for path, got in together.items():
        alone = [(c.commit.sha, c.before_id, c.after_id, c.reached_by) for c in mrgit.path_changes(repo, tips, path)]
        assert got == alone
