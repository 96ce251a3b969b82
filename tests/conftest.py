from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from pygit2.enums import ConfigLevel

from mr.cli import main
from tests.helpers import Result, make_project


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of its own with a git identity, no system config, a private cache."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        '[protocol "file"]\n\tallow = always\n'
    )
    for var in list(os.environ):
        if var.startswith(("GIT_", "MR_")) or var in ("EMAIL", "FORCE_COLOR", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("MR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    # libgit2 read HOME when pygit2 was imported; point it at this one
    paths = pygit2.settings.search_path
    paths[ConfigLevel.GLOBAL] = str(home)
    paths[ConfigLevel.XDG] = str(home / ".config" / "git")
    paths[ConfigLevel.SYSTEM] = str(tmp_path / "no-system")
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A model project with models/rf on main."""
    return make_project(tmp_path / "models")


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised registry (stages dev, staging, production), the current directory."""
    from mr import api

    path = tmp_path / "registry"
    api.init(str(path))
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def mr(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the mr CLI in-process, as ``mr(*args)`` -> Result(code, out, err)."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GitDaemon:
    """A real ``git daemon`` on 127.0.0.1 serving every repository under ``base``."""

    def __init__(self, base: Path, push: bool = False) -> None:
        self.base = base
        #: serve receive-pack too, so clones can push
        self.push = push
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--informative-errors",
                f"--base-path={self.base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                *(["--enable=receive-pack"] if self.push else []),
                str(self.base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("git daemon did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="session")
def _daemon_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def git_daemon(_daemon_base: Path) -> Iterator[GitDaemon]:
    if shutil.which("git") is None:
        pytest.fail("git is needed for the remote tests")
    daemon = GitDaemon(_daemon_base)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def served(git_daemon: GitDaemon, tmp_path: Path) -> tuple[Path, str]:
    """A model project served by the git daemon: (its path, its git:// URL)."""
    name = tmp_path.name
    path = make_project(git_daemon.base / name)
    return path, git_daemon.url(name)


# Real servers on 127.0.0.1 for the wire tests (smart HTTP(S), proxies, sshd, trickling TCP).
from tests.servers import (  # noqa: E402,F401
    connect_proxy,
    connect_proxy_auth,
    http_auth_server,
    http_header_server,
    http_proxy,
    http_server,
    http_token_server,
    https_server,
    sshd,
    stalled_pkt_line,
    trickler,
    wire_daemon,
    wire_root,
)
