"""History that trailers alone cannot forge: a commit is a promotion, rollback or
retirement only when the repository bears its trailers out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from tests.helpers import git, tag


@pytest.fixture
def promoted(registry: Path, project: Path) -> Path:
    """a on every stage (pinned on production)."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["a"], "staging")
    api.promote(["a"], "production")
    return registry


def commit_on(registry: Path, branch: str, files: dict[str, str | None], message: str) -> str:
    """A commit straight onto ``branch`` (not checked out), as a hand-made push would put it there."""
    git(registry, "checkout", "-q", branch)
    for name, text in files.items():
        if text is None:
            git(registry, "rm", "-q", name)
        else:
            (registry / name).write_text(text)
            git(registry, "add", name)
    git(registry, "commit", "-q", "-m", message)
    sha = git(registry, "rev-parse", "HEAD")
    git(registry, "checkout", "-q", "dev")
    return sha


def history(mr) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    r = mr("show", "a", "--json")
    assert r.code == 0, r.err
    return list(json.loads(r.out)["history"])


def test_genuine_promotions_are_believed(promoted: Path, mr) -> None:  # type: ignore[no-untyped-def]
    kinds = [(e["stage"], e["kind"], e["note"]) for e in history(mr)]
    assert kinds == [
        ("production", "promotion", None),
        ("staging", "promotion", None),
        ("dev", "direct change", None),
    ]


def test_a_promotion_from_a_commit_outside_the_source_stage_is_a_direct_change(  # type: ignore[no-untyped-def]
    promoted: Path, mr
) -> None:
    """The file matches the commit the trailer names, but that commit is on production, not on staging:
    which stages hold a commit is read from the history walk itself, and it must say no."""
    before = git(promoted, "rev-parse", "production")
    now = git(promoted, "show", "production:a.mlem")
    commit_on(promoted, "production", {"a.mlem": now.replace("rev: ", "rev: x", 1)}, "a direct edit")
    sha = now.split("rev: ")[1].split()[0]
    forged = commit_on(
        promoted,
        "production",
        {"a.mlem": now},
        f"Promote a to production\n\nMr-From: staging {before}\nMr-Link: a\nMr-Rev: main {sha}",
    )
    entry = history(mr)[0]
    assert (entry["commit"], entry["kind"]) == (forged, "direct change")
    assert entry["note"] == f"claims a promotion from staging@{before[:7]} that does not match"
    assert [e["kind"] for e in history(mr)[1:]] == ["direct change", "promotion", "promotion", "direct change"]


def test_a_forged_promotion_is_a_direct_change(promoted: Path, mr) -> None:  # type: ignore[no-untyped-def]
    staging = git(promoted, "rev-parse", "staging")
    now = git(promoted, "show", "production:a.mlem")
    sha = now.split("rev: ")[1].split()[0]
    evil = "\n".join("project: ../evil" if line.startswith("project:") else line for line in now.splitlines()) + "\n"
    forged = commit_on(
        promoted,
        "production",
        {"a.mlem": evil},
        f"Promote a to production\n\nMr-From: staging {staging}\nMr-Link: a\nMr-Rev: main {sha}",
    )
    entry = history(mr)[0]
    assert (entry["commit"], entry["kind"], entry["from"]) == (forged, "direct change", None)
    assert entry["note"] == f"claims a promotion from staging@{staging[:7]} that does not match"
    r = mr("show", "a")
    line = next(x for x in r.out.splitlines() if forged[:7] in x)
    assert "direct change" in line and "(claims a promotion from staging@" in line


