"""What ``mr outdated`` returns."""

from __future__ import annotations

from dataclasses import dataclass

from mr.model import (
    Link,
    OutdatedKind,
    Problem,
)

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
