"""Views across stage branches: the matrix, the diff between two stages, a link's history."""

from __future__ import annotations

from dataclasses import dataclass

from mr import git, linkfile
from mr.errors import LinkFileError, LinkNotFound
from mr.model import (
    ACTION_RETIRE,
    ACTION_ROLLBACK,
    LINK_SUFFIX,
    SHORT_SHA,
    TRAILER_ACTION,
    TRAILER_FROM,
    TRAILER_LINK,
    TRAILER_REV,
    TRAILER_ROLLBACK_TO,
    HistoryKind,
    Link,
    Problem,
)
from mr.registry import Registry, link_name
from mr.results import FIELDS as FIELDS
from mr.results import HistoryEntry as HistoryEntry
from mr.results import LinkChange as LinkChange
from mr.results import LinkHistory as LinkHistory
from mr.results import Matrix as Matrix
from mr.results import StageDiff as StageDiff
from mr.results import fields as fields


def matrix(reg: Registry) -> Matrix:
    """Every link on every stage branch."""
    stages = reg.config.stages
    per_stage: list[dict[str, Link]] = []
    problems: list[Problem] = []
    for stage in stages:
        if reg.find_stage(stage) is None:
            per_stage.append({})
            problems.append(Problem(stage, None, f"no branch {stage} (mr init creates it)", "warning"))
            continue
        links, bad = reg.links(stage)
        problems += [Problem(e.file, e.line, e.detail) for e in bad]
        per_stage.append({link.name or "": link for link in links})
    names = sorted({n for s in per_stage for n in s})
    rows = {n: tuple(s.get(n) for s in per_stage) for n in names}
    return Matrix(stages, rows, tuple(problems), tuple(reg.notes))


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
    return StageDiff(source, target, tuple(changes), problems, tuple(reg.notes))


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
        if key == TRAILER_ACTION:
            return []  # a rollback or retirement, not a promotion
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


@dataclass(frozen=True)
class Recorded:
    """What a commit's trailers say it did to one link."""

    kind: HistoryKind
    source: str | None = None
    source_commit: str | None = None
    rev: str | None = None
    sha: str | None = None
    rollback_to: str | None = None


def recorded(message: str, name: str) -> Recorded | None:
    """What the trailers of ``message`` record for link ``name``; None when they do not name it."""
    trailers = parse_trailers(message)
    actions = [v for k, v in trailers if k == TRAILER_ACTION]
    named = any(k == TRAILER_LINK and v == name for k, v in trailers)
    if not named:
        return None
    if not actions:
        found = promotions_of(message, name)
        source, source_commit, rev, sha = found[-1] if found else (None, None, None, None)
        return Recorded("promotion", source, source_commit, rev, sha)
    if actions[0] == ACTION_RETIRE:
        return Recorded("retirement")
    if actions[0] == ACTION_ROLLBACK:
        current = None
        for key, value in trailers:
            if key == TRAILER_LINK:
                current = value
            elif key == TRAILER_ROLLBACK_TO and current == name:
                return Recorded("rollback", rollback_to=None if value == "-" else value)
        return Recorded("rollback")
    return None  # an action this version does not know: shown as what the file shows


def rev_text(data: bytes | None, file: str) -> str | None:
    """A link file's rev for history: ``main``, ``v1@<sha>`` for a pin, None when absent."""
    if data is None:
        return None
    try:
        link = linkfile.load_link(data, file)
    except LinkFileError:
        return "(unreadable)"
    if link.is_pinned:
        return f"{link.pinned_from}@{link.rev}"
    if link.rev is None:
        return "(default branch)" if link.project is not None else "(registry)"
    return link.rev


def history(reg: Registry, name: str) -> LinkHistory:
    """The link on each stage, and every commit that changed it on a stage branch, newest first."""
    name = link_name(name)
    path = name + LINK_SUFFIX
    per_stage: list[tuple[str, Link | None]] = []
    problems: list[Problem] = []
    tips: list[tuple[str, str]] = []
    for stage in reg.config.stages:
        tip = reg.find_stage(stage)
        if tip is None:
            per_stage.append((stage, None))
            continue
        tips.append((stage, tip))
        try:
            per_stage.append((stage, reg.read_link(name, stage)))
        except LinkNotFound:
            per_stage.append((stage, None))
        except LinkFileError as e:
            per_stage.append((stage, None))
            problems.append(Problem(e.file, e.line, e.detail))
    order = {s: i for i, s in enumerate(reg.config.stages)}
    keyed: list[tuple[tuple[int, int, int], HistoryEntry]] = []
    # Every parent is followed, so changes merged from review branches count.
    # A commit on several stage branches (a fast-forward back) counts for the
    # latest stage that holds it.
    for i, change in enumerate(git.path_changes(reg.repo, [t for _, t in tips], path)):
        c = change.commit
        stage = next(s for s, t in reversed(tips) if git.is_ancestor(reg.repo, c.sha, t))
        # newest first; within one second (git's resolution), a later stage
        # first (links flow that way), then the walk's order (children first)
        key = (-c.commit_time, -order[stage], i)
        what = recorded(c.message, name) or Recorded("direct change")
        keyed.append(
            (
                key,
                HistoryEntry(
                    stage,
                    c.sha,
                    c.author,
                    c.email,
                    c.time,
                    c.offset,
                    what.kind,
                    rev_text(change.before, f"{c.sha[:SHORT_SHA]}^:{path}"),
                    rev_text(change.after, f"{c.sha[:SHORT_SHA]}:{path}"),
                    what.source,
                    what.source_commit,
                    what.rev,
                    what.sha,
                    what.rollback_to,
                ),
            )
        )
    entries = [e for _, e in sorted(keyed, key=lambda k: k[0])]
    if all(link is None for _, link in per_stage) and not entries:
        raise LinkNotFound(f"no link {name} on any stage ({', '.join(reg.config.stages)})")
    return LinkHistory(name, tuple(per_stage), tuple(entries), tuple(problems), tuple(reg.notes))
