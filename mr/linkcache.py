"""Link files already read, kept between runs by their content's hash.

A registry of 100,000 links is read again by every command, and reading a
link file (the checks of ``linkfile.load`` included) costs more than
everything else a view does with it. The same bytes always read as the same
link, so what a file held is kept under the hash of its bytes, in the
repository's own git folder (``mr/links``): nothing there can go stale,
because a changed file is other bytes. Only files that read as a link are
kept; errors and other MLEM objects are read each time.

The file is read with ``marshal`` (data only, nothing in it runs) and every
entry is checked for its shape before it is used; a file that is damaged,
written by another version, or of the wrong shape is ignored and rewritten.
It is replaced whole (a temporary file renamed into place), so a reader
never sees half of it; two writers at once lose one's new entries, no more.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from mr import __version__, linkfile
from mr.model import Link

#: the format of the file, with mr's version: another version reads afresh
_HEADER = ("mr-links", 2, __version__)
#: the file is left alone above this size (a hostile or runaway one is not read)
MAX_BYTES = 256 * 1024 * 1024
#: kept between runs beyond the links read this run, before old ones are dropped
SPARE = 20_000

#: the length of the hash of a file's bytes that starts each entry
_DIGEST = 32


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=_DIGEST // 2).hexdigest()


#: separators inside an entry; a link holding one of them is read each time, never kept
_FIELD, _ITEM, _PAIR = "\x00", "\x01", "\x02"


def _encode(link: Link) -> str | None:
    """One string per link (few objects, so the file loads fast), or None when it cannot be kept."""
    parts = [link.link_type, link.path, link.project or "", link.rev or "", link.project_field]
    texts = [*parts, *link.params, *link.params.values(), *link.lines]
    if any(sep in text for text in texts for sep in (_FIELD, _ITEM, _PAIR)):
        return None  # a value holding a separator: read each time
    params = _ITEM.join(f"{k}{_PAIR}{v}" for k, v in link.params.items())
    if list(link.lines.values()) == list(range(1, len(link.lines) + 1)):
        lines = _ITEM.join(link.lines)  # one key a line, from the first: the keys alone say it
    else:
        lines = _PAIR + _ITEM.join(f"{k}{_PAIR}{n}" for k, n in link.lines.items())
    return _FIELD.join([*parts, params, lines])


def _decode(entry: Any, name: str | None, file: str, shapes: dict[str, Mapping[str, int]]) -> Link | None:
    """The link an entry holds, or None when it is not one this version wrote."""
    if type(entry) is not str:
        return None
    parts = entry.split(_FIELD)
    if len(parts) != 7:
        return None
    link_type, path, project, rev, project_field, params, lines = parts
    if not link_type or not path or not project_field:
        return None
    where = shapes.get(lines)
    try:
        pairs = dict(p.split(_PAIR) for p in params.split(_ITEM)) if params else {}
        if where is None:
            if lines.startswith(_PAIR):
                found = {k: int(n) for k, n in (x.split(_PAIR) for x in lines[1:].split(_ITEM))}
            else:
                found = dict(zip(lines.split(_ITEM), range(1, lines.count(_ITEM) + 2), strict=True)) if lines else {}
            where = shapes[lines] = MappingProxyType(found)
    except ValueError:
        return None
    return Link(link_type, path, project or None, rev or None, pairs, project_field, name, file, where)


class LinkCache:
    """The links read in one run, and those kept from earlier runs (``folder`` None: none kept)."""

    def __init__(self, folder: str | None) -> None:
        self._path = os.path.join(folder, "mr", "links") if folder else None
        self._kept: dict[bytes, Any] | None = None
        self._used: dict[bytes, str] = {}
        self._new = False
        #: the line of each key, shared by every link written in the same shape (read-only)
        self._shapes: dict[str, Mapping[str, int]] = {}

    def _load(self) -> dict[bytes, Any]:
        if self._kept is None:
            self._kept = {}
            if self._path is not None:
                try:
                    # a regular file only: never a FIFO that blocks, nor a symlink to anywhere
                    fd = os.open(self._path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as f:
                        st = os.fstat(f.fileno())
                        if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_BYTES:
                            header, entries = marshal.loads(f.read())
                            if header == _HEADER and type(entries) is dict:
                                self._kept = entries
                except (OSError, EOFError, ValueError, TypeError):
                    pass
        return self._kept

    def load_file(self, data: bytes, file: str, name: str | None = None) -> Link | dict[str, Any]:
        """``linkfile.load(data, file, name)`` of a file read from disk, from an earlier read when it can.

        Found under the id git would give the file; kept only when the hash of
        the bytes matches too (SHA-1 alone can be made to collide).
        """
        key = hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).digest()
        return self._load_keyed(key, data, file, name, _digest(data))

    def load_blob(
        self, oid: bytes, read: Callable[[bytes], bytes], file: str, name: str | None = None
    ) -> Link | dict[str, Any]:
        """``linkfile.load(read(oid), file, name)`` of the git blob ``oid`` (raw), from an earlier read
        when it can: then the blob is not even read. Git vouches for the blob's bytes."""
        return self._load_keyed(oid, read, file, name, None)

    def _load_keyed(
        self, key: bytes, data: bytes | Callable[[bytes], bytes], file: str, name: str | None, digest: str | None
    ) -> Link | dict[str, Any]:
        entry = self._used.get(key)
        if entry is None:
            entry = self._load().get(key)
        if type(entry) is str and (digest is None or entry.startswith(digest + _FIELD)):
            link = _decode(entry[_DIGEST + 1 :], name, file, self._shapes)
            if link is not None:
                self._used[key] = entry
                return link
        content = data if isinstance(data, bytes) else data(key)
        obj = linkfile.load(content, file, name)
        if isinstance(obj, Link):
            kept = _encode(obj)
            if kept is not None:
                self._used[key] = (digest or _digest(content)) + _FIELD + kept
                self._new = True
        return obj

    def save(self) -> None:
        """Keep what this run read for the next, when it read anything new. Never fails the command."""
        if self._path is None or not self._new:
            return
        kept = self._load()
        entries: Mapping[bytes, Any]
        if len(kept) + len(self._used) > len(self._used) + SPARE:
            entries = self._used  # the old ones are dropped rather than grow without end
        else:
            entries = {**kept, **self._used}
        folder = os.path.dirname(self._path)
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".links-", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    marshal.dump((_HEADER, dict(entries)), f)
                os.replace(tmp, self._path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            return  # a read-only or full disk: the next run reads the files again
        self._new = False
