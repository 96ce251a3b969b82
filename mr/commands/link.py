"""``mr link``: make a link to a MLEM object and write it into the registry; ``load_meta`` reads one."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from mr import git, linkfile, safefs
from mr.config import MLEM_CONFIG_FILE
from mr.errors import LinkExists, LinkFileError, MrError, ObjectNotFound, RegistryError, UsageError
from mr.model import (
    COMMIT,
    LINK_SUFFIX,
    Link,
    Meta,
    pinned,
)
from mr.registry import Registry, link_name
from mr.urls import is_url, redact, strip_credentials

if TYPE_CHECKING:
    from mr.reader import Found, Reader


#: how to name an object whose URL cannot be read as one
_BY_PARTS = "give the repository and the object's path apart: mr link PATH NAME --sp REPOSITORY [--rev REV]"


def _split_object_url(reader: Reader, registry: Registry, url: str, rev: str | None) -> tuple[str, str, str]:
    """The object's path, its project and the rev in the web URL ``url`` of a MLEM object, split as
    MLEM's resolvers split it: the longest leading parts that name a ref of the repository are the
    rev; the rest is the path, in the deepest folder on it that holds ``.mlem.yaml`` (the MLEM
    project), else from the repository's root."""
    from mr import locations

    shown = redact(url)
    found = locations.object_url(url, registry.config.hosts)
    if found is None:
        raise UsageError(
            f"{shown}: not a file in this registry, nor the web URL of an object "
            f"(https://github.com/ORG/REPO/tree/REV/PATH, GitLab /-/tree/ or /-/blob/, Bitbucket /src/); {_BY_PARTS}"
        )
    if rev is not None:
        raise UsageError(f"{shown}: the URL names the rev; leave out --rev, or {_BY_PARTS}")
    project = reader.projects.open(found.repo)
    rev, path = locations.split_rev(url, found.parts, git.ref_names(project.repo))
    if not path:
        raise UsageError(f"{shown}: names no object after the rev {rev}; {_BY_PARTS}")
    try:
        sha = project.resolve(rev).sha
    except MrError as e:
        raise ObjectNotFound(f"{shown}: {e.message}; {_BY_PARTS}") from None
    folders = path.split("/")[:-1]
    for n in range(len(folders), 0, -1):
        subdir = "/".join(folders[:n])
        if project.read(sha, f"{subdir}/{MLEM_CONFIG_FILE}") is not None:
            return path[len(subdir) + 1 :], found.folder(rev, subdir), rev
    return path, found.repo, rev


def registry_root(registry: str | None = None) -> str:
    """The top folder of the registry at ``registry`` (a folder inside it; default: around the current directory)."""
    return Registry.open(registry).root


