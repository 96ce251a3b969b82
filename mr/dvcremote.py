"""Artifacts kept in DVC: what a project's ``dvc.lock`` and ``.dvc`` files record, which remote its
``.dvc/config`` names, and the objects in that remote, read through DVC's own libraries.

Everything here is untrusted input: the project's files at a commit, and
bytes from a remote it names. ``dvc.lock`` and ``.dvc`` files are read as
plain YAML data; DVC's INI configuration is parsed here (no code of the
project runs). The storage side is DVC's (``dvc-objects``' filesystems and
its object database layout, ``dvc-http`` for HTTP remotes), an optional extra: ``pip install 'mr-registry[dvc]'``. Nothing here imports it
until a remote is opened, so ``mr --help`` never pays for it.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from mr.terminal import field as safe_text
from mr.urls import redact, strip_credentials

#: what to install for DVC support, as the hint says it: the extra, or (mr is installed from git, not an
#: index, by most) the two libraries it adds
EXTRA = "pip install 'mr-registry[dvc]', or its libraries: pip install dvc-objects dvc-http"
#: the chunk read from a remote at a time
CHUNK = 1024 * 1024
_MD5 = re.compile(r"[0-9a-f]{32}")
_SECTION = re.compile(r"""^\s*\[\s*(?:'(?P<q1>[^']*)'|"(?P<q2>[^"]*)"|(?P<bare>[^\]]*?))\s*\]\s*$""")
_REMOTE = re.compile(r'^remote\s+"(?P<name>[^"]+)"$')
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: remote kinds mr reads (each needs its filesystem plugin; local and HTTP come with the extra)
SUPPORTED = ("local", "http", "https")


class DvcError(Exception):
    """A DVC remote or object that cannot be used; the message names what and why, in one line."""


@dataclass(frozen=True)
class Output:
    """A DVC output a project records: its path (in the repository), md5 and size, and where it is recorded."""

    path: str
    md5: str | None
    size: int | None
    #: the file that records it (``dvc.lock``, ``models/rf.pkl.dvc``)
    recorded_in: str
    #: a directory output (``.dir`` hash): mr fetches files, not directories
    is_dir: bool = False


def outputs(data: bytes, file: str, folder: str) -> dict[str, Output]:
    """The outputs ``dvc.lock`` or a ``.dvc`` file (at ``file``, in ``folder`` of the repository) records,
    by repository path. What is not a well-formed output is left out."""
    from mr import linkfile
    from mr.errors import LinkFileError

    try:
        doc = linkfile.parse_mapping(data, file, file)
    except LinkFileError:
        return {}
    if not isinstance(doc, Mapping):
        return {}
    found: list[tuple[str, Mapping[str, Any]]] = []
    if posixpath.basename(file) == "dvc.lock":
        stages = doc.get("stages")
        for stage in stages.values() if isinstance(stages, Mapping) else ():
            if not isinstance(stage, Mapping):
                continue
            wdir = stage.get("wdir") if isinstance(stage.get("wdir"), str) else "."
            for item in stage.get("outs") or ():
                if isinstance(item, Mapping):
                    found.append((str(wdir), item))
    else:
        wdir = doc.get("wdir") if isinstance(doc.get("wdir"), str) else "."
        for item in doc.get("outs") or ():
            if isinstance(item, Mapping):
                found.append((str(wdir), item))
    out: dict[str, Output] = {}
    for wdir, item in found:
        path = item.get("path")
        if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
            continue
        full = posixpath.normpath(posixpath.join(folder, wdir, path))
        if full == ".." or full.startswith("../"):
            continue
        md5 = item.get("md5")
        md5 = md5 if isinstance(md5, str) else None
        size = item.get("size")
        size = size if isinstance(size, int) and not isinstance(size, bool) else None
        is_dir = md5 is not None and md5.endswith(".dir")
        if md5 is not None and not is_dir and not _MD5.fullmatch(md5):
            md5 = None
        out[full] = Output(full, md5, size, file, is_dir)
    return out


