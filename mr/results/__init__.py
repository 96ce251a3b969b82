"""What mr's commands return, as frozen dataclasses: plans, reports, views and their records.

The rule: a type a command returns (and every record inside it) lives in
this package, in the module of its command's family (``show``, ``verify``,
``get``, ``init``, ``stages``, ``outdated``, ``sync``); what a link file
holds, and the names and constants every layer shares, live in ``model``.
Nothing else defines a result, and nothing outside this package re-exports
one. The renderers and the CLI type them without importing the modules that
compute them (git, the registry). Each result a command exits on carries
``ok``.

Every name is importable from ``mr.results`` itself, and its module is
loaded when the name is first used: creating a frozen dataclass costs about
half a millisecond, so ``mr verify`` does not pay for the thirty types the
other commands return.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mr.results.get import CheckResult, ExternalArtifact, GetResult, GotFile
    from mr.results.init import InitResult
    from mr.results.outdated import Outdated, OutdatedReport
    from mr.results.show import (
        FIELDS,
        HistoryEntry,
        LinkAt,
        LinkChange,
        LinkEntry,
        LinkHistory,
        Matrix,
        RecordedLink,
        RegistryRecord,
        ShowResult,
        SiteResult,
        StageAt,
        StageCell,
        StageDiff,
        StageState,
        fields,
    )
    from mr.results.stages import (
        Changed,
        P,
        PromotedLink,
        Promotion,
        PromotionResult,
        RetiredLink,
        Retirement,
        RetireResult,
        Rollback,
        RollbackResult,
        RolledBackLink,
        StagePlan,
        StageResult,
        file_diff,
    )
    from mr.results.sync import StageSync, SyncReport, SyncState
    from mr.results.verify import LinkCheck, VerifyReport

#: Each name -> the module of this package that defines it.
_HOMES = {
    "CheckResult": "get",
    "ExternalArtifact": "get",
    "GetResult": "get",
    "GotFile": "get",
    "InitResult": "init",
    "Outdated": "outdated",
    "OutdatedReport": "outdated",
    "FIELDS": "show",
    "HistoryEntry": "show",
    "LinkAt": "show",
    "LinkChange": "show",
    "LinkEntry": "show",
    "LinkHistory": "show",
    "Matrix": "show",
    "RecordedLink": "show",
    "RegistryRecord": "show",
    "ShowResult": "show",
    "SiteResult": "show",
    "StageAt": "show",
    "StageCell": "show",
    "StageDiff": "show",
    "StageState": "show",
    "fields": "show",
    "Changed": "stages",
    "P": "stages",
    "PromotedLink": "stages",
    "Promotion": "stages",
    "PromotionResult": "stages",
    "RetireResult": "stages",
    "RetiredLink": "stages",
    "Retirement": "stages",
    "Rollback": "stages",
    "RollbackResult": "stages",
    "RolledBackLink": "stages",
    "StagePlan": "stages",
    "StageResult": "stages",
    "file_diff": "stages",
    "StageSync": "sync",
    "SyncReport": "sync",
    "SyncState": "sync",
    "LinkCheck": "verify",
    "VerifyReport": "verify",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mr.results' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mr.results.{home}"), name)
    globals()[name] = value  # found once; later uses do not come here
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Changed",
    "CheckResult",
    "ExternalArtifact",
    "FIELDS",
    "GetResult",
    "GotFile",
    "HistoryEntry",
    "InitResult",
    "LinkAt",
    "LinkChange",
    "LinkCheck",
    "LinkEntry",
    "LinkHistory",
    "Matrix",
    "Outdated",
    "OutdatedReport",
    "P",
    "PromotedLink",
    "Promotion",
    "PromotionResult",
    "RecordedLink",
    "RegistryRecord",
    "RetireResult",
    "RetiredLink",
    "Retirement",
    "Rollback",
    "RollbackResult",
    "RolledBackLink",
    "ShowResult",
    "SiteResult",
    "StageAt",
    "StageCell",
    "StageDiff",
    "StagePlan",
    "StageResult",
    "StageState",
    "StageSync",
    "SyncReport",
    "SyncState",
    "VerifyReport",
    "fields",
    "file_diff",
]
