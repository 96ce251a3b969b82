"""mr retire: take links off a stage, as one commit."""

from __future__ import annotations

from pathlib import Path

from mr import api
from tests.commands.conftest import production_history, show_file, tips
from tests.helpers import commit_all, git


def test_retire_then_promote_again(released: Path, versions: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    before = tips(released)
    r = mr("retire", "churn", "--stage", "production", "-m", "withdrawn")
    assert r.code == 0, r.err
    assert "Retire churn from production (other stages keep theirs):" in r.out
    assert "+++ /dev/null" in r.out and "Retired churn from production: commit" in r.out
    assert "churn.mlem" not in git(released, "ls-tree", "--name-only", "production").split()
    assert git(released, "rev-parse", "production^") == before["production"]
    assert {s: git(released, "rev-parse", s) for s in ("dev", "staging")} == {s: before[s] for s in ("dev", "staging")}
    trailers = git(released, "log", "-1", "--format=%(trailers:only,unfold)", "production")
    assert trailers.splitlines() == ["Mr-Action: retire", "Mr-Link: churn"]
    # the views see it absent
    m = api.stage_matrix()
    assert m.rows["churn"][2] is None and m.rows["churn"][1] is not None
    assert mr("show", "--all-stages").out.splitlines()[1].split()[-2:] == ["retired", "*"]
    d = api.stage_diff("staging", "production")
    assert [(c.name, c.kind) for c in d.changes] == [("churn", "removed")]
    h = api.link_history("churn")
    assert dict(h.stages)["production"] is None
    assert production_history()[0] == ("retirement", f"v2@{versions['v2']}", None)
    assert "production   retirement     v2 -> (absent)" in mr("show", "churn").out
    # retiring again: no such link there
    r = mr("retire", "churn", "--stage", "production")
    assert r.code == 1 and r.err.strip() == "mr: error: no link churn on production"

    api.promote(["churn"], "production")
    assert f"rev: {versions['v2']}" in show_file(released, "production", "churn.mlem")
    assert [k for k, _, _ in production_history()] == ["promotion", "retirement", "promotion", "promotion"]


def test_retire_refuses_to_orphan_an_alias(released: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(released, "checkout", "-q", "production")
    (released / "current.mlem").write_text("link_type: model\nobject_type: link\npath: churn.mlem\n")
    commit_all(released, "alias")
    git(released, "checkout", "-q", "dev")
    before = tips(released)
    r = mr("retire", "churn", "--stage", "production")
    assert r.code == 1 and "production:current.mlem:3: error: alias current points at churn" in r.err
    assert tips(released) == before
    assert mr("retire", "churn", "current", "--stage", "production", "--json").code == 0
    assert set(git(released, "ls-tree", "--name-only", "production").split()) == {".mlem.yaml", ".mr.yaml"}


def test_rollback_of_a_retirement_brings_the_link_back(released: Path) -> None:
    before = show_file(released, "production", "churn.mlem")
    api.retire(["churn"], "production")
    api.rollback(["churn"], "production")
    assert show_file(released, "production", "churn.mlem") == before


def test_the_matrix_tells_retired_from_never_promoted(released: Path, mr) -> None:  # type: ignore[no-untyped-def]
    import json

    api.retire(["churn"], "production")
    data = json.loads(mr("show", "--all-stages", "--json").out)
    churn = next(e for e in data["links"] if e["name"] == "churn")
    assert churn["stages"]["production"] is None and churn["retired_from"] == ["production"]
    never = [e for e in data["links"] if e["name"] != "churn" and e["stages"]["production"] is None]
    assert all(e["retired_from"] == [] for e in never)