# --- configuration ----------------------------------------------------------------------------


def parse_config(text: str) -> dict[str, dict[str, str]]:
    """DVC's INI configuration (``.dvc/config``, the user's ``~/.config/dvc/config``): section -> key -> value.

    Sections are written ``['remote "name"']`` by DVC (and ``[remote "name"]`` by hand); values are
    plain strings. Lines that are neither are left out.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = _SECTION.match(line)
        if m:
            name = (m.group("q1") or m.group("q2") or m.group("bare") or "").strip()
            current = sections.setdefault(re.sub(r"\s+", " ", name), {})
            continue
        if current is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        current[key.strip().lower()] = value
    return sections


@dataclass(frozen=True)
class Remote:
    """A DVC remote: its name, URL and the options (credentials among them) the configurations give it."""

    name: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)
    #: which configuration named it (``.dvc/config at 1a2b3c4``, the user's)
    origin: str = ""

    @property
    def kind(self) -> str:
        m = _SCHEME.match(self.url)
        return m.group(1).lower() if m else "local"

    @property
    def shown(self) -> str:
        return safe_text(redact(self.url))


def pick_remote(
    repo: Sequence[tuple[str, dict[str, dict[str, str]]]],
    user: Sequence[tuple[str, dict[str, dict[str, str]]]],
    name: str | None,
) -> Remote:
    """The remote ``name`` (None: the default, ``core.remote``) as DVC merges its configurations: the user's
    (system, then global) under the project's, each later one overriding the options it sets.

    ``repo`` and ``user`` pair each configuration with how to name it. DvcError when there is none.
    """
    merged: dict[str, dict[str, str]] = {}
    origins: dict[str, str] = {}
    for label, config in [*user, *repo]:
        for section, options in config.items():
            merged.setdefault(section, {}).update(options)
            if "url" in options:
                origins[section] = label
    if name is None:
        name = merged.get("core", {}).get("remote")
        if not name:
            where = ", ".join(label for label, _ in repo) or "the project"
            raise DvcError(f"no default DVC remote in {where} (core.remote); name one with --dvc-remote")
    section = f'remote "{name}"'
    found = merged.get(section)
    if found is None or not found.get("url"):
        known = sorted(m.group("name") for s in merged if (m := _REMOTE.match(s)))
        raise DvcError(
            f"no DVC remote {safe_text(name)} in the project's or your DVC configuration "
            f"(remotes: {', '.join(safe_text(k) for k in known) or 'none'})"
        )
    url = found["url"]
    rest = {k: v for k, v in found.items() if k != "url"}
    return Remote(name, url, rest, origins.get(section, ""))


def remote_problem(remote: Remote) -> str | None:
    """Why mr will not open ``remote``'s URL, or None."""
    url = remote.url
    if any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return "its URL holds a control character"
    kind = remote.kind
    if kind not in SUPPORTED:
        return f"a {safe_text(kind)}:// remote; mr reads local and HTTP(S) DVC remotes (use dvc pull for others)"
    if kind == "local" and not url.startswith("/"):
        return "a relative local path, which names a folder only in a checkout of the project"
    path = url if kind == "local" else _SCHEME.sub("", url).partition("/")[2]
    if any(part == ".." for part in path.replace("\\", "/").split("/")):
        return "its path climbs with .."
    return None


# --- the storage side (the extra) ---------------------------------------------------------------


