"""The benchmark harness runs (a smoke test: no timing is asserted here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: slow (runs every local benchmark case once): left out of the everyday loop, run by CI
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def test_short_mode_runs_every_local_case(tmp_path: Path) -> None:
    env = dict(os.environ, MR_BENCH_CACHE=str(tmp_path / "cache"))
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--short"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| case | baseline |")
    cases = [row.split(" | ")[0].lstrip("| ") for row in table[1:]]
    assert any(c.startswith("mr verify") for c in cases)
    assert any(c.startswith("mr promote") for c in cases)
    assert any(c.startswith("cold mr get") for c in cases)
    assert "mr show --registry URL (second call)" in cases
    assert "mr --help" in cases
    # git doing the same work itself, beside the history view and a promotion at scale
    references = [row for row in table if "| reference, no target |" in row]
    assert [r.split(" | ")[1] for r in references] == [
        "git log printing what mr reads of each change (author, times, message, the file's blob ids)",
        "git's own commit of one changed file (git mktree of the edited root tree, git commit-tree)",
    ]
