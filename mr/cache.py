"""Bare caches of remote repositories: fetched by git, read by pygit2.

A project's entry is a partial clone (``--filter=blob:none``): the commits and
trees of every branch and tag, and only the blobs mr has read, fetched the
first time they are needed. A first look at a repository of gigabytes costs
about what ``git clone --filter=blob:none`` costs; later runs list the remote's
refs and fetch only when they moved. A server without filter support sends
everything, and that works too. A registry's own entry is a full clone
(registries are small and every file of them is read).

Entries heal: a fetch has an overall deadline, the per-entry lock is waited
for a bounded time, a temporary folder left by a killed run is removed, and
an entry that is damaged or belongs to another URL is fetched again.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shutil
import time
from collections.abc import Iterator

from mr import git, transport
from mr.cachepaths import cache_path, ensure_cache_root
from mr.errors import GitError, ProjectNotFound, RemoteError
from mr.urls import redact, strip_credentials

#: The remote name inside every cache entry (its URL never carries credentials).
REMOTE = "origin"
_FILTER = "blob:none"
_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
#: How many object ids one lazy fetch asks for at most (argv stays small).
_BATCH = 256
#: git options for fetching blobs: index-pack streams any blob over 1 MiB instead of
#: holding it whole, and no maintenance runs after each small fetch (the next
#: refresh of the refs runs it)
_BLOB_FETCH_OPTIONS = ["-c", "core.bigFileThreshold=1m", "-c", "maintenance.auto=false"]


def entry(url: str) -> str:
    """Where the cache entry of ``url`` lives (it may not exist yet)."""
    return cache_path(url)


def fetch(url: str, *, partial: bool = True) -> str:
    """Bring the cache entry of ``url`` up to date with the remote; return its path.

    Raises ``RemoteError`` when the remote cannot be read, and ``GitError``
    when the cache itself cannot be written.
    """
    path = entry(url)
    ensure_cache_root()
    deadline = time.monotonic() + transport.timeout()
    with _locked(path, url, deadline):
        _sweep(path)
        repo = _healthy(path, url)
        if repo is not None and not git.tips_readable(repo):
            git.close(repo)  # a damaged pack: fetching on top of it would leave it in the way
            repo = None
        if repo is not None:
            try:
                _refresh(url, path, repo, partial, deadline)
                if git.tips_readable(repo):
                    return path
                raise _Damaged()
            except _Damaged:
                git.close(repo)
        if os.path.lexists(path):
            _HEALED.add(url)  # there, but unusable: set aside and fetched again (said by take_healed)
            import gc

            gc.collect()  # repositories an earlier call left unreferenced still hold its damaged pack open
        _discard(path)
        _clone(url, path, partial, deadline)
    return path


#: URLs whose cache entry was found damaged and fetched again, not said yet.
_HEALED: set[str] = set()


def take_healed(url: str) -> bool:
    """Whether the cache of ``url`` was found damaged and fetched again since last asked."""
    if url in _HEALED:
        _HEALED.discard(url)
        return True
    return False


def open_cached(url: str) -> git.Repo:
    """The cache entry of ``url`` as it is, without the network (``--offline``)."""
    path = entry(url)
    if not os.path.lexists(path):
        raise ProjectNotFound(f"{redact(url)} is not in the cache (offline); run once without --offline")
    repo = _healthy(path, url)
    if repo is None or not git.tips_readable(repo):
        raise ProjectNotFound(
            f"the cache of {redact(url)} is damaged ({path}); run without --offline to fetch it again"
        )
    return repo


def fetch_objects(url: str, path: str, oids: list[str]) -> None:
    """Fetch the objects ``oids`` (blobs a partial entry lacks) from ``url`` into ``path``."""
    options, env = transport.url_credentials(url)
    deadline = time.monotonic() + transport.timeout()
    for start in range(0, len(oids), _BATCH):
        transport.run(
            [
                *options,
                *_BLOB_FETCH_OPTIONS,
                "-c",
                "fetch.negotiationAlgorithm=noop",
                "-C",
                path,
                "fetch",
                "--quiet",
                REMOTE,
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                f"--filter={_FILTER}",
                *oids[start : start + _BATCH],
            ],
            url=url,
            deadline=deadline,
            env=env,
        )


class _Damaged(Exception):
    """The entry is there but unusable: fetch it again from scratch."""


@contextlib.contextmanager
def _locked(path: str, url: str, deadline: float) -> Iterator[None]:
    """Hold the entry's lock; wait for another mr fetching it until ``deadline``.

    An flock dies with its process, so a killed run never leaves it held.
    """
    lock = path + ".lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise GitError(f"cannot lock the cache {lock}: {e.strerror}") from None
    try:
        waited = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if transport.stopping():
                    raise RemoteError(f"{redact(url)}: interrupted") from None
                if time.monotonic() >= deadline:
                    raise RemoteError(
                        f"{redact(url)}: another mr has been fetching it into the cache for "
                        f"{time.monotonic() - waited:.0f} s; try again when it is done ({lock})"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


_TMP = re.compile(r"\.tmp-(\d+)$")


def _sweep(path: str) -> None:
    """Remove temporary folders that runs of mr, since killed, left beside ``path``."""
    for tmp in glob.glob(glob.escape(path) + ".tmp-*"):
        m = _TMP.search(tmp)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _healthy(path: str, url: str) -> git.Repo | None:
    """The entry as a repository, or None when it is missing, damaged or another URL's."""
    if os.path.islink(path) or not os.path.isdir(os.path.join(path, "objects")):
        return None
    if not _head_readable(os.path.join(path, "HEAD")):
        return None
    repo = git.open_exact(path)
    if repo is None or not repo.is_bare:
        return None
    if git.config_value(repo, f"remote.{REMOTE}.url") != strip_credentials(url):
        return None
    return repo


