"""Source projects opened for reading: local folders in place, URLs through the cache.

A project is a folder inside a git repository (``mr.locations`` says which);
several projects in one repository share one open repository and one fetch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from mr import cache, git, locations, transport
from mr.errors import GitError, ObjectNotFound, PolicyError, ProjectNotFound, RemoteError, RevNotFound
from mr.model import LINK_SUFFIX, SHORT_SHA, ResolvedRev
from mr.urls import is_url, redact


@dataclass
class Project:
    """One project: its repository, its folder there, and how it was named."""

    spec: str
    repo: git.Repo
    remote: bool
    #: the project's folder inside the repository ('' for its root)
    subdir: str = ""
    #: the rev its location names (``.../tree/REV``), used when a link names none
    url_rev: str | None = None
    #: the repository's URL, to fetch blobs a partial cache lacks (None: local, or offline)
    url: str | None = None
    _trees: dict[str, Any] = field(default_factory=dict, repr=False)
    #: branch or tag of each rev asked about: a project's links mostly name the same few revs
    _kinds: dict[str, Literal["branch", "tag"] | None] = field(default_factory=dict, repr=False)
    _tags: dict[str, str] | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return redact(self.spec)

    def resolve(self, rev: str) -> ResolvedRev:
        return git.resolve(self.repo, rev, self.display)

    def default_branch(self) -> str:
        """The rev a link without one means: the location's own rev, else the default branch."""
        return self.url_rev or git.default_branch(self.repo, self.display)

    def tag_at(self, sha: str) -> str | None:
        """The newest tag of the project pointing at commit ``sha``, or None."""
        if self._tags is None:
            self._tags = git.tags_by_commit(self.repo)
        return self._tags.get(sha)

    def kind_of(self, rev: str) -> Literal["branch", "tag"] | None:
        if rev not in self._kinds:
            self._kinds[rev] = git.kind_of(self.repo, rev)
        return self._kinds[rev]

    def repo_path(self, path: str) -> str:
        """A project-relative path as a path in the repository."""
        path = git.normalize_path(path)
        return f"{self.subdir}/{path}" if self.subdir else path

    def read(self, sha: str, path: str) -> bytes | None:
        """The file ``path`` (relative to the project) at commit ``sha``, or None."""
        oid = git.blob_at(self.repo, sha, self.repo_path(path), self._trees)
        if oid is None:
            return None
        if not git.has_object(self.repo, oid):
            self._fetch([oid], f"{path} at {sha[:SHORT_SHA]}")
        return git.read_blob(self.repo, oid)

    def missing(self, wanted: Iterable[tuple[str | None, str]]) -> list[str]:
        """The blobs of the meta files ``(rev, path)`` that the cache lacks.

        Anything that does not resolve is left for the read to report.
        """
        out: list[str] = []
        for rev, path in wanted:
            if not path.endswith(LINK_SUFFIX):
                path += LINK_SUFFIX
            try:
                sha = self.resolve(rev or self.default_branch()).sha
                oid = git.blob_at(self.repo, sha, self.repo_path(path), self._trees)
            except (RevNotFound, ValueError, KeyError):
                continue
            if oid is not None and not git.has_object(self.repo, oid) and oid not in out:
                out.append(oid)
        return out

    def fetch_blobs(self, oids: list[str], what: str) -> None:
        """Fetch the blobs ``oids`` the cache lacks, in one request (``what`` names them in messages)."""
        self._fetch(oids, what)

    def _fetch(self, oids: list[str], what: str) -> None:
        if self.url is None:
            where = "the cache (offline)" if self.remote else "the repository (a partial clone?)"
            raise ObjectNotFound(f"{self.display}: {what} is not in {where}")
        try:
            cache.fetch_objects(self.url, self.repo.path, oids)
        except GitError as e:
            raise ProjectNotFound(f"cannot fetch {what}: {e.message}") from None
        if not all(git.has_object(self.repo, oid) for oid in oids):
            raise ProjectNotFound(f"{self.display}: the server did not send {what}")


T = TypeVar("T")


