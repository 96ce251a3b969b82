"""What ``mr sync`` returns: each stage's local branch against the remote's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