_HEAD = re.compile(rb"(ref: refs/[^\s]+|[0-9a-f]{40}|[0-9a-f]{64})\n?")


def _head_readable(head: str) -> bool:
    """Whether an entry's HEAD is what git writes there: a symbolic ref or an object id (junk makes git refuse the entry)."""
    try:
        with open(head, "rb") as f:
            data = f.read(512)
    except OSError:
        return False
    return _HEAD.fullmatch(data) is not None


def _discard(path: str) -> None:
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    aside = f"{path}.tmp-{os.getpid()}-old"
    os.replace(path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _clone(url: str, path: str, partial: bool, deadline: float) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    options, env = transport.url_credentials(url)
    args = [*options, "-c", "core.hooksPath=/dev/null", "clone", "--bare", "--quiet", "--template="]
    if partial:
        args.append(f"--filter={_FILTER}")
    try:
        transport.run([*args, "--", strip_credentials(url), tmp], url=url, deadline=deadline, env=env)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.replace(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GitError(f"cannot write the cache {path}: {e.strerror}") from None


def _refresh(url: str, path: str, repo: git.Repo, partial: bool, deadline: float) -> None:
    """Fetch what moved on the remote since the last run (nothing, when nothing did)."""
    options, env = transport.url_credentials(url)
    listing = transport.run(
        [*options, "-C", path, "ls-remote", "--symref", REMOTE], url=url, deadline=deadline, env=env
    ).out
    head, remote_refs = _parse_listing(listing)
    local = git.ref_targets(repo, ("refs/heads/", "refs/tags/"))
    if remote_refs != local or not all(git.has_object(repo, sha) for sha in remote_refs.values()):
        args = [*options, "-C", path, "fetch", "--quiet", "--prune", "--no-write-fetch-head"]
        if partial and git.config_value(repo, f"remote.{REMOTE}.promisor") == "true":
            args.append(f"--filter={_FILTER}")
        try:
            transport.run([*args, REMOTE, *_REFSPECS], url=url, deadline=deadline, env=env)
        except RemoteError as e:
            if _local_failure(e.message):
                raise _Damaged() from None
            raise
    if head is not None:
        git.set_head_if_branch(repo, head)


def _parse_listing(text: str) -> tuple[str | None, dict[str, str]]:
    head = None
    refs: dict[str, str] = {}
    for line in text.splitlines():
        value, _, name = line.partition("\t")
        if value.startswith("ref: ") and name == "HEAD":
            head = value[len("ref: ") :]
        elif name.startswith(("refs/heads/", "refs/tags/")) and not name.endswith("^{}"):
            refs[name] = value
    return head, refs


def _local_failure(message: str) -> bool:
    """Whether git failed on the cache entry itself rather than on the remote."""
    return bool(
        re.search(r"not a git repository|bad object|corrupt|index-pack|unable to|cannot lock", message, re.I)
        and not re.search(r"remote", message, re.I)
    )
