"""What mr's commands return, as frozen dataclasses: plans, reports, views and their records.

The rule: a type a command returns (and every record inside it) lives here;
what a link file holds, and the names and constants every layer shares, live
in ``model``. Nothing else defines a result, and nothing re-exports one. The
renderers and the CLI type them without importing the modules that compute
them (git, the registry). Each result a command exits on carries ``ok``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from mr.model import (
    ERROR,
    LINK_SUFFIX,
    PINNED_FROM,
    RECEIPT_VERSION,
    WARNING,
    ChangeKind,
    CheckStatus,
    HistoryKind,
    Link,
    OutdatedKind,
    Problem,
    RevKind,
)

# --- init, show, verify, get ----------------------------------------------------------


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


@dataclass(frozen=True)
class InitResult:
    path: str
    stages: tuple[str, ...]
    #: files created by this run
    created: tuple[str, ...]
    #: the commit made, or None when there was nothing to commit
    commit: str | None
    #: stage branches created by this run
    branches: tuple[str, ...]
    #: the branch the registry's files are on (the checked-out one)
    branch: str | None = None
    #: where ``--push`` pushed every branch (credentials redacted)
    pushed_to: str | None = None
    #: without ``--push``: the one command that shares the registry
    share: str | None = None


@dataclass(frozen=True)
class LinkCheck:
    """What ``mr verify`` found for one file."""

    file: str
    name: str | None
    #: OK, ERROR, WARNING (only warnings) or SKIPPED (a MLEM object, not a link)
    status: CheckStatus
    problems: tuple[Problem, ...] = ()
    #: the commit the link's rev resolved to, when it did
    sha: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    registry: str
    stage: str | None
    checks: tuple[LinkCheck, ...]
    #: projects that could not be checked (unreachable, or not cached offline)
    unchecked: tuple[str, ...] = ()
    #: warnings about the stages read (a local stage behind its remote)
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()
    #: the stage whose policy applied (None: none)
    policy_stage: str | None = None
    #: where that came from: ``--stage``, ``--policy-stage``, the checked-out branch, a CI variable
    policy_from: str | None = None

    @property
    def errors(self) -> int:
        return sum(1 for c in self.checks for p in c.problems if p.severity == ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for c in self.checks for p in c.problems if p.severity == WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0


@dataclass(frozen=True)
class GotFile:
    """A file ``mr get`` wrote: its path inside the folder, size and md5."""

    path: str
    size: int
    md5: str
    #: the artifact's name in the meta (None for the meta file itself)
    artifact: str | None = None
    #: where its bytes came from: ``git`` (the source's commit) or ``dvc`` (the project's DVC remote)
    source: str = "git"


@dataclass(frozen=True)
class ExternalArtifact:
    """An artifact git does not hold (``s3://`` ...): named, not fetched."""

    artifact: str
    uri: str
    #: what fetches it
    hint: str


@dataclass(frozen=True)
class GetResult:
    """What ``mr get`` wrote, as its receipt records it."""

    folder: str
    registry: str
    stage: str | None
    #: the stage branch's commit the link was read at (None: the work tree)
    stage_commit: str | None
    name: str
    #: the object's project (redacted; None: the registry itself)
    project: str | None
    rev: str | None
    #: the commit the object and its files were read at
    commit: str
    #: the meta file inside its project
    path: str
    #: the meta file inside ``folder``
    meta: str
    files: tuple[GotFile, ...]
    external: tuple[ExternalArtifact, ...] = ()
    #: the copy of the stage read: ``production`` or ``origin/production`` (None: the work tree)
    read_from: str | None = None
    #: who signed the stage's commit, on a stage that requires signed commits (None: not required)
    signed_by: str | None = None
    #: the link's version (``model.version_of``): v1.1.0 for a link pinned from that tag
    version: str | None = None
    #: warnings about the stage read (a local stage behind its remote)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Always: a ``GetResult`` exists only when every file was written and checked (else an error)."""
        return True

    def receipt(self) -> dict[str, Any]:
        """The receipt document (``.mr-get.json``, and ``mr get --json``)."""
        return {
            "version": RECEIPT_VERSION,
            "registry": self.registry,
            "stage": self.stage,
            "stage_commit": self.stage_commit,
            "read_from": self.read_from,
            "signed_by": self.signed_by,
            "name": self.name,
            "project": self.project,
            "rev": self.rev,
            "link_version": self.version,
            "commit": self.commit,
            "path": self.path,
            "meta": self.meta,
            "files": [
                {"path": f.path, "size": f.size, "md5": f.md5, "artifact": f.artifact, "source": f.source}
                for f in self.files
            ],
            "external": [{"artifact": e.artifact, "uri": e.uri, "hint": e.hint} for e in self.external],
        }


@dataclass(frozen=True)
class CheckResult:
    """``mr get --check``: a folder against its receipt."""

    folder: str
    #: files whose size or md5 differ from the receipt
    changed: tuple[str, ...]
    #: files the receipt lists that are gone
    missing: tuple[str, ...]
    #: files (or links, folders' other entries) the receipt does not list
    extra: tuple[str, ...]
    #: how many files the receipt lists
    checked: int
    commit: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)


