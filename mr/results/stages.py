"""What changes a stage returns: a plan committed on a stage (the protocol ``stagecommit`` lands), and
the plans of promotions, rollbacks and retirements."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from mr.model import (
    LINK_SUFFIX,
    Link,
)

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
