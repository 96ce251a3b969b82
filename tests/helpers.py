"""Building real git repositories for tests, with the git command line.

Fixtures are made with git itself, not with mr's own git module, so a bug
there cannot hide behind a matching bug here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL = "object_type: model\nprocessors: {}\nrequirements: []\n"
DATA = "object_type: data\nreader: {}\n"


def git(cwd: Path | str, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def commit(root: Path, files: dict[str, str], message: str = "change") -> str:
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def commit_all(root: Path, message: str = "links") -> str:
    """Commit everything in the work tree of ``root``; return the new commit."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def make_project(
    root: Path,
    files: dict[str, str] | None = None,
    branch: str = "main",
) -> Path:
    """A MLEM project: a git repository with .mlem.yaml and a model, one commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", branch)
    commit(root, {".mlem.yaml": "", "models/rf.mlem": MODEL, **(files or {})}, "first")
    return root


def tag(root: Path, name: str, annotated: bool = True, rev: str = "HEAD") -> str:
    if annotated:
        git(root, "tag", "-a", "-m", f"release {name}", name, rev)
    else:
        git(root, "tag", name, rev)
    return git(root, "rev-parse", f"{name}^{{commit}}")


@dataclass
class Result:
    code: int
    out: str
    err: str


def examples(n: int) -> int:
    """How many examples a property test draws: ``n``, or a tenth of it (at least 20) under mutation testing.

    mutmut sets MUTANT_UNDER_TEST and runs the tests once per mutant; a mutant
    is almost always caught by the first examples or the explicit ones.
    """
    return max(20, n // 10) if "MUTANT_UNDER_TEST" in os.environ else n


def self_hosted(git_daemon: Any, home: Path, name: str) -> str:
    """A project ``name`` (its MLEM project in ml/) served by ``git_daemon`` and reached as a
    self-hosted GitLab web URL, git.corp.example mapped onto the daemon by url.insteadOf in
    ``home``'s git config: the URL of ml/ at main."""
    make_project(git_daemon.base / name, {"ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL})
    git(home, "config", "--global", f"url.{git_daemon.url('')}.insteadOf", "https://git.corp.example/team/")
    return f"https://git.corp.example/team/{name}/-/tree/main/ml"


def with_seams(
    verb: str,
    *args: Any,
    before_swap: Callable[[Any], None] | None = None,
    before_push: Callable[[Any], None] | None = None,
    registry: str | None = None,
    **kwargs: Any,
) -> Any:
    """Run ``promote``, ``rollback`` or ``retire`` as ``mr.api`` does (``plan_on``, ``replan``,
    ``stagecommit.plan_and_land``), with seams to lose its races.

    ``before_swap`` runs just before the branch moves, ``before_push`` before
    the commit is pushed: each with the plan, for this one command only.
    """
    from mr import stagecommit
    from mr.commands import promote, retire, rollback
    from mr.registry import Registry

    module = {"promote": promote, "rollback": rollback, "retire": retire}[verb]
    seams = stagecommit.Seams(before_swap=before_swap, before_push=before_push)
    how = {k: kwargs.pop(k) for k in ("push", "branch", "force", "sign", "fetch") if k in kwargs}
    landing = stagecommit.Landing(**how, seams=seams)
    reg = Registry.open(registry)
    names, stage = args[0], args[1] if len(args) > 1 else kwargs.pop("to", kwargs.pop("stage", None))
    wanted = names if isinstance(names, list) else []
    return stagecommit.plan_and_land(
        reg,
        None if isinstance(names, list) else names,
        stage,
        lambda at: module.plan_on(reg, wanted, at, **kwargs),
        lambda p: module.replan(reg, p),
        landing,
        "say which stage",
    )


class Terminal:
    """An interactive bash in a real terminal (tmux, which .ci/run installs), started from ``rc``."""

    def __init__(self, name: str, rc: Path, width: int, height: int) -> None:
        import shutil

        if shutil.which("tmux") is None:
            import pytest

            pytest.fail("tmux is needed (.ci/run installs it)")
        self.sock = name
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), f"bash --noprofile --rcfile {rc} -i")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True, check=True).stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def wait_for(self, text: str, seconds: float = 30) -> str:
        """The screen once ``text`` is on it (an event, not a clock: ``seconds`` only bounds a hang)."""
        import time

        import pytest

        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.tmux("capture-pane", "-p")
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True)


def serve_http(handler: Any) -> tuple[str, Callable[[], None]]:
    """A threaded web server on 127.0.0.1 with ``handler`` (a request handler class, or a factory):
    its URL, and the call that stops it."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop
