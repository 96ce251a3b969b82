"""What ``mr init`` returns."""

from __future__ import annotations

from dataclasses import dataclass


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
