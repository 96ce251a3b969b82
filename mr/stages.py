"""Views across stage branches: the matrix, the diff between two stages, a link's history."""
from __future__ import annotations

from dataclasses import dataclass

from mr import git
from mr.errors import MrError, RegistryError
from mr.model import LINK_SUFFIX, TRAILER_FROM, TRAILER_LINK, TRAILER_REV, Link, Problem
from mr.registry import Registry, link_name

#: Fields compared between stages, in the order they are shown.
FIELDS = ("link_type", "project", "path", "rev", "pinned_from", "params", "field")


def fields(link: Link) -> dict[str, str | None]:
    from mr.urls import redact

    others = {k: v for k, v in sorted(link.params.items()) if k != "pinned_from"}
    return {
        "link_type": link.link_type,
        "project": redact(link.project) if link.project else None,
        "path": link.path,
        "rev": link.rev,
        "pinned_from": link.pinned_from,
        "params": ", ".join(f"{k}={v}" for k, v in others.items()) or None,
        # project (MLEM 0.4) or repo (MLEM 0.2): which name the file uses
        "field": link.project_field if link.project else None,
    }


@dataclass(frozen=True)
class Matrix:
    stages: tuple[str, ...]
    #: link name -> one Link (or None where the stage lacks it) per stage
    rows: dict[str, tuple[Link | None, ...]]
    problems: tuple[Problem, ...] = ()


def matrix(reg: Registry) -> Matrix:
    """Every link on every stage branch."""
    stages = reg.config.stages
    per_stage: list[dict[str, Link]] = []
    problems: list[Problem] = []
    for stage in stages:
        if git.branch_tip(reg.repo, stage) is None:
            per_stage.append({})
            problems.append(Problem(stage, None, f"no branch {stage} (mr init creates it)", "warning"))
            continue
        links, bad = reg.links(stage)
        problems += [Problem(e.file, e.line, e.detail) for e in bad]
        per_stage.append({link.name or "": link for link in links})
    names = sorted({n for s in per_stage for n in s})
    rows = {n: tuple(s.get(n) for s in per_stage) for n in names}
    return Matrix(stages, rows, tuple(problems))


@dataclass(frozen=True)
class LinkChange:
    name: str
    old: Link | None
    new: Link | None

    @property
    def kind(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    def changed_fields(self) -> dict[str, tuple[str | None, str | None]]:
        before = fields(self.old) if self.old else dict.fromkeys(FIELDS)
        after = fields(self.new) if self.new else dict.fromkeys(FIELDS)
        return {f: (before[f], after[f]) for f in FIELDS if before[f] != after[f]}


@dataclass(frozen=True)
class StageDiff:
    source: str
    target: str
    changes: tuple[LinkChange, ...]
    problems: tuple[Problem, ...] = ()


def diff(reg: Registry, source: str, target: str) -> StageDiff:
    """Links added, removed and changed going from stage ``source`` to stage ``target``."""
    a, bad_a = reg.links(source)
    b, bad_b = reg.links(target)
    old = {link.name: link for link in a}
    new = {link.name: link for link in b}
    changes = []
    for name in sorted(set(old) | set(new), key=str):
        before, after = old.get(name), new.get(name)
        if before is None or after is None or before != after:
            changes.append(LinkChange(name or "", before, after))
    problems = tuple(Problem(e.file, e.line, e.detail) for e in (*bad_a, *bad_b))
    return StageDiff(source, target, tuple(changes), problems)


@dataclass(frozen=True)
class HistoryEntry:
    stage: str
    commit: str
    author: str
    email: str
    time: int
    offset: int
    source: str | None
    source_commit: str | None
    rev: str | None
    sha: str | None


@dataclass(frozen=True)
class LinkHistory:
    name: str
    #: the link on each stage (None where absent)
    stages: tuple[tuple[str, Link | None], ...]
    history: tuple[HistoryEntry, ...]
    problems: tuple[Problem, ...] = ()


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """``(key, value)`` of the trailers in a commit message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    out = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or " " in key:
            return []
        out.append((key, value.strip()))
    return out


def promotions_of(message: str, name: str) -> list[tuple[str | None, str | None, str | None, str | None]]:
    """``(from stage, from commit, rev, sha)`` for each time ``name`` is promoted in ``message``."""
    source = source_commit = None
    found = []
    current: str | None = None
    for key, value in parse_trailers(message):
        if key == TRAILER_FROM:
            parts = value.split()
            source = parts[0] if parts else None
            source_commit = parts[1] if len(parts) > 1 else None
        elif key == TRAILER_LINK:
            current = value
        elif key == TRAILER_REV and current == name:
            rev, _, sha = value.rpartition(" ")
            found.append((rev or None, sha or None))
            current = None
    return [(source, source_commit, rev, sha) for rev, sha in found]


def history(reg: Registry, name: str) -> LinkHistory:
    """The link on each stage, and every promotion of it recorded on the stage branches."""
    name = link_name(name)
    per_stage: list[tuple[str, Link | None]] = []
    problems: list[Problem] = []
    entries: dict[str, HistoryEntry] = {}
    for stage in reg.config.stages:
        if git.branch_tip(reg.repo, stage) is None:
            per_stage.append((stage, None))
            continue
        try:
            per_stage.append((stage, reg.read_link(name, stage)))
        except MrError as e:
            per_stage.append((stage, None))
            if "no such link" not in e.message:
                problems.append(
                    Problem(f"{stage}:{name}{LINK_SUFFIX}", getattr(e, "line", None), getattr(e, "detail", e.message))
                )
    # latest stage first: a promotion commit that later reached an earlier
    # stage (a fast-forward back) still counts for the stage it was made on.
    # Every parent is followed, so a promotion merged from a review branch
    # counts too.
    for stage in reversed(reg.config.stages):
        tip = git.branch_tip(reg.repo, stage)
        if tip is None:
            continue
        for c in git.log(reg.repo, tip, first_parent=False):
            if c.sha in entries or TRAILER_LINK not in c.message:
                continue
            for source, source_commit, rev, sha in promotions_of(c.message, name):
                entries[c.sha] = HistoryEntry(
                    stage, c.sha, c.author, c.email, c.time, c.offset, source, source_commit, rev, sha
                )
    if all(link is None for _, link in per_stage) and not entries:
        raise RegistryError(f"no link {name} on any stage ({', '.join(reg.config.stages)})")
    ordered = tuple(sorted(entries.values(), key=lambda e: e.time, reverse=True))
    return LinkHistory(name, tuple(per_stage), ordered, tuple(problems))
