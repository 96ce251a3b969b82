"""The Python API of mr: the same verbs as the CLI, returning data.

Functions here never print and never exit; they return frozen dataclasses
from ``mr.results`` (links and metas from ``mr.model``) and raise
``mr.errors.MrError`` subclasses. ``link`` and ``load_meta`` take MLEM's
parameter names (and MLEM 0.2's older ones).

This module only names them: each verb is implemented in its command's
module under ``mr.commands``.
"""

from __future__ import annotations

from mr.commands.get import check_get, get
from mr.commands.init import init
from mr.commands.link import link, load_meta, registry_root
from mr.commands.outdated import outdated
from mr.commands.promote import plan_promotion, promote
from mr.commands.retire import plan_retirement, retire
from mr.commands.rollback import plan_rollback, rollback
from mr.commands.show import FIELDS, link_field, link_history, show, stage_diff, stage_matrix
from mr.commands.sync import sync
from mr.commands.verify import pre_receive, verify

__all__ = [
    "FIELDS",
    "check_get",
    "get",
    "init",
    "link",
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
    "stage_diff",
    "stage_matrix",
    "sync",
    "verify",
]
