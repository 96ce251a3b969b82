"""Reading and writing inside the registry without following symlinks.

Everything a repository holds is untrusted: a link file, a folder on the way
to it, or ``.mr.yaml`` may be a symlink to anywhere (``~/.ssh/authorized_keys``)
or a FIFO that blocks a reader forever. Every path mr reads or writes under
the registry root goes through here: each component must be a real folder,
the last a regular file (or absent, to be created).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile

from mr.errors import FileSystemError, UnsafePath


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def path_problem(root: str, rel: str) -> str | None:
    """Why ``root/rel`` cannot be read or written as a regular file in the registry, or None.

    A missing file (or missing folders on the way) is no problem: it can be created.
    """
    problem = _unsafe(root, rel)
    return problem.message if problem is not None else None


def _unsafe(root: str, rel: str) -> UnsafePath | None:
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return UnsafePath(f"{rel}: not a path inside the registry")
    here = root
    for i, part in enumerate(parts):
        here = os.path.join(here, part)
        shown = "/".join(parts[: i + 1])
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return UnsafePath.at("/".join(parts[:i]), "not a folder")
        except OSError as e:
            return UnsafePath(f"{shown}: {e.strerror or e}")
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            what = "a symlink" if last else "a symlinked folder"
            return UnsafePath.at(shown, what, "mr never reads or writes through symlinks")
        if not last and not stat.S_ISDIR(st.st_mode):
            return UnsafePath.at(shown, "not a folder")
        if last and not stat.S_ISREG(st.st_mode):
            return UnsafePath.at(shown, f"{_kind(st.st_mode)}, not a regular file")
    return None


def check(root: str, rel: str) -> None:
    """Raise ``UnsafePath`` when ``root/rel`` is no regular file (or absent) reached through real folders."""
    problem = _unsafe(root, rel)
    if problem is not None:
        raise problem


def read_regular(path: str, shown: str | None = None) -> bytes:
    """The content of ``path``, refusing a symlink or a non-regular file (without blocking on a FIFO).

    ``FileNotFoundError`` and ``IsADirectoryError`` pass through.
    """
    shown = shown or path
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePath.at(shown, "a symlink, not a regular file", "mr never follows symlinks") from None
        if isinstance(e, (FileNotFoundError, IsADirectoryError)):
            raise
        raise os_error(e, shown) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath.at(shown, f"{_kind(st.st_mode)}, not a regular file", "mr never reads it")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_in(root: str, rel: str) -> bytes | None:
    """``root/rel`` read safely: None when absent, ``UnsafePath`` when no regular file inside ``root``."""
    check(root, rel)
    try:
        return read_regular(os.path.join(root, *rel.split("/")), rel)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise UnsafePath.at(rel, "a folder, not a regular file") from None


def os_error(e: OSError, path: str | None = None) -> FileSystemError:
    """One line naming the path and the cause of an operating-system failure."""
    where = path or e.filename or ""
    cause = e.strerror or str(e)
    return FileSystemError(f"{where}: {cause}" if where else cause)


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
