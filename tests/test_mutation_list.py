"""The reviewed list of equivalent mutants stays true to the code (mutation testing itself is
``python benchmarks/mutation.py``, too slow for every run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