def link(
    source: str,
    source_project: str | None = None,
    rev: str | None = None,
    target: str | None = None,
    target_project: str | None = None,
    follow_links: bool = True,
    absolute: bool = False,
    pin: bool = False,
    force: bool = False,
    *,
    source_repo: str | None = None,
    target_repo: str | None = None,
    external: bool | None = None,
    allow_local: bool = False,
) -> Link:
    """Make a link to the MLEM object ``source``, and write it when ``target`` is given.

    ``source_project`` is where the object lives (URL or local repository);
    without it the object is in the registry itself and the link is an alias.
    Without ``rev`` the project's default branch name is recorded. ``pin``
    stores the full commit SHA and keeps the symbolic rev in
    ``params.pinned_from``. ``target`` is the link's name inside the registry
    ``target_project`` (default: the repository around the current
    directory); an existing link is replaced only with ``force``.
    ``external`` (MLEM 0.2) is accepted and has no effect: a registry keeps
    its links where their names say. A chain through a remote source may not
    name a local project unless ``allow_local``; every hop meets the
    registry's ``allowed_sources`` and the credential rule.
    """

    del external
    if source_project is not None and source_repo is not None and source_project != source_repo:
        raise UsageError("give source_project or source_repo, not both")
    source_project = source_project if source_project is not None else source_repo
    target_project = target_project if target_project is not None else target_repo

    registry = Registry.open(target_project)
    name: str | None = None
    if target is not None:
        if registry.bare:
            raise RegistryError(
                f"{registry.root} is a bare repository: write links in a clone (mr promote commits to bare registries)"
            )
        if target_project is None:
            # like MLEM: without a target project the target is a path from here
            target = os.path.relpath(os.path.abspath(target), registry.root)
        name = link_name(target)
        # never through a symlinked folder, never over a symlink or a FIFO
        safefs.check(registry.root, name + LINK_SUFFIX)
        if os.path.lexists(registry.path_of(name)) and not force:
            raise LinkExists(f"{name}{LINK_SUFFIX} exists; pass --force to replace it")
    if rev is not None:
        problem = git.rev_problem(rev)
        if problem:
            raise UsageError(f"--rev {rev}: {problem}")

    reader = registry.view().reader(allow_local=allow_local)
    typed = None
    if source_project is None and is_url(source):
        # a source given as the object's web URL, as MLEM takes it
        typed = source
        source, source_project, rev = _split_object_url(reader, registry, source, rev)
    spec = source_project
    if spec is not None and not is_url(spec):
        # a path from here; links record it from the registry root (or absolute)
        full = os.path.abspath(os.path.expanduser(spec))
        spec = full if absolute else os.path.relpath(full, registry.root)
    if pin and rev is None:
        rev = reader.default_branch(spec)
    try:
        found = reader.read(spec, rev, source)
    except ObjectNotFound as e:
        if typed is None:
            raise
        raise ObjectNotFound(f"{redact(typed)}: {e.message}; {_BY_PARTS}") from None
    if follow_links and isinstance(found.obj, Link):
        found = reader.follow(found)
        link_type = str(found.obj.get("object_type")) if isinstance(found.obj, dict) else "link"
    elif isinstance(found.obj, Link):
        link_type = found.obj.link_type
    else:
        link_type = str(found.obj.get("object_type"))

    new = Link(
        link_type=link_type,
        path=found.path,
        project=_project_value(found.project, registry, absolute),
        rev=found.rev,
        project_field=registry.config.link_format,
    )
    if pin and found.resolved is not None:
        if found.resolved.kind == COMMIT:
            new = replace(new, rev=found.resolved.sha)
        else:
            new = pinned(new, found.resolved.sha, found.resolved.rev)
    if name is None:
        return new
    data = linkfile.dump_new(new)
    old = safefs.read_in(registry.root, name + LINK_SUFFIX)
    if old is not None:
        try:
            data = linkfile.dump_update(old, f"{name}{LINK_SUFFIX}", new)
        except LinkFileError:
            pass  # --force over a file that is no YAML mapping, or whose own params make no link: write it anew
    # checked again, and written folder by folder: nothing swapped in meanwhile is followed
    safefs.write_in(registry.root, name + LINK_SUFFIX, data)
    return linkfile.load_link(data, f"{name}{LINK_SUFFIX}", name=name)


def _project_value(project: str | None, registry: Registry, absolute: bool) -> str | None:
    """What a link file records as its project."""
    if project is None:
        return f"file://{registry.root}/" if absolute else None
    if is_url(project):
        return strip_credentials(project)
    full = os.path.normpath(os.path.join(registry.root, project))
    return full if absolute else os.path.relpath(full, registry.root)


def load_meta(
    path: str,
    project: str | None = None,
    rev: str | None = None,
    follow_links: bool = True,
    *,
    repo: str | None = None,
) -> Link | Meta:
    """Load the MLEM object at ``path`` (with or without ``.mlem``).

    ``project`` (``repo`` in MLEM 0.2) is a URL or a local repository; without
    it ``path`` is a file on disk. A link is followed to the object at the end
    of its chain unless ``follow_links=False``, which returns the ``Link``.
    """
    from mr.reader import Reader

    project = project if project is not None else repo
    if project is None:
        full = os.path.abspath(path)
        if not full.endswith(LINK_SUFFIX) and not os.path.isfile(full):
            full += LINK_SUFFIX
        base = _project_root(os.path.dirname(full))
        reader = Reader(base)
        found = reader.read(None, rev, os.path.relpath(full, base))
    else:
        reader = Reader(os.getcwd())
        found = reader.read(project, rev, path)
    if follow_links:
        found = reader.follow(found)
    if isinstance(found.obj, Link):
        return found.obj
    return _meta(found)


def _meta(found: Found) -> Meta:
    assert isinstance(found.obj, dict)
    return Meta(
        object_type=str(found.obj.get("object_type")),
        path=found.path,
        project=found.project,
        rev=found.rev,
        sha=found.resolved.sha if found.resolved else None,
        data=found.obj,
    )


def _project_root(folder: str) -> str:
    """The MLEM project root above ``folder``: where ``.mlem.yaml`` is, else the git root."""
    here = folder
    while True:
        if os.path.isfile(os.path.join(here, MLEM_CONFIG_FILE)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    try:
        return git.root(git.discover(folder))
    except MrError:
        return folder