def have_extra() -> bool:
    """Whether DVC's libraries are installed (``mr-registry[dvc]``)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("dvc_objects", "dvc_http"))


@dataclass
class Storage:
    """An opened remote: its filesystem and the object databases to look an md5 up in (DVC 3's
    ``files/md5`` first, then DVC 2's layout at the root)."""

    remote: Remote
    fs: Any
    dbs: list[Any]
    #: seconds a read of one object may take in all (None: no bound)
    timeout: float | None = None

    def paths(self, md5: str) -> list[str]:
        return [db.oid_to_path(md5) for db in self.dbs]

    def find(self, md5: str) -> str | None:
        """The path of the object ``md5`` in the remote, or None when no layout has it. DvcError when the
        remote cannot be asked (unreachable, refusing, a server error): that is no answer."""
        for path in self.paths(md5):
            try:
                self.fs.info(path)
                return path
            except FileNotFoundError as e:
                cause = e.__cause__
                status = getattr(cause, "status", None)
                if cause is not None and status not in (403, 404, 410):
                    raise DvcError(f"DVC remote {self.remote.shown} cannot be read: {_why(cause)}") from None
            except Exception as e:  # noqa: BLE001 - a plugin's own errors (aiohttp, fsspec, OSError) are many
                raise DvcError(f"DVC remote {self.remote.shown} cannot be read: {_why(e)}") from None
        return None

    def copy(
        self, path: str, out: IO[bytes], expected: int, on_chunk: Callable[[int], None] | None = None
    ) -> tuple[int, str]:
        """Stream the object at ``path`` into ``out``: its size and md5. At most one byte more than the
        ``expected`` size is read: a remote that sends more is wrong, and is not let fill the disk."""
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        try:
            with self.fs.open(path, mode="rb") as f:
                while size <= expected and (chunk := f.read(min(CHUNK, expected + 1 - size))):
                    if deadline is not None and time.monotonic() > deadline:
                        raise TimeoutError
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if on_chunk is not None:
                        on_chunk(len(chunk))
        except OSError as e:
            if out.writable() and getattr(e, "errno", None) in (28, 30, 122):
                raise  # our own disk: full, read-only, over quota
            raise DvcError(f"DVC remote {self.remote.shown}: reading {safe_text(path)} failed: {_why(e)}") from None
        except Exception as e:  # noqa: BLE001 - a plugin's own errors (aiohttp, fsspec) are many
            raise DvcError(f"DVC remote {self.remote.shown}: reading {safe_text(path)} failed: {_why(e)}") from None
        return size, digest.hexdigest()


def open_storage(remote: Remote, timeout: float | None = None) -> Storage:
    """``remote`` opened with DVC's filesystem for its kind. Checked with ``remote_problem`` first."""
    why = remote_problem(remote)
    if why is not None:
        raise DvcError(f"DVC remote {safe_text(remote.name)} ({remote.shown}) is refused: {why}")
    from dvc_objects.db import ObjectDB

    if remote.kind == "local":
        from dvc_objects.fs.local import LocalFileSystem

        fs: Any = LocalFileSystem()  # type: ignore[no-untyped-call]
        root = remote.url
    else:
        from dvc_http import HTTPFileSystem  # type: ignore[import-untyped]

        options: dict[str, Any] = {k: v for k, v in remote.options.items() if k in _HTTP_OPTIONS}
        if timeout is not None:
            options.setdefault("read_timeout", timeout)
            options.setdefault("connect_timeout", timeout)
        for key in ("read_timeout", "connect_timeout"):
            if key in options:
                options[key] = float(options[key])
        fs = HTTPFileSystem(**options)
        if timeout is not None:
            import aiohttp

            # dvc-http bounds the wait for each next piece only: a server that trickles a byte at a
            # time would never end. Every request gets the same bound in all.
            fs.fs_args["timeout"] = aiohttp.ClientTimeout(
                total=timeout, connect=timeout, sock_connect=timeout, sock_read=timeout
            )
        root = strip_credentials(remote.url).rstrip("/")
    return Storage(remote, fs, [ObjectDB(fs, fs.join(root, "files", "md5")), ObjectDB(fs, root)], timeout)


#: the options of an HTTP remote mr passes to dvc-http (credentials and timeouts; nothing that runs code)
_HTTP_OPTIONS = ("auth", "custom_auth_header", "user", "password", "ssl_verify", "read_timeout", "connect_timeout")


def _why(e: BaseException) -> str:
    if isinstance(e, TimeoutError) or isinstance(e.__cause__, TimeoutError):
        return "no answer in time (MR_GIT_TIMEOUT bounds each read of the remote)"
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return safe_text(redact(text))