def _in_parallel(work: Callable[[T], None], items: list[T], jobs: int) -> None:
    """``work`` on each item, ``jobs`` at a time; on Ctrl-C the git processes still running end at once."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items)))) as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # instead of waiting out each fetch's deadline
            for future in futures:
                future.cancel()
            with transport.stopped():
                pool.shutdown(wait=True)
            raise


class Projects:
    """Opens source projects, each repository at most once (and fetched at most once) per command."""

    def __init__(
        self,
        base: str,
        *,
        fetch: bool = True,
        hosts: Mapping[str, str] | None = None,
        gate: Callable[[str], str | None] | None = None,
    ) -> None:
        #: relative local paths are taken from here (the registry root)
        self.base = base
        #: False: never touch the network, use the cache as it is
        self.fetch = fetch
        #: extra hosting sites from .mr.yaml (host -> github | gitlab | bitbucket)
        self.hosts = dict(hosts or {})
        #: why a project may not be contacted or read (the registry's allowed_sources), asked before each is opened
        self.gate = gate
        self._open: dict[str, Project] = {}
        self._paths: dict[str, str] = {}
        self._repos: dict[str, tuple[git.Repo, str | None]] = {}
        #: what a command says about the sources it opened (a damaged cache fetched again)
        self.notes: list[str] = []

    def local_path(self, spec: str) -> str:
        path = self._paths.get(spec)
        if path is None:
            path = self._paths[spec] = os.path.normpath(os.path.join(self.base, os.path.expanduser(spec)))
        return path

    def location(self, spec: str) -> locations.Location:
        return locations.parse(spec, self.hosts)

    def refusal(self, spec: str) -> str | None:
        """Why ``spec`` may not be opened here, or None."""
        return self.gate(spec) if self.gate is not None else None

    def open(self, spec: str) -> Project:
        """The project ``spec``, opened (and fetched) once; ``PolicyError`` first when the gate refuses it."""
        key = spec if is_url(spec) else self.local_path(spec)
        project = self._open.get(key)
        if project is None:
            refused = self.refusal(spec)
            if refused:
                raise PolicyError(refused)
            project = self._open_new(spec)
            self._open[key] = project
        return project

    def _open_new(self, spec: str) -> Project:
        where = self.location(spec)
        if not where.remote:
            return self._open_local(spec)
        repo, url = self._repository(where.repo)
        subdir, url_rev = where.subdir, None
        if where.url_rev:
            url_rev, subdir = locations.split_rev(spec, where.url_rev, git.ref_names(repo))
        return Project(spec, repo, remote=True, subdir=subdir, url_rev=url_rev, url=url)

    def _open_local(self, spec: str) -> Project:
        folder = self.local_path(spec)
        if not os.path.isdir(folder):
            raise ProjectNotFound(f"project {spec}: no such folder ({folder})")
        repo = git.open_exact(folder)
        if repo is not None:
            return Project(spec, repo, remote=False)
        repo = git.discover_from(folder)
        top = git.workdir(repo) if repo is not None else None
        if repo is None or top is None:
            raise ProjectNotFound(f"project {spec}: not inside a git repository ({folder})")
        rel = os.path.relpath(os.path.realpath(folder), os.path.realpath(top))
        if rel == os.curdir:
            rel = ""
        if rel.startswith(os.pardir) or os.path.isabs(rel):
            raise ProjectNotFound(f"project {spec}: not inside the work tree of {top}")
        return Project(spec, repo, remote=False, subdir=rel.replace(os.sep, "/"))

    def _repository(self, url: str) -> tuple[git.Repo, str | None]:
        """The cached repository of ``url``, fetched once per command (unless offline)."""
        known = self._repos.get(url)
        if known is not None:
            return known
        if self.fetch:
            try:
                path = cache.fetch(url)
            except RemoteError as e:
                raise ProjectNotFound(f"cannot fetch {e.message}") from None
            repo = git.open_exact(path)
            if repo is None:
                raise ProjectNotFound(f"the cache of {redact(url)} cannot be opened after fetching it")
            if cache.take_healed(url):
                self.notes.append(f"the cache of {redact(url)} was damaged; fetched again")
            opened: tuple[git.Repo, str | None] = (repo, url)
        else:
            opened = (cache.open_cached(url), None)
        self._repos[url] = opened
        return opened

    def open_all(self, specs: list[str], jobs: int, done: Callable[[str], None] | None = None) -> dict[str, str]:
        """Open (and fetch) ``specs`` in parallel, each repository once; return the error of each that failed.

        ``done`` is called with each spec as it finishes.
        """
        failed: dict[str, str] = {}
        groups: dict[str, list[str]] = {}
        for spec in specs:
            try:
                where = self.location(spec)
            except ProjectNotFound as e:
                failed[spec] = e.message
                if done is not None:
                    done(spec)
                continue
            key = where.repo if where.remote else self.local_path(spec)
            groups.setdefault(key, []).append(spec)

        def one(group: list[str]) -> None:
            for spec in group:
                try:
                    self.open(spec)
                except (ProjectNotFound, GitError, PolicyError) as e:
                    failed[spec] = e.message
                finally:
                    if done is not None:
                        done(spec)

        _in_parallel(one, list(groups.values()), jobs)
        return failed

    def prefetch(self, wanted: Mapping[str, list[tuple[str | None, str]]], jobs: int) -> None:
        """Fetch, one request per repository and in parallel, the files ``(rev, path)`` projects will read.

        A failure here is not reported: each read asks again and says what failed.
        """
        by_repo: dict[str, tuple[Project, list[str]]] = {}
        for spec, pairs in wanted.items():
            project = self._open.get(spec if is_url(spec) else self.local_path(spec))
            if project is None or project.url is None:
                continue
            _, oids = by_repo.setdefault(project.url, (project, []))
            oids.extend(oid for oid in project.missing(pairs) if oid not in oids)

        def one(item: tuple[Project, list[str]]) -> None:
            project, oids = item
            if oids and project.url is not None:
                try:
                    cache.fetch_objects(project.url, project.repo.path, oids)
                except GitError:
                    pass

        _in_parallel(one, [item for item in by_repo.values() if item[1]], jobs)

    def cached(self, spec: str) -> Project | None:
        """The project if it can be opened without the network, else None."""
        key = spec if is_url(spec) else self.local_path(spec)
        if key in self._open:
            return self._open[key]
        try:
            where = self.location(spec)
            if not where.remote:
                return self.open(spec)
            repo = cache.open_cached(where.repo)
        except ProjectNotFound:
            return None
        subdir, url_rev = where.subdir, None
        if where.url_rev:
            url_rev, subdir = locations.split_rev(spec, where.url_rev, git.ref_names(repo))
        return Project(spec, repo, remote=True, subdir=subdir, url_rev=url_rev)
