"""Streaming a blob out of a repository with ``git cat-file blob``, hashing it on the way.

pygit2 would hand back a blob as one bytes object; artifacts are large, so
they are copied in chunks from git's stdout instead. ``cat-file blob`` never
applies filters, so nothing of the source (smudge, LFS) runs.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from typing import BinaryIO

from mr.errors import GitError
from mr.urls import safe_text

#: Bytes copied at a time.
CHUNK = 1024 * 1024


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"):
        env.pop(var, None)
    # the blobs were fetched first: a missing one is an error, not a download
    env["GIT_NO_LAZY_FETCH"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def copy(repo_path: str, oid: str, sink: BinaryIO | None) -> tuple[int, str]:
    """Write blob ``oid`` of the repository at ``repo_path`` to ``sink`` (None: only hash it).

    Returns its size and md5 (hex).
    """
    try:
        proc = subprocess.Popen(
            ["git", "cat-file", "blob", oid],
            cwd=repo_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(),
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (mr uses it to copy files out of repositories); install git") from None
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            chunk = proc.stdout.read(CHUNK)
            if not chunk:
                break
            md5.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
        err = proc.stderr.read()
        code = proc.wait()
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    if code != 0:
        lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise GitError(f"git cat-file blob {oid[:12]} failed: {safe_text(lines[-1] if lines else str(code))}")
    return size, md5.hexdigest()


def hash_file(fd: int) -> tuple[int, str]:
    """Size and md5 of an open file, read in chunks."""
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        md5.update(chunk)
        size += len(chunk)
    return size, md5.hexdigest()
