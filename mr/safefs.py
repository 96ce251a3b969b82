"""Reading and writing inside the registry without following symlinks.

Everything a repository holds is untrusted: a link file, a folder on the way
to it, or ``.mr.yaml`` may be a symlink to anywhere (``~/.ssh/authorized_keys``)
or a FIFO that blocks a reader forever. Every path mr reads or writes under
the registry root goes through here: each component must be a real folder,
the last a regular file (or absent, to be created).

Checking a path and then opening it by name would leave a window in which
another process (a ``git checkout`` of a hostile branch running meanwhile)
swaps a folder for a symlink. So reads and writes never use the joined path:
the root is opened, then each folder relative to the one before it with
``O_NOFOLLOW | O_DIRECTORY``, and the file is opened, created and renamed
relative to the last folder's descriptor. A folder swapped after it was
opened changes nothing: the descriptor still names the folder that was
checked. ``check`` and ``worktree_problem`` only ask (for messages before any
work starts); they are never what keeps a write inside the registry.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

from mr.errors import FileSystemError, UnsafePath

if TYPE_CHECKING:
    from collections.abc import Callable

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FOLDER_FLAGS = _DIR_FLAGS | os.O_NOFOLLOW
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_SYMLINKS = "mr never reads or writes through symlinks"

# A seam for tests: called with the registry path of each folder just opened
# (relative to the root), and with the target's path once its temporary file
# is written, just before the rename. It lets a test swap a path in between.
_between: Callable[[str], None] | None = None


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


def _parts(rel: str) -> list[str]:
    return [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]


def worktree_problem(root: str, rel: str) -> str | None:
    """Why ``root/rel`` cannot be read or written as a regular file in the registry, or None.

    A missing file (or missing folders on the way) is no problem: it can be created.
    """
    problem = _unsafe(root, rel)
    return problem.message if problem is not None else None


def _unsafe(root: str, rel: str) -> UnsafePath | None:
    parts = _parts(rel)
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
            return UnsafePath.at(shown, what, _SYMLINKS)
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


def _open_folder(parent: int, name: str, shown: str) -> int:
    """``name`` in the folder ``parent`` opened as a folder, never through a symlink."""
    try:
        return os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    except OSError as e:
        if e.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        # Linux gives ENOTDIR for a symlink opened with O_DIRECTORY | O_NOFOLLOW: ask what it is
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError:
            raise e from None
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath.at(shown, "a symlinked folder", _SYMLINKS) from None
        raise UnsafePath.at(shown, "not a folder") from None


def _walk(root: str, folders: list[str], create: bool) -> int | None:
    """A descriptor of ``root/folders``, each opened relative to the one before it.

    Missing folders are made when ``create`` (a folder made meanwhile by someone
    else is fine, a symlink is not); otherwise a missing folder gives None.
    The caller closes the descriptor.
    """
    fd = os.open(root, _DIR_FLAGS)
    try:
        for i, name in enumerate(folders):
            shown = "/".join(folders[: i + 1])
            try:
                child = _open_folder(fd, name, shown)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                try:
                    os.mkdir(name, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                child = _open_folder(fd, name, shown)
            os.close(fd)
            fd = child
            if _between is not None:
                _between(shown)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_at(folder: int, name: str, shown: str) -> bytes:
    """The regular file ``name`` in the folder ``folder`` (without following a symlink or blocking on a FIFO)."""
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=folder)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePath.at(shown, "a symlink, not a regular file", "mr never follows symlinks") from None
        if isinstance(e, (FileNotFoundError, IsADirectoryError)):
            raise
        raise os_error(e, shown) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", shown)
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


def read_regular(path: str, shown: str | None = None) -> bytes:
    """The content of ``path``, refusing a symlink or a non-regular file (without blocking on a FIFO).

    The folders on the way are the caller's (a path named on the command line);
    for a file inside the registry use ``read_file``. ``FileNotFoundError`` and
    ``IsADirectoryError`` pass through.
    """
    shown = shown or path
    folder, name = os.path.split(os.path.abspath(path))
    try:
        fd = os.open(folder, _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as e:
        raise os_error(e, shown) from None
    try:
        return _read_at(fd, name, shown)
    finally:
        os.close(fd)


def read_file(root: str, rel: str, shown: str | None = None) -> bytes:
    """``root/rel`` reached folder by folder from ``root``, refusing a symlink on the way or at the end.

    ``FileNotFoundError`` (also for a missing folder) and ``IsADirectoryError`` pass through;
    ``shown`` names the file in messages about it (``rel`` by default).
    """
    parts = _parts(rel)
    if not parts or ".." in parts:
        raise UnsafePath(f"{rel}: not a path inside the registry")
    try:
        folder = _walk(root, parts[:-1], create=False)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise os_error(e, "/".join(parts[:-1]) or root) from None
    if folder is None:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", rel)
    try:
        return _read_at(folder, parts[-1], shown or rel)
    finally:
        os.close(folder)


def read_in(root: str, rel: str) -> bytes | None:
    """``root/rel`` read safely: None when absent, ``UnsafePath`` when no regular file inside ``root``."""
    try:
        return read_file(root, rel)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise UnsafePath.at(rel, "a folder, not a regular file") from None
    except (UnsafePath, FileSystemError):
        # only now ask what is there, for the usual message; if it changed meanwhile, the reader's stands
        check(root, rel)
        raise


def os_error(e: OSError, path: str | None = None) -> FileSystemError:
    """One line naming the path and the cause of an operating-system failure."""
    where = path or e.filename or ""
    cause = e.strerror or str(e)
    return FileSystemError(f"{where}: {cause}" if where else cause)


def _write_at(folder: int, name: str, data: bytes, shown: str) -> None:
    """Replace ``name`` in the folder ``folder`` with ``data`` through a temporary file and a rename.

    The existing file keeps its mode; a new one gets the umask's. A symlink or a
    non-regular file there is refused (and the rename replaces whatever is
    there by then rather than following it).
    """
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        mode = None
    else:
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath.at(shown, "a symlink", _SYMLINKS)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath.at(shown, f"{_kind(st.st_mode)}, not a regular file")
        mode = stat.S_IMODE(st.st_mode)
    for _ in range(100):
        tmp = "." + os.urandom(8).hex() + ".tmp"
        try:
            # a new file: 0o666 less the umask, as the kernel applies it
            fd = os.open(tmp, _TEMP_FLAGS, 0o600 if mode is not None else 0o666, dir_fd=folder)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary file name", shown)
    renamed = False
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if _between is not None:
            _between(shown)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        renamed = True
        try:
            os.fsync(folder)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system that cannot sync a folder
                raise
    except BaseException:
        if not renamed:
            try:
                os.unlink(tmp, dir_fd=folder)
            except FileNotFoundError:
                pass
        raise


def write_in(root: str, rel: str, data: bytes) -> None:
    """Write ``data`` to ``root/rel`` atomically, making missing folders, never through a symlink.

    ``UnsafePath`` when a folder on the way is a symlink or no folder, or the
    file is a symlink or no regular file; an operating-system failure (a full
    disk, a read-only file system) is a one-line ``FileSystemError``.
    """
    check(root, rel)
    parts = _parts(rel)
    try:
        folder = _walk(root, parts[:-1], create=True)
        assert folder is not None
        try:
            _write_at(folder, parts[-1], data, rel)
        finally:
            os.close(folder)
    except OSError as e:
        raise os_error(e, rel) from None
