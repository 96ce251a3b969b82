"""The Python API of mr: the same verbs as the CLI, returning data.

Functions here never print and never exit; they return frozen dataclasses
from ``mr.results`` (links and metas from ``mr.model``) and raise
``mr.errors.MrError`` subclasses. ``link`` and ``load_meta`` take MLEM's
parameter names (and MLEM 0.2's older ones).

This module only names them: each verb is implemented in its command's
module under ``mr.commands`` (``site`` in ``mr.site``, since it composes
``show`` and ``verify``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mr.commands.get import check_get, get
    from mr.commands.init import init
    from mr.commands.link import link, load_meta, registry_root
    from mr.commands.outdated import outdated
    from mr.commands.promote import plan_promotion, promote
    from mr.commands.retire import plan_retirement, retire
    from mr.commands.rollback import plan_rollback, rollback
    from mr.commands.show import FIELDS, link_at, link_field, link_history, show, stage_diff, stage_matrix
    from mr.commands.sync import sync
    from mr.commands.verify import pre_receive, verify
    from mr.site import build as site

#: Each public name -> the command module that implements it (or ``module:name``, for
#: ``site``, which composes commands and so lives above them). A name is imported
#: when first used, so a command pays only for its own module (``mr show`` does not
#: load what ``mr get`` needs).
_HOMES = {
    "check_get": "get",
    "get": "get",
    "init": "init",
    "link": "link",
    "load_meta": "link",
    "registry_root": "link",
    "outdated": "outdated",
    "plan_promotion": "promote",
    "promote": "promote",
    "plan_retirement": "retire",
    "retire": "retire",
    "plan_rollback": "rollback",
    "rollback": "rollback",
    "FIELDS": "show",
    "link_at": "show",
    "link_field": "show",
    "link_history": "show",
    "show": "show",
    "stage_diff": "show",
    "stage_matrix": "show",
    "sync": "sync",
    "site": "mr.site:build",
    "pre_receive": "verify",
    "verify": "verify",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mr.api' has no attribute {name!r}")
    module, _, attr = home.partition(":")  # a command's module, or a module:name elsewhere
    value = getattr(importlib.import_module(module if attr else f"mr.commands.{module}"), attr or name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "FIELDS",
    "check_get",
    "get",
    "init",
    "link",
    "link_at",
    "link_field",
    "link_history",
    "load_meta",
    "outdated",
    "plan_promotion",
    "plan_retirement",
    "plan_rollback",
    "pre_receive",
    "promote",
    "registry_root",
    "retire",
    "rollback",
    "show",
    "site",
    "stage_diff",
    "stage_matrix",
    "sync",
    "verify",
]
