"""``mr show --stage S --at WHEN`` and ``mr show NAME --at WHEN``: what was live then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from tests.helpers import commit_all, git

LINK = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: {rev}\n"


@pytest.fixture
def dated(registry: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """production: churn at v1 on 1 October, v2 on 15 October, removed on 2 November (UTC, noon)."""
    git(registry, "checkout", "-q", "production")
    shas = {}
    for day, rev in (("2026-10-01", "v1"), ("2026-10-15", "v2"), ("2026-11-02", None)):
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{day}T12:00:00Z")
        monkeypatch.setenv("GIT_AUTHOR_DATE", f"{day}T12:00:00Z")
        if rev is None:
            git(registry, "rm", "-q", "churn.mlem")
            git(registry, "commit", "-qm", "retire churn")
        else:
            (registry / "churn.mlem").write_text(LINK.format(rev=rev))
            commit_all(registry, f"churn {rev}")
        shas[day] = git(registry, "rev-parse", "HEAD")
    git(registry, "checkout", "-q", "dev")
    return shas


def revs(mr, *args: str) -> tuple[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    r = mr("show", *args, "--json")
    return r.code, (json.loads(r.out) if r.out else {"err": r.err})


@pytest.mark.parametrize(
    ("moment", "day", "rev"),
    [
        ("2026-10-01T12:00:00Z", "2026-10-01", "v1"),  # the second it was committed
        ("2026-10-10T00:00Z", "2026-10-01", "v1"),  # between changes
        ("2026-10-20T00:00+02:00", "2026-10-15", "v2"),
        ("2026-11-03T00:00Z", "2026-11-02", None),  # after the retirement: gone
        ("now", "2026-11-02", None),
    ],
)
def test_a_stage_as_it_was(dated: dict[str, str], moment: str, day: str, rev: str | None, mr) -> None:  # type: ignore[no-untyped-def]
    code, data = revs(mr, "--stage", "production", "--at", moment)
    assert code == 0, data
    assert data["commit"] == dated[day]
    links = {e["name"]: e["rev"] for e in data["links"]}  # type: ignore[union-attr]
    assert links.get("churn") == rev


def test_a_link_on_every_stage_as_it_was(dated: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    code, data = revs(mr, "churn", "--at", "2026-10-20T00:00Z")
    assert code == 0, data
    production = data["stages"]["production"]  # type: ignore[index]
    assert production["commit"] == dated["2026-10-15"] and production["link"]["rev"] == "v2"
    r = mr("show", "churn", "--at", "2026-10-20T00:00Z")
    assert r.code == 0 and "churn as it was at" in r.out and "v2" in r.out


def test_before_the_stage_existed_is_one_line(dated: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", "--stage", "production", "--at", "2001-01-01")
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert (
        len(lines) == 1 and "production did not exist yet at 2001-01-01" in lines[0] and "its first commit" in lines[0]
    )


def test_before_every_stage_existed_names_none(dated: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", "churn", "--at", "@1")
    assert r.code == 1 and "no stage existed yet" in r.err


@pytest.mark.parametrize(
    "args",
    [
        ("--at", "2026-10-10"),  # the work tree has no past
        ("--all-stages", "--at", "2026-10-10"),
        ("--diff", "dev", "production", "--at", "2026-10-10"),
        ("churn", "--field", "rev", "--at", "2026-10-10"),
    ],
)
def test_at_goes_with_a_stage_or_a_name(dated: dict[str, str], args: tuple[str, ...], mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", *args)
    assert r.code == 2 and "--at goes with" in r.err


def test_a_moment_that_is_not_one_is_refused(dated: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", "--stage", "production", "--at", "last tuesday\x1b[31m")
    assert r.code == 2 and "not a moment mr reads" in r.err and "\x1b" not in r.err


def test_the_text_view_names_the_commit(dated: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("show", "--stage", "production", "--at", "2026-10-10T00:00Z")
    assert r.code == 0
    assert "production as it was at " in r.out and f"commit {dated['2026-10-01'][:12]} of 2026-10-01" in r.out


def test_api(dated: dict[str, str]) -> None:
    result = api.show(stage="production", at="2026-10-20T00:00Z")
    assert result.commit == dated["2026-10-15"] and [e.link.rev for e in result.entries if e.name == "churn"] == ["v2"]
    then = api.link_at("churn", "2026-10-10T00:00Z")
    assert {s.stage: s.link.rev if s.link else None for s in then.stages}["production"] == "v1"
