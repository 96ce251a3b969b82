"""What ``mr verify`` returns: a check of each link."""

from __future__ import annotations

from dataclasses import dataclass

from mr.model import (
    ERROR,
    WARNING,
    CheckStatus,
    Problem,
)


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
