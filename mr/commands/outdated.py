"""``mr show --outdated``: links whose source has moved on since they were recorded."""

from __future__ import annotations

from mr import git
from mr.errors import MrError, RevNotFound
from mr.model import BRANCH, TAG, TRAILER_LINK, Link, OutdatedKind, Problem, is_full_sha, version_key
from mr.projects import Project
from mr.registry import Registry
from mr.results import Outdated, OutdatedReport
from mr.trailers import promotions_of


#: vX.Y.Z, X.Y.Z, vX.Y, with an optional -pre or +build part
def _recorded_sha(reg: Registry, stage: str | None, name: str) -> str | None:
    """The commit the link's rev resolved to when it was last promoted onto ``stage``."""
    if stage is None:
        return None
    tip = reg.find_stage(stage)
    if tip is None:
        return None
    for c in git.log(reg.repo, tip, first_parent=False):
        if TRAILER_LINK in c.message:
            for _, _, _, sha in promotions_of(c.message, name):
                if sha and is_full_sha(sha):
                    return sha
    return None


def _report(
    reg: Registry, stage: str | None, offline: bool = False, jobs: int = 8, allow_local: bool = False
) -> OutdatedReport:

    links, bad = reg.links(stage)
    problems = [Problem(e.file, e.line, e.detail) for e in bad]
    # a stage's links are read as that stage's own .mr.yaml says (hosts:)
    reader = reg.view(stage).reader(fetch=not offline, allow_local=allow_local)
    trusted = []
    for link in links:
        try:
            reader.check_local(link.project, None, link.file or link.name or "")
        except MrError as e:  # a remote registry naming a path here: never opened
            problems.append(Problem(link.file or link.name or "", link.line_of(link.project_field), e.message))
            continue
        refused = reader.projects.refusal(link.project) if link.project is not None else None
        if refused:  # outside allowed_sources: never contacted
            problems.append(Problem(link.file or link.name or "", link.line_of(link.project_field), refused))
            continue
        trusted.append(link)
    links = trusted
    specs = sorted({link.project for link in links if link.project is not None})
    failed = reader.projects.open_all(specs, jobs)
    entries: list[Outdated] = []
    checked = 0
    for link in links:
        if link.project is None:
            continue  # an alias moves with the registry itself
        if link.project in failed:
            continue
        project = reader.projects.open(link.project)
        name = link.name or ""
        try:
            found = _check(reg, stage, name, link, project)
        except MrError as e:
            problems.append(Problem(link.file or name, link.line_of("rev"), e.message))
            continue
        checked += 1
        if found is not None:
            entries.append(found)
    return OutdatedReport(
        stage,
        tuple(sorted(entries, key=lambda e: e.name)),
        checked,
        tuple(problems),
        tuple(sorted(failed)),
        tuple(reg.notes),
        reg.copies(),
    )


def _check(reg: Registry, stage: str | None, name: str, link: Link, project: Project) -> Outdated | None:
    rev = link.rev or project.default_branch()
    if link.is_pinned:
        symbolic = link.pinned_from or ""
        try:
            now = project.resolve(symbolic)
        except RevNotFound:
            return Outdated(name, link, "pin", rev, "(gone)", f"pinned from {symbolic}, which no longer exists")
        if now.kind == BRANCH:
            if now.sha != rev:
                ahead = git.is_ancestor(project.repo, rev, now.sha)
                how = "has moved on" if ahead else "was rewritten"
                return Outdated(name, link, "pin", rev, now.sha, f"branch {symbolic} {how} since the pin")
            return None
        if now.kind == TAG:
            return _newer_tag(name, link, project, symbolic, rev, "pin")
        return None
    if is_full_sha(rev):
        return None  # a bare commit never moves
    kind = project.kind_of(rev)
    if kind == TAG:
        return _newer_tag(name, link, project, rev, rev, "tag")
    resolved = project.resolve(rev)
    if resolved.kind != BRANCH:
        return None
    recorded = _recorded_sha(reg, stage, name)
    if recorded is not None and recorded != resolved.sha:
        return Outdated(name, link, "branch", recorded, resolved.sha, f"branch {rev} has moved since it was promoted")
    return None


def _newer_tag(name: str, link: Link, project: Project, tag: str, current: str, kind: OutdatedKind) -> Outdated | None:
    mine = version_key(tag)
    if mine is None:
        return None
    newer = [
        (key, t)
        for t in git.tags(project.repo)
        if (key := version_key(t)) is not None and key[0] == mine[0] and key > mine
    ]
    if not newer:
        return None
    latest = max(newer)[1]
    count = len(newer)
    return Outdated(
        name,
        link,
        kind,
        tag if kind == "tag" else current,
        latest,
        f"{count} newer version tag{'s' if count != 1 else ''} than {tag}",
    )


def outdated(
    stage: str | None = None,
    registry: str | None = None,
    offline: bool = False,
    jobs: int = 8,
    allow_local: bool = False,
    remote: str | None = None,
) -> OutdatedReport:
    """Links whose source has moved on: branch tips past the commit recorded at promotion,
    pins whose branch has advanced, tags with newer version tags. Each project is fetched once."""
    return _report(
        Registry.open(registry, remote_ok=True, remote=remote),
        stage,
        offline=offline,
        jobs=jobs,
        allow_local=allow_local,
    )
