"""Streaming a blob out of a repository with ``git cat-file blob``, hashing it on the way.

pygit2 would hand back a blob as one bytes object; artifacts are large, so
they are copied in chunks from git's stdout instead. ``cat-file blob`` never
applies filters, so nothing of the source (smudge, LFS) runs.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO

from mr import gitexe
from mr.errors import GitError
from mr.model import SHORT_SHA
from mr.terminal import field as safe_text

#: Bytes copied at a time.
CHUNK = 1024 * 1024
#: git streams a blob over core.bigFileThreshold from the pack instead of inflating it whole
#: in memory, and maps the pack through small windows: its memory stays a few MiB
#: whatever the blob's size.
_STREAMING = [
    "-c",
    "core.bigFileThreshold=1m",
    "-c",
    "core.packedGitWindowSize=1m",
    "-c",
    "core.packedGitLimit=16m",
]


#: the blobs were fetched first: a missing one is an error, not a download
_NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1"}


def copy(
    repo_path: str, oid: str, sink: BinaryIO | None, on_chunk: Callable[[int], None] | None = None
) -> tuple[int, str]:
    """Write blob ``oid`` of the repository at ``repo_path`` to ``sink`` (None: only hash it).

    Returns its size and md5 (hex). ``on_chunk`` is told the size of each chunk as it passes.
    """
    proc = gitexe.spawn(
        [*_STREAMING, "cat-file", "blob", oid], cwd=repo_path, env=_NO_LAZY_FETCH, what="copy files out of repositories"
    )
    assert proc.stdout is not None and proc.stderr is not None
    fd = proc.stdout.fileno()
    _widen(fd)
    hasher = _Hasher()
    size = 0
    try:
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            hasher.put(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
        err = proc.stderr.read()
        code = proc.wait()
        gitexe.forget(proc)
    except BaseException:
        gitexe.kill(proc)
        raise
    finally:
        digest = hasher.close()
        proc.stdout.close()
        proc.stderr.close()
    if code != 0:
        lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise GitError(f"git cat-file blob {oid[:SHORT_SHA]} failed: {safe_text(lines[-1] if lines else str(code))}")
    return size, digest


def _widen(fd: int) -> None:
    """Ask for a 1 MiB pipe (Linux), so git and mr trade fewer, larger chunks."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), CHUNK)
    except (OSError, ImportError):
        pass


class _Hasher:
    """md5 in a thread of its own (hashlib releases the GIL), so hashing overlaps reading and writing."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)  # at most 8 MiB in flight
        self._thread = threading.Thread(target=self._run, name="mr-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            self._md5.update(chunk)

    def put(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return self._md5.hexdigest()


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
