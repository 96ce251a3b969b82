"""Where a link's ``project`` lives: a git repository, a folder inside it, and a rev.

A MLEM project is a folder inside a git repository, not necessarily its root
(monorepos). This module turns the ``project`` a link names into the
repository to fetch or open, the project's folder inside it and the rev the
location itself names, the way MLEM 0.4.14's resolvers read it:

- a local path: a folder inside a repository (the repository is found by
  looking upwards, as git does; see ``mr.projects``);
- a hosting web URL: ``https://github.com/ORG/REPO[/tree/REV][/SUBDIR]``,
  ``https://gitlab.com/GROUP[/SUB...]/REPO[/-/tree/REV][/SUBDIR]``,
  ``https://bitbucket.org/ORG/REPO[/src/REV][/SUBDIR]``, and the same forms on
  hosts declared in ``.mr.yaml`` (``hosts: {git.corp.example: gitlab}``);
- any other git URL (``https://``, ``ssh://``, ``git://``, ``file://``,
  ``git@host:org/repo``): a repository, the project at its root.

A REV in a web URL may contain ``/``; which parts belong to it is decided
against the remote's refs (``split_rev``). When the link's ``rev`` field
names a rev too, the field wins, as in MLEM.

Kept free of heavy imports.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mr.errors import ProjectNotFound
from mr.urls import is_url, redact

HostKind = Literal["github", "gitlab", "bitbucket"]
HOST_KINDS: tuple[HostKind, ...] = ("github", "gitlab", "bitbucket")
#: The public hosting sites whose web URLs are understood without configuration.
KNOWN_HOSTS: Mapping[str, HostKind] = {
    "github.com": "github",
    "www.github.com": "github",
    "gitlab.com": "gitlab",
    "www.gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "www.bitbucket.org": "bitbucket",
}
#: URL schemes git can fetch; anything else is no git project.
GIT_SCHEMES = ("http", "https", "ssh", "git", "file", "git+ssh", "ssh+git")


@dataclass(frozen=True)
class Location:
    """A project resolved to its repository."""

    #: the repository: a URL to fetch, or (local) the folder the link names
    repo: str
    #: the project's folder inside the repository, '' for its root (posix, normalised)
    subdir: str
    #: the rev the location itself names (``/tree/REV``), parts as written
    url_rev: tuple[str, ...] = ()
    remote: bool = True


class NotGitProject(ProjectNotFound):
    """A project location git cannot fetch (``s3://``, ``gs://``, a plain file URL...)."""


def parse(spec: str, hosts: Mapping[str, str] | None = None) -> Location:
    """The location of ``spec`` (a URL; local paths are left to ``mr.projects``)."""
    if not is_url(spec):
        return Location(repo=spec, subdir="", remote=False)
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else "ssh"
    if scheme not in GIT_SCHEMES:
        raise NotGitProject(
            f"project {redact(spec)}: mr follows links into git projects only "
            f"({scheme}:// is not a git URL; MLEM objects kept elsewhere are not supported)"
        )
    if scheme not in ("http", "https"):
        return Location(repo=spec, subdir="")
    parts = urlsplit(spec)
    host = (parts.hostname or "").lower()
    kind = _host_kind(host, hosts or {})
    if kind is None or parts.query or parts.fragment:
        return Location(repo=spec, subdir="")
    segments = [s for s in parts.path.split("/") if s]
    base = f"{parts.scheme}://{parts.netloc}"
    if kind == "gitlab":
        return _gitlab(spec, base, segments)
    marker = "tree" if kind == "github" else "src"
    if len(segments) < 2:
        return Location(repo=spec, subdir="")
    repo = f"{base}/{segments[0]}/{_strip_git(segments[1])}"
    rest = segments[2:]
    if rest and rest[0] == marker:
        if len(rest) < 2:
            raise ProjectNotFound(f"project {redact(spec)}: /{marker}/ must be followed by a rev")
        return Location(repo=repo, subdir="", url_rev=tuple(rest[1:]))
    return Location(repo=repo, subdir=_subdir(spec, rest))


@dataclass(frozen=True)
class ObjectUrl:
    """The web URL of a MLEM object on a hosting site, as MLEM accepts it for a source
    (``https://github.com/ORG/REPO/tree/REV/PATH``): the repository, and the parts after the
    rev marker (the rev, which may hold ``/``, then the object's path)."""

    repo: str
    parts: tuple[str, ...]
    #: what comes between the repository and the rev in a URL of a folder: ``tree``, ``-/tree``, ``src``
    marker: str

    def folder(self, rev: str, subdir: str) -> str:
        """The web URL of folder ``subdir`` at ``rev`` (the form a link's ``project`` takes)."""
        return f"{self.repo}/{self.marker}/{rev}/{subdir}" if subdir else self.repo


def object_url(spec: str, hosts: Mapping[str, str] | None = None) -> ObjectUrl | None:
    """``spec`` read as the web URL of an object (GitHub ``/tree/`` or ``/blob/``, GitLab ``/-/tree/``
    or ``/-/blob/``, Bitbucket ``/src/``, on the public sites or ``hosts``), or None when it is not one."""
    if not spec.lower().startswith(("https://", "http://")):
        return None
    parts = urlsplit(spec)
    kind = _host_kind((parts.hostname or "").lower(), hosts or {})
    if kind is None or parts.query or parts.fragment:
        return None
    segments = [s for s in parts.path.split("/") if s]
    base = f"{parts.scheme}://{parts.netloc}"
    if kind == "gitlab":
        if "-" not in segments:
            return None
        i = segments.index("-")
        repo_path, rest = segments[:i], segments[i + 1 :]
        if len(repo_path) < 2 or len(rest) < 2 or rest[0] not in ("tree", "blob"):
            return None
        repo = f"{base}/{'/'.join(repo_path[:-1])}/{_strip_git(repo_path[-1])}"
        return ObjectUrl(repo, tuple(rest[1:]), "-/tree")
    markers = ("tree", "blob") if kind == "github" else ("src",)
    if len(segments) < 4 or segments[2] not in markers:
        return None
    repo = f"{base}/{segments[0]}/{_strip_git(segments[1])}"
    return ObjectUrl(repo, tuple(segments[3:]), "tree" if kind == "github" else "src")


def _gitlab(spec: str, base: str, segments: list[str]) -> Location:
    # GROUP/SUB.../REPO[/-/tree/REV/SUBDIR]: everything before "/-/" is the
    # repository's path; without it there is no way to tell a subgroup from
    # a folder, so the whole path is the repository, as GitLab itself reads it.
    if "-" in segments:
        i = segments.index("-")
        repo_path, rest = segments[:i], segments[i + 1 :]
        if len(repo_path) < 2:
            return Location(repo=spec, subdir="")
        repo = f"{base}/{'/'.join(repo_path[:-1])}/{_strip_git(repo_path[-1])}"
        if len(rest) >= 2 and rest[0] == "tree":
            return Location(repo=repo, subdir="", url_rev=tuple(rest[1:]))
        raise ProjectNotFound(f"project {redact(spec)}: only /-/tree/REV[/SUBDIR] URLs name a GitLab folder")
    if len(segments) < 2:
        return Location(repo=spec, subdir="")
    return Location(repo=f"{base}/{'/'.join(segments[:-1])}/{_strip_git(segments[-1])}", subdir="")


def _strip_git(name: str) -> str:
    return name[: -len(".git")] if name.endswith(".git") else name


def _subdir(spec: str, parts: Iterable[str]) -> str:
    joined = "/".join(parts)
    if not joined:
        return ""
    norm = posixpath.normpath(joined)
    if norm.startswith("../") or norm == ".." or norm.startswith("/"):
        raise ProjectNotFound(f"project {redact(spec)}: the folder leaves the repository")
    return "" if norm == "." else norm


def _host_kind(host: str, hosts: Mapping[str, str]) -> HostKind | None:
    declared = {h.lower(): k for h, k in hosts.items()}
    kind = declared.get(host) or KNOWN_HOSTS.get(host)
    return kind if kind in HOST_KINDS else None


def split_rev(spec: str, url_rev: tuple[str, ...], refs: Iterable[str]) -> tuple[str, str]:
    """Split ``/tree/A/B/C`` into (rev, subdir) using the repository's branch and tag names.

    The longest run of leading parts that names a ref wins (``release/1.0``
    before ``release``); when none does, the first part is the rev (a commit
    SHA, or a rev that does not exist, reported later).
    """
    names = set(refs)
    for n in range(len(url_rev), 0, -1):
        candidate = "/".join(url_rev[:n])
        if candidate in names:
            return candidate, _subdir(spec, url_rev[n:])
    return url_rev[0], _subdir(spec, url_rev[1:])
