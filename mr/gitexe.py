"""The one way mr runs the ``git`` executable, with one environment rule.

Fetches, pushes, remote listings, blob streaming, commit signing and
completion all start git here. Each git:

- runs in a session of its own, with no terminal and no standard input
  unless given one, so it never prompts, and its whole process group (ssh,
  remote helpers) can be killed at once;
- dies with mr: on Linux the kernel sends it SIGKILL when the thread that
  started it ends (``PR_SET_PDEATHSIG``, through ``setpriv``), so a killed
  ``mr`` leaves no fetch behind; elsewhere ``stopped`` and the deadline end it;
- gets an environment from which every variable that points git at another
  repository or object store is removed (``REPOSITORY_VARIABLES``, with the
  reason for each): git sets them for hooks, and inside a hook they would send
  mr's fetches into the hook's repository;
- may use only the transports in ``ALLOWED_PROTOCOLS``, narrowed further by
  the user's ``GIT_ALLOW_PROTOCOL`` but never widened by it: URLs come from
  link files and stage content, and ``ext::`` would run a command they name.

This module imports nothing heavy: completion uses it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from mr.errors import GitError

#: Transports git may use for mr: never ``ext::``, ``fd::`` or other helpers
#: that run a command a link file names.
ALLOWED_PROTOCOLS = ("file", "git", "http", "https", "ssh")

#: Variables that point git at a repository, index, object store or ref
#: namespace other than the one mr names with ``-C``/``cwd``; git sets them for
#: the hooks it runs, and a user rarely does. Each is removed, for the reason given.
REPOSITORY_VARIABLES: Mapping[str, str] = {
    "GIT_DIR": "names the repository: a hook's, not the cache or registry mr runs git in",
    "GIT_WORK_TREE": "names a work tree: mr's git commands need none, and a hook's is not theirs",
    "GIT_INDEX_FILE": "names the index: a pre-commit hook's index, which mr must never write",
    "GIT_OBJECT_DIRECTORY": "sends fetched objects into another repository's object folder",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES": "reads objects from another repository: a hook's quarantine",
    "GIT_COMMON_DIR": "names the common folder of a linked work tree: another repository's",
    "GIT_NAMESPACE": "puts every ref mr reads and writes in a namespace a server hook runs in",
    "GIT_QUARANTINE_PATH": "a pre-receive hook's quarantine: refs may not be updated while it is set",
    "GIT_PREFIX": "the folder of a hook's caller, relative to its work tree: meaningless to mr",
    "GIT_SHALLOW_FILE": "names another repository's list of shallow commits",
    "GIT_PUSH_OPTION_COUNT": "push options a pre-receive hook was given: not mr's pushes",
}

#: Configuration passed on the command line of the git that ran a hook
#: (``git -c``): it is the hook caller's, so it is removed under a hook, and
#: kept when the user set it for mr.
CONFIG_VARIABLES = ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")


def _under_a_hook(env: Mapping[str, str]) -> bool:
    """Whether git started this process (a hook): it names a repository for it."""
    return any(var in env for var in ("GIT_DIR", "GIT_QUARANTINE_PATH", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"))


def allowed_protocols(user: str | None) -> str:
    """mr's transports, narrowed by the user's ``GIT_ALLOW_PROTOCOL`` (never widened by it)."""
    if user is None:
        return ":".join(ALLOWED_PROTOCOLS)
    wanted = {p.strip() for p in user.split(":")}
    return ":".join(p for p in ALLOWED_PROTOCOLS if p in wanted)


def environment(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git mr runs gets: ``base`` (default: mr's own) under the rule above, then ``extra``."""
    env = dict(os.environ if base is None else base)
    hooked = _under_a_hook(env)
    for var in REPOSITORY_VARIABLES:
        env.pop(var, None)
    for var in [v for v in env if v.startswith("GIT_PUSH_OPTION_")]:
        env.pop(var)
    if hooked:
        for var in CONFIG_VARIABLES:
            env.pop(var, None)
        for var in [v for v in env if v.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))]:
            env.pop(var)
    env["GIT_ALLOW_PROTOCOL"] = allowed_protocols(env.get("GIT_ALLOW_PROTOCOL"))
    # without a terminal git cannot prompt; saying so makes it fail at once
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    # messages are matched; keep them in git's own language
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    if extra:
        env.update(extra)
    return env


def _command(args: list[str], env: Mapping[str, str]) -> list[str] | None:
    """The argv that runs ``git args``; None when there is no git on ``PATH``.

    On Linux git is started through util-linux's ``setpriv --pdeathsig KILL``,
    which asks the kernel to kill it when the thread that started it ends (a
    killed mr); nothing runs in the child between fork and exec.
    """
    import shutil

    path = env.get("PATH", os.defpath)
    git = shutil.which("git", path=path)
    if git is None:
        return None
    if sys.platform.startswith("linux"):
        setpriv = shutil.which("setpriv", path=path) or shutil.which("setpriv", path="/usr/bin:/bin")
        if setpriv is not None:
            return [setpriv, "--pdeathsig", "KILL", "--", git, *args]
    return [git, *args]


# git processes running now, so that an interrupt caught in one thread can end
# those that other threads started (each in a session of its own, out of reach
# of the terminal's Ctrl-C).
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()
_stopping = threading.Event()


@contextlib.contextmanager
def stopped() -> Iterator[None]:
    """End every git this process runs, and start none, until the block ends."""
    _stopping.set()
    try:
        with _running_lock:
            procs = list(_running)
        for proc in procs:
            kill(proc)
        yield
    finally:
        _stopping.clear()


def stopping() -> bool:
    """Whether mr was interrupted and is ending its git processes."""
    return _stopping.is_set()


class Interrupted(GitError):
    """git was not started, or was ended, because mr is stopping."""


def spawn(
    args: list[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bool = False,
    what: str = "run git",
) -> subprocess.Popen[bytes]:
    """Start ``git args`` under the rule above, its output on pipes; ``finish`` or ``kill`` it.

    ``env`` holds variables added for this call; ``stdin`` gives it a pipe to
    write to (else it reads nothing); ``what`` says what git was for, in the
    message when git is missing.
    """
    full_env = environment(env)
    argv = _command(args, full_env)
    if argv is None:
        raise GitError(f"git is not installed (mr uses it to {what}); install git")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,
        )
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    with _running_lock:
        _running.add(proc)
        interrupted = _stopping.is_set()
    if interrupted:
        kill(proc)
        raise Interrupted("interrupted")
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    """End git and everything it started, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        proc.communicate(timeout=5)
    forget(proc)


def forget(proc: subprocess.Popen[bytes]) -> None:
    """git has ended: ``stopped`` no longer needs to end it."""
    with _running_lock:
        _running.discard(proc)


@dataclass(frozen=True)
class Result:
    """One finished run of git."""

    code: int
    out: bytes
    err: bytes

    def err_text(self) -> str:
        return self.err.decode("utf-8", "replace")


class TimedOut(GitError):
    """git did not finish before its deadline and was killed."""


def run(
    args: list[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,  # noqa: A002 - as subprocess names it
    deadline: float,
    what: str = "run git",
) -> Result:
    """Run ``git args`` to the end; past ``deadline`` (a ``time.monotonic()`` value) it is killed (``TimedOut``)."""
    proc = spawn(args, cwd=cwd, env=env, stdin=input is not None, what=what)
    try:
        out, err = proc.communicate(input=input, timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        kill(proc)
        raise TimedOut("timed out") from None
    except BaseException:
        kill(proc)
        raise
    forget(proc)
    return Result(proc.returncode, out, err)
