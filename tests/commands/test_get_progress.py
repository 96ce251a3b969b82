"""``mr get`` shows its transfer on a terminal (bytes done, total, rate), and nothing when piped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.test_get import link_and_commit, meta, model_project
from tests.helpers import Terminal

BIG = os.urandom(3 * 1024 * 1024)  # one chunk of the pipe at a time: the bar has bytes to count


@pytest.fixture
def big_model(registry: Path, tmp_path: Path) -> Path:
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": ("rf", BIG)}), "models/rf": BIG})
    link_and_commit(registry, "../models")
    return registry


def in_a_terminal(cwd: Path, tmp_path: Path, command: str) -> str:
    """The screen of a real terminal (tmux) once ``command`` has finished; its exit code is on it
    (``finished N``)."""
    rc = tmp_path / "bashrc"
    rc.write_text(
        f"export PATH='{Path(sys.executable).parent}:{os.environ['PATH']}'\n"
        f"export MR_PROGRESS_AFTER=0\ncd '{cwd}'\nPS1='$ '\n"
    )
    terminal = Terminal(f"mr-progress-{os.getpid()}-{tmp_path.name}", rc, 150, 30)
    try:
        terminal.wait_for("$")
        # the line typed does not hold the words it prints at the end: those say the command is done
        terminal.send(f"{command}; printf 'fin%s %s\\n' ished $?", "Enter")
        return terminal.wait_for("finished ")
    finally:
        terminal.close()


def test_a_terminal_sees_the_bytes_copied_and_checked(big_model: Path, tmp_path: Path) -> None:
    screen = in_a_terminal(big_model, tmp_path, f"mr get churn -o {tmp_path / 'out'}")
    assert "finished 0" in screen, screen
    line = next(ln for ln in screen.splitlines() if "copying and checking" in ln)
    assert "3.1/3.1 MB" in line, line  # done and total, in bytes
    assert "Wrote churn" in screen


def test_verify_artifacts_shows_the_bytes_it_reads_back(registry: Path, git_daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A remote source's artifacts are read back to be hashed: a terminal sees the bytes go by."""
    name = f"big-{tmp_path.name}"
    model_project(git_daemon.base / name, {"models/rf.mlem": meta({"data.pkl": ("rf", BIG)}), "models/rf": BIG})
    link_and_commit(registry, git_daemon.url(name))
    screen = in_a_terminal(registry, tmp_path, "mr verify --artifacts")
    assert "finished 0" in screen, screen
    line = next(ln for ln in screen.splitlines() if "reading artifacts back" in ln)
    assert "3.1/? MB" in line, line  # a total is not known before every link is read


@pytest.mark.parametrize("args", [(), ("--json",), ("-q",)])
def test_nothing_when_piped_quiet_or_json(big_model: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    out = tmp_path / f"out{len(args)}"
    r = subprocess.run(
        [sys.executable, "-m", "mr", "get", "churn", "-o", str(out), *args],
        cwd=big_model,
        capture_output=True,
        text=True,
        env=dict(os.environ, MR_PROGRESS_AFTER="0"),
    )
    assert r.returncode == 0, r.stderr
    assert "copying" not in r.stderr and "\x1b" not in r.stderr
