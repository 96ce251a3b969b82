"""The folder ``mr get`` writes: what it may replace, its receipt, and its temporary siblings.

``mr get`` writes into a temporary folder beside the target and renames it
into place. What it may replace is narrow on purpose, since ``--force`` is
typed by hand and copied into deploy scripts:

- never, whatever the flags: the current folder or any folder above it, ``/``,
  ``$HOME`` or a folder above it, the registry's root or a folder above it, a
  folder inside a git repository's own folder (``.git``, a bare repository), a
  git work tree or repository, a symlink, or anything that is not a folder;
- with ``--force`` only: a folder that holds a valid receipt (``.mr-get.json``)
  and nothing the receipt does not list.

Every temporary sibling (``.NAME.mr-get-XXXXXXXX`` while writing,
``.NAME.mr-old-XXXXXXXX`` while the old folder is moved aside) is held with an
advisory lock for as long as its process lives; the next ``mr get`` of the
same folder removes the ones no live process holds (a killed run's).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import posixpath
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mr.errors import OutputExists, OutputRefused, ReceiptError, UsageError
from mr.model import RECEIPT, RECEIPT_VERSION
from mr.terminal import field as safe_text

WRITING = "mr-get"
ASIDE = "mr-old"
#: ``mr site``'s temporary sibling while it writes
SITE_WRITING = "mr-site"
#: a sibling this new is left alone even when unlocked: its owner may not have locked it yet
STALE_AFTER_SECONDS = 10
#: how many unlisted files a refusal names before it counts the rest
NAMED = 5
MD5_LEN = 32
_SUFFIX = re.compile(r"[a-z0-9_]{8}")


def check_target(
    out: str | None,
    folder: str,
    force: bool,
    protected: Sequence[tuple[str, str]] = (),
    *,
    who: str = "mr get",
    replaceable: Callable[[str, str | None], None] | None = None,
) -> None:
    """Refuse ``folder`` as ``mr get``'s output unless it is new, or (with ``force``) a folder mr get wrote.

    ``out`` is the option as given (None: the default); ``protected`` pairs a
    folder that may be neither the target nor below it with how to name it
    (the registry's root). Nothing is read over the network before this.
    ``who`` and ``replaceable`` serve another command that writes a folder
    (``mr site``): its name in messages, and its own proof that it wrote the
    folder (``check_replaceable``'s receipt, by default).
    """
    if out is not None and out == "":
        raise UsageError("-o/--out is empty: name the folder to write")
    shown = safe_text(folder)
    real = os.path.realpath(folder)
    for place, what in _protected(protected):
        if real == place:
            raise OutputRefused(f"{shown} is {what}; {who} never replaces it")
        if _is_below(place, real):
            raise OutputRefused(f"{shown} is above {what} ({safe_text(place)}); {who} never replaces it")
    repo = _inside_git_dir(os.path.dirname(real))
    if repo is not None:
        raise OutputRefused(f"{shown} is inside the git repository folder {safe_text(repo)}; {who} never writes there")
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise OutputRefused(f"{shown} is a symlink; {who} replaces only a folder it wrote")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputRefused(f"{shown} is a file, not a folder; {who} replaces only a folder it wrote")
    if _is_git_dir(folder) or os.path.lexists(os.path.join(folder, ".git")):
        raise OutputRefused(f"{shown} is a git repository; {who} never replaces it")
    if not force:
        raise OutputExists(f"{shown} exists; pass --force to replace it (only a folder {who} wrote is replaced)")
    (replaceable or check_replaceable)(folder, None)


def check_replaceable(folder: str, shown: str | None = None) -> None:
    """Refuse unless ``folder`` holds a valid receipt and nothing the receipt does not list.

    ``shown`` is how messages name the folder (``folder`` itself by default).
    """
    shown = safe_text(folder if shown is None else shown)
    try:
        listed = listed_files(folder)
    except ReceiptError as e:
        if not os.path.lexists(os.path.join(folder, RECEIPT)):
            raise OutputRefused(
                f"{shown} has no {RECEIPT}: mr get did not write it, and --force replaces only a folder mr get wrote"
            ) from None
        raise OutputRefused(f"{shown} is not replaced: {e.message}") from None
    extra = unlisted(folder, listed)
    if extra:
        names = ", ".join(safe_text(e) for e in extra[:NAMED])
        more = f" and {len(extra) - NAMED} more" if len(extra) > NAMED else ""
        raise OutputRefused(
            f"{shown} holds files mr get did not write ({names}{more}); move them away, or choose another folder"
        )


def unlisted(folder: str, listed: set[str], marker: str = RECEIPT) -> list[str]:
    """What ``folder`` holds besides its ``marker`` (the receipt) and the files in ``listed`` (folders of no
    listed file included)."""
    keep = set(listed) | {marker}
    parents = {"/".join(p.split("/")[:i]) for p in keep for i in range(1, p.count("/") + 1)}
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        rel_dir = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        prefix = "" if rel_dir == os.curdir else rel_dir + "/"
        for d in list(dirnames):
            rel = prefix + d
            if os.path.islink(os.path.join(dirpath, d)) or rel not in parents:
                out.append(rel + ("" if os.path.islink(os.path.join(dirpath, d)) else "/"))
                dirnames.remove(d)
        out.extend(prefix + f for f in filenames if prefix + f not in keep)
    return sorted(out)


def _protected(extra: Sequence[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(real path, how to name it) of every folder mr get may neither replace nor contain."""
    with contextlib.suppress(OSError):
        yield os.path.realpath(os.getcwd()), "the current folder"
    yield "/", "the root folder"
    home = os.environ.get("HOME") or os.path.expanduser("~")
    if home and home != "~":
        yield os.path.realpath(home), "your home folder"
    for place, what in extra:
        yield os.path.realpath(place), what


def _is_below(parent: str, child: str) -> bool:
    """Whether real path ``parent`` lies below real path ``child`` (so replacing ``child`` removes it)."""
    if parent == child:
        return False
    return parent.startswith(child.rstrip("/") + "/")


def _is_git_dir(path: str) -> bool:
    """A repository's own folder (``.git``, or a bare repository): HEAD, objects and refs."""
    return (
        os.path.isfile(os.path.join(path, "HEAD"))
        and os.path.isdir(os.path.join(path, "objects"))
        and os.path.isdir(os.path.join(path, "refs"))
    )


def _inside_git_dir(path: str) -> str | None:
    """The git repository folder ``path`` (a real path) is, or lies inside; None when none."""
    while True:
        if os.path.basename(path).lower() == ".git" or _is_git_dir(path):
            return path
        up = os.path.dirname(path)
        if up == path:
            return None
        path = up


# --- the receipt ---------------------------------------------------------------------------


def listed_files(folder: str) -> set[str]:
    """The paths ``folder``'s receipt lists; ReceiptError when it has no valid receipt."""
    return {entry[0] for entry in load_receipt(folder)["files"]}


def load_receipt(folder: str) -> dict[str, Any]:
    """``folder``'s receipt, checked: ``{"files": [(path, size, md5)], "commit": sha or None}``."""
    full = os.path.join(folder, RECEIPT)
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ReceiptError(f"{full}: no receipt; was this folder written by mr get?") from None
    except OSError as e:
        raise ReceiptError(f"{full}: cannot be read ({e.strerror}; a symlink?)") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ReceiptError(f"{full}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(16 * 1024 * 1024 + 1)
    finally:
        os.close(fd)
    if len(data) > 16 * 1024 * 1024:
        raise ReceiptError(f"{full}: too large to be a receipt")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ReceiptError(f"{full}: not JSON ({safe_text(str(e))})") from None
    if not isinstance(doc, dict) or doc.get("version") != RECEIPT_VERSION:
        raise ReceiptError(f"{full}: not a version {RECEIPT_VERSION} receipt of mr get")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ReceiptError(f"{full}: files is not a list")
    checked: list[tuple[str, int, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(files):
        where = f"{full}: files[{i}]"
        if not isinstance(entry, dict):
            raise ReceiptError(f"{where} is not an object")
        path, size, md5 = entry.get("path"), entry.get("size"), entry.get("md5")
        if not isinstance(path, str) or receipt_path_problem(path):
            shown = safe_text(str(path))
            raise ReceiptError(f"{where}: path {shown} is refused: {receipt_path_problem(str(path)) or 'not a string'}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ReceiptError(f"{where}: size is not a number of bytes")
        if not isinstance(md5, str) or len(md5) != MD5_LEN or any(c not in "0123456789abcdef" for c in md5):
            raise ReceiptError(f"{where}: md5 is not an md5")
        if path in seen:
            raise ReceiptError(f"{where}: {safe_text(path)} is listed twice")
        seen.add(path)
        checked.append((path, size, md5))
    commit = doc.get("commit")
    return {"files": checked, "commit": commit if isinstance(commit, str) else None}


def receipt_path_problem(path: str) -> str | None:
    if not path or "\\" in path or "\0" in path:
        return "not a plain relative path"
    if path.startswith("/"):
        return "an absolute path"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or posixpath.normpath(path) != path:
        return "not a plain path inside the folder"
    if path == RECEIPT:
        return "the receipt itself"
    return None


# --- temporary siblings ---------------------------------------------------------------------


class Held:
    """A temporary folder beside the target, locked for as long as this process holds it."""

    def __init__(self, folder: str, kind: str) -> None:
        parent, base = os.path.split(folder)
        self.path = tempfile.mkdtemp(prefix=f".{base}.{kind}-", dir=parent)
        self._fd: int | None = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def remove(self) -> None:
        """Delete the folder and what it holds, then let the lock go."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def remove_stale(folder: str, now: float | None = None) -> list[str]:
    """Remove the temporary siblings of ``folder`` that no live process holds; return their names."""
    parent, base = os.path.split(folder)
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        if not _is_sibling(name, base):
            continue
        path = os.path.join(parent, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or now - st.st_mtime < STALE_AFTER_SECONDS:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live mr get holds it
            if os.path.samestat(os.fstat(fd), os.lstat(path)):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(name)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def _is_sibling(name: str, base: str) -> bool:
    for kind in (WRITING, ASIDE, SITE_WRITING):
        prefix = f".{base}.{kind}-"
        if name.startswith(prefix) and _SUFFIX.fullmatch(name[len(prefix) :]):
            return True
    return False


def move_into_place(
    tmp: str,
    folder: str,
    force: bool,
    *,
    who: str = "mr get",
    replaceable: Callable[[str, str | None], None] | None = None,
) -> None:
    """Rename the finished ``tmp`` to ``folder``; with ``force`` the old one is moved aside first, then deleted.

    The folder moved aside is checked once more against its receipt (a file
    may have been added since the first check); if it no longer may be
    replaced, or the rename fails, it is put back and nothing is deleted.
    """
    if not os.path.lexists(folder):
        try:
            os.rename(tmp, folder)
        except FileExistsError:
            raise OutputExists(f"{safe_text(folder)} appeared while {who} ran; nothing was replaced") from None
        except OSError as e:
            if e.errno in (39, 66):  # ENOTEMPTY: another folder took the name meanwhile
                raise OutputExists(f"{safe_text(folder)} appeared while {who} ran; nothing was replaced") from None
            raise
        return
    if not force:
        raise OutputExists(
            f"{safe_text(folder)} exists; pass --force to replace it (only a folder {who} wrote is replaced)"
        )
    aside = Held(folder, ASIDE)
    old = os.path.join(aside.path, "old")
    try:
        os.rename(folder, old)
    except BaseException:
        aside.remove()
        raise
    try:
        (replaceable or check_replaceable)(old, folder)  # anything added since the first check stops it here
        os.rename(tmp, folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(old, folder)
        if not os.path.lexists(old):
            aside.remove()
        else:
            aside.release()
        raise
    aside.remove()
