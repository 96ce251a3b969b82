"""What ``mr show`` and ``mr site`` return: the links of a stage, one link at a moment, the matrix
of stages, the diff between two, a link's history, and the whole registry at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mr.model import (
    ERROR,
    PINNED_FROM,
    ChangeKind,
    HistoryKind,
    Link,
    Problem,
    RevKind,
)


@dataclass(frozen=True)
class LinkEntry:
    """A link as ``mr show`` lists it."""

    name: str
    link: Link
    kind: RevKind
    sha: str | None = None
    #: the link's version (``model.version_of``): v1.2.0, main@1a2b3c4d5e6f, ...
    version: str = ""


@dataclass(frozen=True)
class ShowResult:
    registry: str
    stage: str | None
    entries: tuple[LinkEntry, ...]
    #: files that could not be read as links, revs that could not be resolved
    problems: tuple[Problem, ...] = ()
    #: warnings about the stages read (a local stage behind its remote)
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()
    #: with ``at``: the moment asked about (seconds since the epoch), and the commit that was the
    #: stage's tip then, with its commit time
    at: int | None = None
    commit: str | None = None
    commit_time: int | None = None

    @property
    def ok(self) -> bool:
        """Exit 0: every file was read as a link and every rev resolved (``--resolve``)."""
        return not self.problems


@dataclass(frozen=True)
class StageAt:
    """One stage at a moment: the commit that was its tip then (None: it did not exist yet), and a link on it."""

    stage: str
    commit: str | None
    commit_time: int | None
    link: Link | None


@dataclass(frozen=True)
class LinkAt:
    """A link on every stage as it was at a moment (``mr show NAME --at``)."""

    name: str
    at: int
    stages: tuple[StageAt, ...]
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    read_from: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """Exit 0: the link file was read wherever it was."""
        return not self.problems


# --- stage views: matrix, diff, history (stages) --------------------------------------

#: Fields compared between stages, in the order they are shown.
FIELDS = ("link_type", "project", "path", "rev", "pinned_from", "params", "field")


def fields(link: Link) -> dict[str, str | None]:
    from mr.urls import redact

    others = {k: v for k, v in sorted(link.params.items()) if k != PINNED_FROM}
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
    #: warnings about the stages read (a local stage behind its remote)
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()
    #: stage -> the links it lacks because a retirement took them off (the others were never there)
    retired: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Exit 0: no file was unreadable (a stage without a branch is only a warning)."""
        return not any(p.severity == ERROR for p in self.problems)


@dataclass(frozen=True)
class LinkChange:
    name: str
    old: Link | None
    new: Link | None

    @property
    def kind(self) -> ChangeKind:
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
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()
    #: the commits each side was read at
    source_commit: str | None = None
    target_commit: str | None = None

    @property
    def ok(self) -> bool:
        """Exit 0: every link file of both stages was read."""
        return not self.problems


@dataclass(frozen=True)
class HistoryEntry:
    """A commit that changed a link on a stage branch."""

    stage: str
    commit: str
    author: str
    email: str
    time: int
    offset: int
    #: promotion, rollback, retirement (from the commit's trailers), or direct change (no trailers)
    kind: HistoryKind
    #: the link's rev before and after the commit, as ``rev_text`` gives it (None: absent)
    rev_before: str | None
    rev_after: str | None
    #: a promotion: the stage and commit it came from, and the rev and commit its trailers record
    source: str | None = None
    source_commit: str | None = None
    rev: str | None = None
    sha: str | None = None
    #: a rollback: the stage commit the link was put back to
    rollback_to: str | None = None
    #: why trailers that claim a promotion, rollback or retirement were not believed (``kind`` is then
    #: ``direct change``): ``claims a promotion from staging@a3bedee that does not match``
    note: str | None = None
    #: the commit's signature as git verifies it (``signed by KEY``, ``unsigned``, ``bad signature``);
    #: None when no commit of the history is signed
    signature: str | None = None
    #: the link's version before and after (``model.version_of``; None: absent or unreadable)
    version_before: str | None = None
    version_after: str | None = None


@dataclass(frozen=True)
class LinkHistory:
    name: str
    #: the link on each stage (None where absent)
    stages: tuple[tuple[str, Link | None], ...]
    #: every commit that changed the link on a stage branch, newest first
    history: tuple[HistoryEntry, ...]
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()
    #: with ``resolve``: the newest version tag of the project, and the stages whose link is at it
    latest: str | None = None
    latest_on: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Exit 0: the link was read on every stage and its history walked without a problem."""
        return not self.problems


# --- the whole registry at once (site) ------------------------------------------------


@dataclass(frozen=True)
class StageCell:
    """One link on one stage, for the stage matrix: what is there and since when."""

    stage: str
    link: Link | None
    #: ``on`` (the stage holds it), ``retired`` (a believed retirement took it off), ``removed``
    #: (taken off otherwise), ``never`` (no commit on the stage ever held it)
    state: Literal["on", "retired", "removed", "never"]
    #: the commit on the stage's history that last changed the link there, and its commit time
    commit: str | None = None
    since: int | None = None


@dataclass(frozen=True)
class StageState:
    """A stage as read for the record: its tip, the copy read, and what its two copies say."""

    stage: str
    commit: str | None
    commit_time: int | None
    read_from: str | None
    #: ``StageStatus.note``: behind, ahead or diverged (None: the copies agree, or there is one)
    note: str | None = None
    diverged: bool = False
    stale: bool = False


@dataclass(frozen=True)
class RecordedLink:
    """One link across the registry: its cells, stage by stage, and its history."""

    history: LinkHistory
    cells: tuple[StageCell, ...]


@dataclass(frozen=True)
class RegistryRecord:
    """Every link on every stage with its whole history, read in one walk (``mr site``'s data)."""

    registry: str
    stages: tuple[StageState, ...]
    links: tuple[RecordedLink, ...]
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    read_from: tuple[tuple[str, str], ...] = ()
    #: the message of every commit in a history
    messages: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SiteResult:
    """What ``mr site`` wrote."""

    folder: str
    registry: str
    pages: int
    bytes: int
    #: the stages and the commit each was read at
    stages: tuple[tuple[str, str | None], ...]
    built: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    #: with ``verify``: how many stages failed it
    failed_stages: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """Exit 0: the site was written (problems and failed verifies are on its pages)."""
        return True