# --- a plan committed on a stage (stagecommit) ----------------------------------------


class Changed(Protocol):
    """One file a plan changes."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def changed(self) -> bool: ...

    @property
    def new(self) -> bytes | None: ...


class StagePlan(Protocol):
    """A planned commit on a stage."""

    @property
    def stage(self) -> str: ...

    @property
    def base(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def changes(self) -> tuple[Changed, ...]: ...

    @property
    def verb(self) -> str:
        """``promote``, ``rollback`` or ``retire``: the review branch's first part."""
        ...

    @property
    def done(self) -> str:
        """What the stage is once the plan lands (``promoted``), for messages."""
        ...


P = TypeVar("P", bound=StagePlan)


@dataclass(frozen=True)
class StageResult(Generic[P]):
    """What became of a plan."""

    plan: P
    #: the new commit (on the stage, or on ``branch``), None when there was nothing to change
    commit: str | None
    worktree_updated: bool = False
    pushed_to: str | None = None
    #: the review branch the commit was put on instead of the stage, if any
    branch: str | None = None
    #: where to open a merge request for that branch, when the remote is a known host
    review_url: str | None = None

    @property
    def ok(self) -> bool:
        """Always: a commit that did not land (or was not pushed) raises instead."""
        return True


def file_diff(stage: str, path: str, old: bytes | None, new: bytes | None) -> str:
    """A unified diff of one file on ``stage`` (None: absent)."""
    before = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"{stage}:{path}" if old is not None else "/dev/null",
            tofile=f"{stage}:{path}" if new is not None else "/dev/null",
        )
    )


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


# --- outdated links (outdated) --------------------------------------------------------


@dataclass(frozen=True)
class Outdated:
    name: str
    link: Link
    #: what kind of rev moved
    kind: OutdatedKind
    #: the commit (or tag) the link is at
    current: str
    #: what the source has now: the branch tip, or the newest version tag
    latest: str
    detail: str


@dataclass(frozen=True)
class OutdatedReport:
    stage: str | None
    entries: tuple[Outdated, ...]
    checked: int
    problems: tuple[Problem, ...] = ()
    unchecked: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """Exit 0: every link was checked (being outdated is no failure)."""
        return not (self.problems or self.unchecked)


# --- promotions (promotion) -----------------------------------------------------------


@dataclass(frozen=True)
class PromotedLink:
    name: str
    #: the link as it will be on the target stage
    link: Link
    #: the commit its rev resolved to (None with --no-verify and no pin)
    sha: str | None
    #: the file's content on the target stage before and after (None: absent)
    old: bytes | None
    new: bytes
    #: what its rev is in the project (branch, tag, commit), when it was resolved
    kind: str | None = None

    @property
    def path(self) -> str:
        return self.name + LINK_SUFFIX

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, to: str) -> str:
        return file_diff(to, self.path, self.old, self.new)


