"""Fixtures the command tests share: a model project's released versions, a registry that released them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
from tests.helpers import MODEL, commit, commit_all, git, tag

STAGES = ("dev", "staging", "production")


def tips(root: Path) -> dict[str, str]:
    return {s: git(root, "rev-parse", s) for s in STAGES}


def show_file(root: Path, rev: str, path: str) -> str:
    return git(root, "show", f"{rev}:{path}")


def release(registry: Path, project: Path, version: str, *names: str) -> None:
    """Point ``names`` at tag ``version`` on dev, then promote them to staging and production."""
    for name in names or ("churn",):
        api.link("models/rf", source_project=str(project), rev=version, target=name, force=True)
    commit_all(registry, f"{version} on dev")
    api.promote(list(names or ("churn",)), "staging")
    api.promote(list(names or ("churn",)), "production")


@pytest.fixture
def versions(project: Path) -> dict[str, str]:
    """Tags v1, v2 and v3 on three commits of the model project: tag -> commit."""
    out = {"v1": tag(project, "v1")}
    commit(project, {"models/rf.mlem": MODEL + "# v2\n"}, "v2")
    out["v2"] = tag(project, "v2")
    commit(project, {"models/rf.mlem": MODEL + "# v3\n"}, "v3")
    out["v3"] = tag(project, "v3")
    return out


@pytest.fixture
def released(registry: Path, project: Path, versions: dict[str, str]) -> Path:
    """churn (with a comment) released as v1, then as v2, to every stage."""
    api.link("models/rf", source_project=str(project), rev="v1", target="churn")
    path = registry / "churn.mlem"
    path.write_text("# churn model, owned by the retention team\n" + path.read_text())
    commit_all(registry, "churn v1")
    api.promote(["churn"], "staging")
    api.promote(["churn"], "production")
    release(registry, project, "v2")
    return registry


def production_history(name: str = "churn") -> list[tuple[str, str | None, str | None]]:
    return [(e.kind, e.rev_before, e.rev_after) for e in api.link_history(name).history if e.stage == "production"]