@pytest.mark.parametrize("where", ["a commit on no stage", "a missing commit", "not a SHA"])
def test_a_promotion_from_a_commit_the_stage_never_held_is_a_direct_change(  # type: ignore[no-untyped-def]
    promoted: Path, mr, where: str
) -> None:
    git(promoted, "checkout", "-q", "-b", "side", "staging")
    (promoted / "x.txt").write_text("x\n")
    git(promoted, "add", "x.txt")
    git(promoted, "commit", "-qm", "side")
    side = git(promoted, "rev-parse", "HEAD")
    git(promoted, "checkout", "-q", "dev")
    claimed = {"a commit on no stage": side, "a missing commit": "1" * 40, "not a SHA": "staging"}[where]
    text = git(promoted, "show", "production:a.mlem") + "\n# touched\n"
    commit_on(
        promoted, "production", {"a.mlem": text}, f"Promote a\n\nMr-From: staging {claimed}\nMr-Link: a\nMr-Rev: main x"
    )
    entry = history(mr)[0]
    assert entry["kind"] == "direct change" and str(entry["note"]).startswith("claims a promotion from staging@")


def test_forged_rollbacks_and_retirements_are_direct_changes(promoted: Path, mr) -> None:  # type: ignore[no-untyped-def]
    first = git(promoted, "rev-list", "--max-parents=0", "production")
    # production did not hold a at its first commit: a rollback there would remove it, not keep it
    commit_on(
        promoted,
        "production",
        {"a.mlem": git(promoted, "show", "production:a.mlem") + "# note\n"},
        f"Roll back a on production\n\nMr-Action: rollback\nMr-Link: a\nMr-Rollback-To: {first}",
    )
    entry = history(mr)[0]
    assert entry["kind"] == "direct change"
    assert entry["note"] == f"claims a rollback to {first[:7]} that does not match"
    commit_on(
        promoted,
        "production",
        {"a.mlem": git(promoted, "show", "production:a.mlem") + "# kept\n"},
        "Retire a\n\nMr-Action: retire\nMr-Link: a",
    )
    entry = history(mr)[0]
    assert (entry["kind"], entry["note"]) == ("direct change", "claims a retirement but keeps the link")


def test_genuine_rollbacks_and_retirements_are_believed(promoted: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.rollback(["a"], "production")
    api.retire(["a"], "staging")
    kinds = [(e["stage"], e["kind"], e["note"]) for e in history(mr)]
    assert ("production", "rollback", None) in kinds and ("staging", "retirement", None) in kinds
    assert all(k != "direct change" or s == "dev" for s, k, _ in kinds)


def _churn(registry: Path, project: Path, start: int, rounds: int) -> None:
    """``rounds`` releases of a, each promoted to staging and production, with a rollback every third."""
    for i in range(start, start + rounds):
        (project / "models" / "rf.mlem").write_text(f"object_type: model\n# {i}\n")
        git(project, "commit", "-qam", f"retrain {i}")
        tag(project, f"v1.{i}")
        git(registry, "checkout", "-q", "dev")
        api.link("models/rf", source_project=str(project), target="a", rev=f"v1.{i}", force=True)
        git(registry, "add", "-A")
        git(registry, "commit", "-qm", f"a v1.{i}")
        api.promote(["a"], "staging")
        api.promote(["a"], "production")
        if i % 3 == 2:
            api.rollback(["a"], "production")


def test_history_asks_git_the_same_number_of_walks_however_long_it_is(  # type: ignore[no-untyped-def]
    registry: Path, project: Path, mr, monkeypatch
) -> None:
    """Each change once asked git whether it was in each stage's history (a walk of that
    history), which made the view quadratic: 20,000 changes never finished."""
    from mr import git as mrgit

    walks: list[str] = []
    for name in ("is_ancestor", "history_of", "first_parents"):
        real = getattr(mrgit, name)

        def counted(*args, _real=real, _name=name):  # type: ignore[no-untyped-def]
            walks.append(_name)
            return _real(*args)

        monkeypatch.setattr(mrgit, name, counted)
    counts = []
    for start in (0, 3):  # 3 releases, then 6
        _churn(registry, project, start, 3)
        walks.clear()
        entries = history(mr)
        kinds = {e["kind"] for e in entries}
        assert kinds == {"direct change", "promotion", "rollback"}, kinds
        assert all(e["note"] is None for e in entries)
        counts.append((len(entries), len(walks)))
    (short, asked), (long, asked_again) = counts
    assert long > short
    assert asked_again == asked, counts