@dataclass(frozen=True)
class Promotion:
    """A planned promotion: what would change on the target stage."""

    to: str
    source: str
    source_sha: str
    #: the target branch tip the plan was computed against
    base: str
    links: tuple[PromotedLink, ...]
    message: str
    #: what was asked, so the plan can be made again on a moved branch
    request: tuple[tuple[str, ...], bool | None, str | None, bool] = ((), None, None, True)
    #: warnings about the stages read (a source stage behind its remote)
    notes: tuple[str, ...] = ()
    #: each stage read, with the copy of it read (``staging`` or ``origin/staging``)
    read_from: tuple[tuple[str, str], ...] = ()

    @property
    def changes(self) -> tuple[PromotedLink, ...]:
        return tuple(p for p in self.links if p.changed)

    @property
    def stage(self) -> str:
        return self.to

    verb = "promote"
    done = "promoted"


# --- rollbacks and retirements (lifecycle) --------------------------------------------


@dataclass(frozen=True)
class RolledBackLink:
    name: str
    #: the link as the rollback leaves it; None: removed (the stage did not have it then)
    link: Link | None
    #: the commit its rev resolved to (None when not verified, or removed)
    sha: str | None
    #: the file on the stage now, and as the rollback leaves it (None: absent)
    old: bytes | None
    new: bytes | None
    #: the stage commit whose content is restored (None: the stage's history begins with the change undone)
    to_commit: str | None
    #: the stage commits whose changes to the link are undone, newest first
    undone: tuple[str, ...]

    @property
    def path(self) -> str:
        return self.name + LINK_SUFFIX

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def removed(self) -> bool:
        return self.new is None

    def diff(self, stage: str) -> str:
        return file_diff(stage, self.path, self.old, self.new)


@dataclass(frozen=True)
class Rollback:
    """A planned rollback: what would change on the stage."""

    stage: str
    #: the stage's tip the plan was computed against
    base: str
    links: tuple[RolledBackLink, ...]
    message: str
    #: warnings about the stage read, and which copy of it was read
    notes: tuple[str, ...] = ()
    read_from: tuple[tuple[str, str], ...] = ()

    verb = "rollback"
    done = "rolled back"

    @property
    def changes(self) -> tuple[RolledBackLink, ...]:
        return tuple(p for p in self.links if p.changed)


@dataclass(frozen=True)
class RetiredLink:
    name: str
    #: the link being removed (None when its file is no readable link)
    link: Link | None
    #: the file on the stage now
    old: bytes

    new = None
    changed = True
    removed = True

    @property
    def path(self) -> str:
        return self.name + LINK_SUFFIX

    def diff(self, stage: str) -> str:
        return file_diff(stage, self.path, self.old, None)


@dataclass(frozen=True)
class Retirement:
    """A planned retirement: the links that would leave the stage."""

    stage: str
    base: str
    links: tuple[RetiredLink, ...]
    message: str
    #: warnings about the stage read, and which copy of it was read
    notes: tuple[str, ...] = ()
    read_from: tuple[tuple[str, str], ...] = ()

    verb = "retire"
    done = "updated"

    @property
    def changes(self) -> tuple[RetiredLink, ...]:
        return self.links


PromotionResult = StageResult[Promotion]
RollbackResult = StageResult[Rollback]
RetireResult = StageResult[Retirement]


# --- sync -----------------------------------------------------------------------------

#: What ``mr sync`` found (and did) for one stage.
SyncState = Literal[
    "up to date", "fast-forwarded", "created", "behind", "not pushed", "diverged", "not on the remote", "missing"
]


@dataclass(frozen=True)
class StageSync:
    """One stage's local branch against the remote's, after ``mr sync``."""

    stage: str
    state: SyncState
    #: the local branch before and after (None: absent)
    before: str | None
    after: str | None
    #: the remote's tip, as just fetched (None: the remote has no such branch)
    remote_tip: str | None
    #: commits the local branch lacks, and commits it has that the remote lacks (before syncing)
    behind: int = 0
    ahead: int = 0
    #: why a stage behind was left as it was (``behind``): uncommitted changes, checked out elsewhere
    why: str | None = None


@dataclass(frozen=True)
class SyncReport:
    registry: str
    remote: str
    #: where it was fetched from, credentials redacted
    url: str
    stages: tuple[StageSync, ...]

    @property
    def ok(self) -> bool:
        """Exit 0 unless a stage has diverged from the remote's (left alone: only a person can reconcile it)."""
        return not any(s.state == "diverged" for s in self.stages)
