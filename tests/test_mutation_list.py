"""The reviewed list of equivalent mutants stays true to the code (mutation testing itself is
``python benchmarks/mutation.py``, too slow for every run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import mutation  # noqa: E402


def test_every_listed_equivalent_mutant_names_a_line_still_in_the_code() -> None:
    entries = mutation.read_equivalents()
    assert entries, "the list is read"
    assert mutation.stale_equivalents(entries) == []


def test_a_stale_entry_is_reported(tmp_path: Path) -> None:
    listed = tmp_path / "eq.txt"
    listed.write_text(
        "mr.locations.x_parse__mutmut_1 | this line is not in the module | why\nmr.nosuch.x_f__mutmut_1 | x = 1 | why\n"
    )
    problems = mutation.stale_equivalents(mutation.read_equivalents(listed))
    assert problems == [
        "mr.locations.x_parse__mutmut_1: the line 'this line is not in the module' is no longer in mr/locations.py",
        "mr.nosuch.x_f__mutmut_1: no such module",
    ]


def test_the_check_command_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mutation.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("equivalent mutants listed, 0 stale")


def test_every_scope_names_a_module_functions_and_tests_that_exist() -> None:
    assert mutation.stale_scopes() == []
    write_path = mutation.SCOPES["gitwrite"]
    assert write_path.module == "git" and "commit_files" in write_path.functions


def test_a_renamed_function_or_test_file_makes_its_scope_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mr").mkdir()
    (tmp_path / "mr" / "git.py").write_text(
        "def commit_files(repo):\n    pass\n\n\ndef _tree_with_renamed():\n    pass\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_git.py").write_text("def test_kept():\n    pass\n")
    monkeypatch.setattr(
        mutation,
        "SCOPES",
        {
            "w": mutation.Scope(
                "git",
                ("tests/test_git.py", "tests/test_gone.py"),
                ("commit_files", "_tree_with"),
                deselect=("tests/test_git.py::test_renamed", "tests/test_git.py::test_kept"),
            ),
            "x": mutation.Scope("nosuch", ()),
        },
    )
    assert mutation.stale_scopes(tmp_path) == [
        "scope w: no function _tree_with in mr/git.py",
        "scope w: no test file tests/test_gone.py",
        "scope w: no test tests/test_git.py::test_renamed to leave out",
        "scope x: no module mr/nosuch.py",
    ]


def test_a_function_scope_covers_only_its_functions_mutants() -> None:
    scope = mutation.Scope("git", (), ("commit_files", "_tree_with"))
    assert scope.patterns() == ["mr.git.x_commit_files__mutmut_*", "mr.git.x__tree_with__mutmut_*"]
    assert [scope.covers(m) for m in ("mr.git.x_commit_files__mutmut_3", "mr.git.x__tree_with__mutmut_12")] == [
        True,
        True,
    ]
    assert [scope.covers(m) for m in ("mr.git.x_commit_files_x__mutmut_1", "mr.git.x_log__mutmut_1")] == [False, False]
    whole = mutation.Scope("urls", ())
    assert (whole.covers("mr.urls.x_redact__mutmut_1"), whole.covers("mr.urlsx.x_f__mutmut_1")) == (True, False)
