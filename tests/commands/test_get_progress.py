"""``mr get`` shows its transfer on a terminal (bytes done, total, rate), and nothing when piped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.commands.test_get import link_and_commit, meta, model_project

BIG = os.urandom(3 * 1024 * 1024)  # one chunk of the pipe at a time: the bar has bytes to count


@pytest.fixture
def big_model(registry: Path, tmp_path: Path) -> Path:
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": ("rf", BIG)}), "models/rf": BIG})
    link_and_commit(registry, "../models")
    return registry


def _tmux(sock: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, check=True).stdout


def test_a_terminal_sees_the_bytes_copied_and_checked(big_model: Path, tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed (.ci/run installs it)")
    sock = f"mr-progress-{os.getpid()}"
    rc = tmp_path / "bashrc"
    rc.write_text(
        f"export PATH='{Path(sys.executable).parent}:{os.environ['PATH']}'\n"
        f"export MR_PROGRESS_AFTER=0\ncd '{big_model}'\nPS1='$ '\n"
    )
    _tmux(sock, "new-session", "-d", "-x", "150", "-y", "30", f"bash --noprofile --rcfile {rc} -i")

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 30
        screen = ""
        while time.monotonic() < deadline:
            screen = _tmux(sock, "capture-pane", "-p")
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared:\n{screen}")

    try:
        wait_for("$")
        _tmux(sock, "send-keys", f"mr get churn -o {tmp_path / 'out'}; echo done-$?", "Enter")
        screen = wait_for("done-0")
        line = next(ln for ln in screen.splitlines() if "copying and checking" in ln)
        assert "3.1/3.1 MB" in line, line  # done and total, in bytes
        assert "Wrote churn" in screen
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


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
