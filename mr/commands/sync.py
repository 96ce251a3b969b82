"""``mr sync``: fetch every stage once, and bring each local stage branch up to the remote's.

A local stage strictly behind the remote's is fast-forwarded (where it is
checked out here, only when the files the fast-forward changes have no
uncommitted edits, as ``git merge --ff-only`` would); one the remote has and
this clone lacks is created, tracking it. Nothing else is moved: commits not
pushed stay, and diverged copies are left for a person to reconcile.
"""

from __future__ import annotations

import os

from mr import git, stagecommit
from mr.errors import MrError, RegistryError, UsageError
from mr.registry import Registry
from mr.results import StageSync, SyncReport, SyncState
from mr.terminal import field as safe_text
from mr.urls import redact


def sync(registry: str | None = None, remote: str | None = None) -> SyncReport:
    """Fetch every stage from ``remote`` (default: the registry's remote) in one ``git fetch``, then fast-forward.

    Returns each stage's state; ``ok`` is False only when a stage has diverged.
    """
    from mr import transport

    reg = Registry.open(registry, remote=remote)
    if reg.url is not None:
        raise UsageError("a registry read by URL is fetched fresh each time; there is nothing to sync")
    reg.check_remote()
    name = reg.remote
    assert name is not None  # only a registry read by URL has none
    if name not in git.remotes(reg.repo):
        listed = ", ".join(git.remotes(reg.repo)) or "none"
        raise RegistryError(
            f"no remote {safe_text(name)} to sync with (remotes: {listed}); "
            f"add one: git remote add {safe_text(name)} URL, or pass --remote"
        )
    stages = reg.config.stages
    refs = {s: f"refs/remotes/{name}/{s}" for s in stages}
    found = transport.fetch_branches(reg.repo.path, name, refs, shallow=git.is_shallow(reg.repo))
    for stage, ref in refs.items():
        if stage not in found:
            git.delete_ref(reg.repo, ref)  # as git fetch --prune does
    url = transport.fetch_url(reg.repo.path, name) or name
    return SyncReport(reg.display, name, redact(url), tuple(_sync_stage(reg, s) for s in stages))


def _sync_stage(reg: Registry, stage: str) -> StageSync:
    status = reg.stage_status(stage)
    local, theirs = status.local, status.tracking

    def left(state: SyncState, why: str | None = None) -> StageSync:
        return StageSync(stage, state, local, local, theirs, status.behind, status.ahead, why)

    if theirs is None:
        return left("not on the remote" if local is not None else "missing")
    if local == theirs:
        return left("up to date")
    if status.diverged:
        return left("diverged")
    if status.ahead:
        return left("not pushed")
    where = git.checked_out_branches(reg.repo).get(stage)
    here = where is not None and not reg.bare and os.path.samefile(where, reg.root)
    if where is not None and not here:
        return left("behind", f"checked out in the work tree {where}: run mr sync there")
    try:
        stagecommit.catch_up(reg, stage, theirs, here)
    except MrError as e:
        return left("behind", e.message)
    after = git.branch_tip(reg.repo, stage)
    return StageSync(stage, "created" if local is None else "fast-forwarded", local, after, theirs, status.behind, 0)
