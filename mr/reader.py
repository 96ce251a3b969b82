"""Reading MLEM objects across projects: open each project once, resolve each
(project, rev) once, follow chains of links to their end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mr import checks, git, linkfile
from mr.config import Config
from mr.errors import (
    LinkChainError,
    LinkFileError,
    MrError,
    ObjectNotFound,
    PolicyError,
    ProjectNotFound,
    RevNotFound,
)
from mr.model import BRANCH, LINK_SUFFIX, SHORT_SHA, TAG, THIS_REGISTRY, WARNING, Link, Problem, ResolvedRev
from mr.projects import Projects
from mr.urls import is_local, redact

#: Longest chain of links followed before giving up.
MAX_LINK_DEPTH = 16


@dataclass(frozen=True)
class Found:
    """A meta file that was read, and where."""

    obj: Link | dict[str, Any]
    project: str | None  # None: the registry (or local folder) itself
    rev: str | None
    resolved: ResolvedRev | None
    path: str


class Reader:
    """Reads meta files from projects, opening and fetching each once."""

    def __init__(
        self,
        root: str,
        *,
        fetch: bool = True,
        alias_rev: str | None = None,
        overlay: dict[str, bytes] | None = None,
        alias_label: str | None = None,
        hosts: Mapping[str, str] | None = None,
        policy: Config | None = None,
        untrusted_root: bool = False,
        allow_local: bool = False,
    ) -> None:
        self.root = root
        # nothing outside the policy's allowed_sources is contacted or read, at any hop
        gate = (lambda spec: checks.source_refusal(spec, policy)) if policy is not None else None
        self.projects = Projects(root, fetch=fetch, hosts=hosts, gate=gate)
        #: where an alias without a rev is read: None for the work tree, else this rev
        self.alias_rev = alias_rev
        #: files an alias sees first, in place of alias_rev's (a promotion not yet committed)
        self.overlay = overlay or {}
        #: how messages name alias_rev (a stage, rather than a SHA)
        self.alias_label = alias_label
        #: allowed_sources and the credential rule, applied to every hop of a chain
        self.policy = policy
        #: the registry itself came from a remote (--registry URL): its links may not name local paths
        self.untrusted_root = untrusted_root
        #: the user trusts remote content to name local projects (--allow-local-projects)
        self.allow_local = allow_local
        self._resolved: dict[tuple[str | None, str], ResolvedRev] = {}
        self._local: git.Repo | None = None

    def from_remote(self, origin: str | None) -> bool:
        """Whether content read from ``origin`` (None: the registry) came from a remote."""
        if origin is None:
            return self.untrusted_root
        return not is_local(origin)

    def check_local(self, project: str | None, origin: str | None, what: str) -> None:
        """Refuse a local ``project`` named by content from a remote, unless the user trusts it."""
        if project is None or self.allow_local or not is_local(project) or not self.from_remote(origin):
            return
        raise PolicyError(
            f"{what} names the local project {project}, but it came from a remote, which may not "
            "name paths on this machine (--allow-local-projects trusts it)"
        )

    def _local_repo(self) -> git.Repo:
        if self._local is None:
            self._local = git.discover(self.root)
        return self._local

    def resolve(self, project: str | None, rev: str) -> ResolvedRev:
        key = (project, rev)
        if key not in self._resolved:
            if project is None:
                self._resolved[key] = git.resolve(self._local_repo(), rev, THIS_REGISTRY)
            else:
                self._resolved[key] = self.projects.open(project).resolve(rev)
        return self._resolved[key]

    def default_branch(self, project: str | None) -> str:
        if project is None:
            return git.default_branch(self._local_repo(), THIS_REGISTRY)
        return self.projects.open(project).default_branch()

    def read(self, project: str | None, rev: str | None, path: str) -> Found:
        """Read the meta file at ``path`` (with or without ``.mlem``)."""
        problem = linkfile.project_path_problem(path)
        if problem:
            raise ObjectNotFound(f"{path}: {problem}")
        path = git.normalize_path(path)
        if not path.endswith(LINK_SUFFIX):
            path += LINK_SUFFIX
        where = THIS_REGISTRY if project is None else redact(project)
        resolved = None
        at = ""  # for messages
        # an alias without a rev stays in "alias mode" (rev None), so the links
        # it chains to are read from the same place: overlay, alias_rev or work tree
        if project is None and rev is None and path in self.overlay:
            data: bytes | None = self.overlay[path]
            shown = f"{self.alias_label or THIS_REGISTRY}:{path}"
        elif project is None and rev is None and self.alias_rev is not None:
            data = git.read_at(self._local_repo(), self.alias_rev, path)
            shown = f"{self.alias_label or self.alias_rev[:SHORT_SHA]}:{path}"
            at = f" at {self.alias_label or self.alias_rev[:SHORT_SHA]}"
        elif project is None and rev is None:
            data = self._read_worktree(path)
            shown = path
        else:
            if rev is None:
                rev = self.default_branch(project)
            resolved = self.resolve(project, rev)
            data = (
                git.read_at(self._local_repo(), resolved.sha, path)
                if project is None
                else self.projects.open(project).read(resolved.sha, path)
            )
            shown = f"{where}@{rev}:{path}"
            at = f" at {rev}"
        if data is None:
            raise ObjectNotFound(f"{path} not found in {where}{at}")
        try:
            obj = linkfile.load(data, shown)
        except LinkFileError as e:
            raise ObjectNotFound(f"{shown}: not a MLEM object: {e.detail}") from None
        return Found(obj=obj, project=project, rev=rev, resolved=resolved, path=path)

    def _read_worktree(self, path: str) -> bytes | None:
        from mr import safefs

        return safefs.read_in(self.root, path)

    def follow(self, found: Found) -> Found:
        """Follow a chain of links from ``found`` to the object at its end."""
        seen: set[tuple[str | None, str | None, str]] = set()
        chain: list[str] = []
        hops: list[str] = []  # as messages name them
        last_project = found.project
        while isinstance(found.obj, Link):
            link = found.obj
            key = (found.project, found.resolved.sha if found.resolved else None, found.path)
            chain.append(f"{redact(found.project) or '.'}:{found.path}")
            # a hop names its project when it moved to another one (the first is the one the link names)
            moved = len(chain) > 1 and found.project is not None and found.project != last_project
            hops.append(f"{redact(found.project)}:{found.path}" if moved else found.path)
            last_project = found.project
            if key in seen:
                raise LinkChainError("links form a cycle: " + " -> ".join(chain))
            if len(chain) > MAX_LINK_DEPTH:
                raise LinkChainError(
                    f"chain of links deeper than {MAX_LINK_DEPTH}: " + " -> ".join(chain[:3]) + " -> ..."
                )
            seen.add(key)
            problem = checks.hop_problem(link, self.policy)
            if problem:
                raise PolicyError(problem)
            self.check_local(link.project, found.project, f"{redact(found.project) or '.'}:{found.path}")
            if link.project is None:
                # relative to where this link was read: same project and rev
                project, rev = found.project, link.rev or found.rev
            else:
                project, rev = link.project, link.rev
            try:
                found = self.read(project, rev, link.path)
            except (ObjectNotFound, RevNotFound, ProjectNotFound, LinkChainError) as e:
                # each hop taken is named: the error alone says where the last one pointed
                raise type(e)(f"via {' -> '.join(hops)}: {e.message}") from None
        return found


def verify_target(reader: Reader, item: Link, problems: list[Problem]) -> tuple[str | None, Found | None]:
    """Resolve the link and follow it to its object, adding what is wrong to ``problems``."""
    try:
        reader.check_local(item.project, None, item.file or item.name or item.path)
        found = reader.read(item.project, item.rev, item.path)
    except RevNotFound as e:
        problems.append(checks.problem(item, e.message, "rev"))
        return None, None
    except ObjectNotFound as e:
        problems.append(checks.problem(item, e.message, "path"))
        return None, None
    except MrError as e:
        problems.append(checks.problem(item, e.message, item.project_field))
        return None, None
    sha = found.resolved.sha if found.resolved else None
    try:
        final = reader.follow(found)
    except MrError as e:
        said = e.message if e.message.startswith("via ") else f"following {item.path}: {e.message}"
        problems.append(checks.problem(item, said, "path"))
        return sha, found
    if isinstance(final.obj, dict):
        wrong = checks.type_problem(item, str(final.obj.get("object_type")))
        if wrong:
            problems.append(wrong)
    if item.is_pinned and item.project is not None and sha is not None:
        warning = pin_warning(reader, item, sha)
        if warning:
            problems.append(warning)
    return sha, found


def pin_warning(reader: Reader, item: Link, sha: str) -> Problem | None:
    assert item.project is not None and item.pinned_from is not None
    project = reader.projects.open(item.project)
    try:
        now = project.resolve(item.pinned_from)
    except RevNotFound:
        return checks.problem(
            item, f"pinned from {item.pinned_from}, which no longer exists in {project.display}", "params", WARNING
        )
    if now.kind == BRANCH and not git.is_ancestor(project.repo, sha, now.sha):
        return checks.problem(
            item,
            f"pinned commit {sha[:SHORT_SHA]} is no longer on branch {item.pinned_from} (rewritten history?)",
            "rev",
            WARNING,
        )
    if now.kind == TAG and now.sha != sha:
        return checks.problem(
            item,
            f"tag {item.pinned_from} now points at {now.sha[:SHORT_SHA]}, not the pinned {sha[:SHORT_SHA]}",
            "rev",
            WARNING,
        )
    return None
