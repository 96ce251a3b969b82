"""The wheel, installed in fresh virtual environments by pip and by pipx."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: slow (builds the wheel and installs it with pip and pipx): left out of the everyday loop, run by CI
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DATA = [
    "share/man/man1/mr.1",
    "share/man/man1/mr-promote.1",
    "share/man/man1/mr-rollback.1",
    "share/man/man1/mr-retire.1",
    "share/bash-completion/completions/mr",
    "share/zsh/site-functions/_mr",
    "share/fish/vendor_completions.d/mr.fish",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src")
    # build from a copy: a build must not depend on (or litter) the checkout
    shutil.copytree(
        ROOT, src / "mr", ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".venv")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src / "mr")],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("mr_registry-*.whl")
    return found


def test_pip_install_of_the_wheel(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    r = subprocess.run([str(pip), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    for path in DATA:
        assert (venv / path).is_file(), path
    assert (venv / "share/bash-completion/completions/mr").read_text() == (ROOT / "completions/mr").read_text()
    version = subprocess.run([str(venv / "bin" / "mr"), "--version"], capture_output=True, text=True, check=True).stdout
    meta = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('mr-registry'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version.strip() == f"mr {meta}"
    # the installed tool works outside the checkout
    reg = tmp_path / "reg"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run(
        [str(venv / "bin" / "mr"), "init", str(reg)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert (reg / ".mr.yaml").is_file()


def test_pipx_install(wheel: Path, tmp_path: Path) -> None:
    pipx = shutil.which("pipx", path=os.path.dirname(sys.executable)) or shutil.which("pipx")
    assert pipx, "pipx is part of the test extra"
    env = dict(
        os.environ,
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
        PIPX_DEFAULT_PYTHON=sys.executable,
    )
    r = subprocess.run([pipx, "install", str(wheel)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run([str(tmp_path / "bin" / "mr"), "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("mr ")
    assert (tmp_path / "man" / "man1" / "mr.1").is_file()
