"""Completing link names from the work tree: every name that fits, and only folders that can hold one walked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import complete


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["churn.mlem", "chart.mlem", "fraud.mlem", "team/churn.mlem", "team/a/b.mlem", "teams/x.mlem"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hidden.mlem").write_text("")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "far.mlem").write_text("")
    os.symlink(outside, tmp_path / "linked")
    return tmp_path


@pytest.mark.parametrize(
    ("incomplete", "names"),
    [
        ("", ["chart", "churn", "fraud", "team/a/b", "team/churn", "teams/x"]),
        ("ch", ["chart", "churn"]),
        ("team", ["team/a/b", "team/churn", "teams/x"]),
        ("team/", ["team/a/b", "team/churn"]),
        ("team/a/", ["team/a/b"]),
        ("linked/", []),
        (".git/", []),
        ("zzz", []),
    ],
)
def test_link_names_that_start_with_what_was_typed(tree: Path, incomplete: str, names: list[str]) -> None:
    assert sorted(complete._link_names(str(tree), incomplete)) == names


def test_folders_that_cannot_hold_a_match_are_not_read(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    real = os.scandir

    def scandir(path: str):  # type: ignore[no-untyped-def]
        read.append(os.path.relpath(path, tree))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert list(complete._link_names(str(tree), "team/a")) == ["team/a/b"]
    assert sorted(read) == [".", "team", "team/a"]
