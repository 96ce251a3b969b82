"""One commit on a stage branch: what promote, rollback and retire share.

Each of them plans first (reads git, computes the new content of each file,
changes nothing); the plan is then committed here: built in memory, moved
onto the stage by compare-and-swap, rebuilt by planning again when another
writer moved the branch first, the work tree updated when the stage is
checked out, and pushed. ``--branch`` puts the same commit on a new branch
from the stage's tip instead, for review.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mr import git, safefs
from mr.errors import (
    ChangedMeanwhile,
    GitError,
    MrError,
    NotPushed,
    RefMoved,
    RegistryError,
    RemoteError,
    StaleStage,
    UsageError,
    WorkTreeNotUpdated,
)
from mr.model import SHORT_SHA
from mr.registry import Registry, link_name
from mr.results import P, RetiredLink, RolledBackLink, StagePlan, StageResult
from mr.urls import redact

#: How many times in a row a commit is rebuilt with nothing landed on the branch
#: meanwhile (its lock held, or left by a crashed process) before giving up.
ATTEMPTS = 8

#: How long a commit is rebuilt while other writers keep landing on the branch:
#: each lost race is progress for someone, so it is retried until then.
BUSY_SECONDS = 60.0


@dataclass(frozen=True)
class Seams:
    """The moments a commit can lose a race, each called with the plan at hand.

    Commands pass ``NO_SEAMS``; tests pass their own to make another writer
    win: ``before_swap`` runs just before the branch is moved, ``before_push``
    after the commit is made here and before it is pushed (``--push``).
    """

    before_swap: Callable[[Any], None] | None = None
    before_push: Callable[[Any], None] | None = None


NO_SEAMS = Seams()


@dataclass(frozen=True)
class Landing:
    """How a stage command's commit lands: the options promote, rollback and retire share."""

    #: a remote (or URL) to fetch the stage from, commit on its tip and push to
    push: str | None = None
    #: a review branch for the commit instead of the stage (``""``: its default name)
    branch: str | None = None
    #: replace an existing review branch of that name
    force: bool = False
    #: sign the commit (None: when git would, by ``commit.gpgSign``)
    sign: bool | None = None
    #: fetch the stage before planning (True: the registry's remote; a name: that remote)
    fetch: bool | str = False
    seams: Seams = NO_SEAMS


def files(plan: StagePlan) -> dict[str, bytes | None]:
    """Path -> new content (None: delete) of every file the plan changes."""
    return {c.path: c.new for c in plan.changes}


def review_branch_name(verb: str, stage: str, names: list[str]) -> str:
    """``<verb>/<stage>/<link>+<link>``, made safe for git."""
    joined = "+".join(n.replace("/", "-") for n in names) or "links"
    raw = f"{verb}/{stage}/{joined}"
    safe = re.sub(r"[^A-Za-z0-9._/+-]+", "-", raw)
    safe = re.sub(r"\.{2,}|/\.|\.lock(?=/|$)|@\{", "-", safe)
    safe = re.sub(r"/{2,}", "/", safe).strip("/.-")
    return safe[:120].rstrip("/.-")


def tip(reg: Registry, branch: str) -> str:
    """The tip a commit on stage ``branch`` is built on: the copy of the stage reads take.

    That is ``Registry.find_stage``'s rule: the only copy, else the newer of
    the local and remote-tracking branches when one holds all the other has
    (the local branch is fast-forwarded to it when the commit lands). Diverged
    copies are refused (``StaleStage``). A stage this command fetched
    (``fetch``) is built on the remote's tip the same way.
    """
    ref = reg.fetched.get(branch)
    if ref is not None:
        # the rest of the command (policy, other files) reads the stage there too
        at = _fetched_tip(reg, branch, ref)
        mine = git.branch_tip(reg.repo, branch)
        reg.read_stage_at(branch, at, branch if at == mine else _short(ref))
        return at
    status = reg.stage_status(branch)
    if status.diverged:
        raise StaleStage(f"{status.state()}: {status.update_hint()}; nothing was changed")
    read = reg.read_by_rule(status)  # its note, and which copy is read
    if read is None:
        raise RegistryError(f"no branch {branch}; 'mr init' creates the branches of every stage in .mr.yaml")
    return read


def _short(ref: str) -> str:
    return ref.removeprefix("refs/remotes/").removeprefix("refs/mr/fetched/")


def _fetched_tip(reg: Registry, stage: str, ref: str) -> str:
    local = git.branch_tip(reg.repo, stage)
    theirs = git.ref_tip(reg.repo, ref)
    if theirs is None:
        # the remote has no such branch yet: pushing creates it
        if local is None:
            raise RegistryError(f"no branch {stage} here or on the remote; 'mr init' creates the stage branches")
        return local
    if local is None or local == theirs or git.is_ancestor(reg.repo, local, theirs):
        return theirs
    if git.is_ancestor(reg.repo, theirs, local):
        return local  # commits made here and not pushed yet: they are pushed along
    name = ref.removeprefix("refs/remotes/")
    raise StaleStage(
        f"{stage} and {name} have diverged ({stage} at {local[:SHORT_SHA]}, {name} at {theirs[:SHORT_SHA]}): "
        f"{stage} has commits the remote lacks; push or reset them first "
        f"(git log {name}..{stage} lists them); nothing was changed"
    )


def fetch_ref(reg: Registry, remote: str, stage: str) -> str:
    """Where ``fetch`` keeps the remote's stage: the remote-tracking branch of a named remote."""
    if remote in git.remotes(reg.repo):
        return f"refs/remotes/{remote}/{stage}"
    # a URL or path given to --push: a ref of mr's own, outside the branch namespaces
    return f"refs/mr/fetched/{stage}"


def fetch(
    reg: Registry, stage: str, remote: str, option: str = "--remote", sources: tuple[str, ...] = ()
) -> str | None:
    """Fetch ``stage`` from ``remote``, with the stages ``sources`` the command reads, in one ``git fetch``.

    ``tip`` then builds on the remote's ``stage``, and the sources are read at
    their newest copy. The remote's tip of ``stage``, or None when it lacks it.
    """
    from mr import transport

    stages = [stage, *(s for s in dict.fromkeys(sources) if s != stage)]
    refs = {s: fetch_ref(reg, remote, s) for s in stages}
    found = transport.fetch_branches(reg.repo.path, remote, refs, shallow=git.is_shallow(reg.repo), option=option)
    for s, ref in refs.items():
        if s not in found:
            git.delete_ref(reg.repo, ref)  # as git fetch --prune does: the ref says the remote has no such branch
    reg.fetched_into(stage, refs[stage])
    label = remote if remote in git.remotes(reg.repo) else redact(remote)
    for s in stages[1:]:
        reg.fetched_source(s, refs[s], label)
    return git.ref_tip(reg.repo, refs[stage])


def fetch_stage(
    reg: Registry, stage: str, source: bool | str, option: str = "--fetch", sources: tuple[str, ...] = ()
) -> None:
    """Fetch ``stage`` (and the stages ``sources`` read with it) before planning a commit on it (``--fetch``, ``--push``).

    ``source`` is False (fetch nothing), True (the registry's remote) or a
    remote's name or URL, given with ``option`` (named in messages).
    """
    if not source:
        return
    check_stage(reg, stage)  # before its name goes into a refspec
    for s in sources:
        check_stage(reg, s)
    remote = source if isinstance(source, str) else reg.remote
    if remote is None:
        raise UsageError("--fetch: a registry read by URL has no remote to fetch from")
    fetch(reg, stage, remote, option if isinstance(source, str) else "--remote", sources)


def catch_up(reg: Registry, stage: str, base: str, here: bool) -> None:
    """Create the local branch at ``base``, or fast-forward it there, as ``git checkout``/``git pull`` would.

    ``here``: the stage is checked out in this work tree (``apply`` refused
    one checked out anywhere else), whose files are moved along.
    """
    local = git.branch_tip(reg.repo, stage)
    if local == base:
        return
    if local is not None and not git.is_ancestor(reg.repo, local, base):
        return  # moved elsewhere: the compare-and-swap notices and the plan is made again
    changed = git.changed_paths(reg.repo, local, base) if local is not None else []
    if here:
        dirty = [p for p in changed if not git.is_clean(reg.repo, p)]
        if dirty:
            raise RegistryError(
                f"{', '.join(dirty)}: uncommitted changes on {stage}, which is checked out and behind "
                "the remote; commit or stash them first"
            )
    git.set_ref(reg.repo, f"refs/heads/{stage}", base, local, f"mr: fast-forward {stage}")
    if local is None:
        # as git checkout does for a branch made from a remote-tracking one, so git pull works on it
        ref = reg.fetched.get(stage) or reg.tracking_ref(stage)
        if ref and ref.startswith("refs/remotes/") and git.ref_tip(reg.repo, ref) == base:
            git.set_upstream(reg.repo, stage, ref[len("refs/remotes/") : -len(stage) - 1])
    if here and changed:
        git.update_worktree(reg.repo, dict.fromkeys(changed))


def _undo(reg: Registry, result: StageResult[P]) -> None:
    """Take back a commit that was not pushed: the stage goes back to the commit it was built on."""
    if result.commit is None:
        return
    stage = result.plan.stage
    try:
        git.set_ref(reg.repo, f"refs/heads/{stage}", result.plan.base, result.commit, f"mr: retry {stage}")
    except RefMoved:
        raise GitError(
            f"{stage} moved here while pushing; the commit {result.commit[:SHORT_SHA]} is on it but not pushed"
        ) from None
    if result.worktree_updated:
        git.update_worktree(reg.repo, files(result.plan))


def check_stage(reg: Registry, stage: str) -> None:
    stages = reg.config.stages
    if stage not in stages:
        raise UsageError(f"{stage} is not a stage (stages: {', '.join(stages)})")


def apply_to_branch(
    reg: Registry, plan: P, branch: str | None, force: bool = False, sign: bool | None = None
) -> StageResult[P]:
    """Put the plan's commit on a new branch from the stage's tip, for review; the stage stays."""
    if not plan.changes:
        return StageResult(plan, None)
    name = branch or review_branch_name(plan.verb, plan.stage, [c.name for c in plan.changes])
    if name in reg.config.stages or name == plan.stage:
        raise UsageError(f"--branch {name}: that is a stage; a review branch must be a new branch")
    checked_out = git.checked_out_branches(reg.repo)
    if name in checked_out:
        raise UsageError(f"--branch {name}: that branch is checked out in {checked_out[name]}")
    commit = git.commit_on_new_branch(reg.repo, name, plan.base, files(plan), plan.message, force=force, sign=sign)
    return StageResult(plan, commit, branch=name)


def apply(
    reg: Registry, first: P, replan: Callable[[P], P], sign: bool | None = None, seams: Seams = NO_SEAMS
) -> StageResult[P]:
    """Commit the plan ``first``; when the branch moved, ``replan`` it on the new tip and try again.

    Tries go on while other writers keep landing (for up to ``BUSY_SECONDS``),
    and stop after ``ATTEMPTS`` in a row with nothing landed meanwhile.
    """
    plan = first
    stage = first.stage
    attempts = stalls = 0
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        if not plan.changes:
            return StageResult(plan, None)
        if stalls >= ATTEMPTS or time.monotonic() > deadline:
            break
        where = git.checked_out_branches(reg.repo).get(stage)
        checked_out = where is not None and not reg.bare and os.path.samefile(where, reg.root)
        if where is not None and not checked_out:
            raise RegistryError(
                f"{stage} is checked out in the work tree {where}; run mr from there, or check out another branch in it"
            )
        changed = files(plan)
        if checked_out:
            dirty = [p for p in changed if not git.is_clean(reg.repo, p)]
            if dirty:
                raise RegistryError(
                    f"{', '.join(dirty)}: uncommitted changes on {stage}, which is checked out; "
                    "commit or stash them first"
                )
            for path in changed:
                safefs.check(reg.root, path)  # never write through a symlink in the work tree
        if seams.before_swap is not None:
            seams.before_swap(plan)
        try:
            catch_up(reg, stage, plan.base, checked_out)
            commit = git.commit_files(reg.repo, stage, changed, plan.message, expect=plan.base, create=False, sign=sign)
        except RefMoved:
            # someone else got there first: wait a little (so racing writers
            # spread out), then plan again on the branch as it is now
            attempts += 1
            time.sleep(random.uniform(0.01, 0.05) * min(attempts, ATTEMPTS))
            base = plan.base
            plan = replan(plan)
            stalls = stalls + 1 if plan.base == base else 0
            continue
        if checked_out:
            try:
                git.update_worktree(reg.repo, changed)
            except MrError as e:
                # the commit is on the branch: say so, with why the files were left alone
                raise WorkTreeNotUpdated(
                    f"{stage} is {plan.done} (commit {commit[:SHORT_SHA]}), but {e.message}", commit, e
                ) from None
        return StageResult(plan, commit, worktree_updated=checked_out)
    lock = git.ref_lock_path(reg.repo, stage)
    if os.path.exists(lock):
        raise GitError(
            f"{lock} exists: another git process is updating {stage}, or one crashed; "
            "if none is running, remove the file and try again"
        )
    raise GitError(f"{stage} kept moving while committing ({attempts} attempts); try again")


def land(
    reg: Registry,
    plan: P,
    replan: Callable[[P], P],
    *,
    push: str | None,
    branch: str | None,
    force: bool,
    sign: bool | None,
    seams: Seams = NO_SEAMS,
    sources: tuple[str, ...] = (),
) -> StageResult[P]:
    """Commit ``plan`` onto its stage (or, with ``branch``, a review branch: ``""`` names it), then push.

    ``sign`` signs the commit (None: when git would, by ``commit.gpgSign``;
    always on a stage that requires signed commits); ``sources`` are the
    stages the plan reads, fetched along with its stage.
    """
    from mr import signedstages, transport

    if signedstages.required(reg, plan.stage):
        if sign is False:
            raise UsageError(f"--no-sign: {plan.stage} requires signed commits (require_signed in .mr.yaml)")
        sign = True

    if branch is None:
        if push is not None:
            return land_remote(reg, plan, replan, push, sign=sign, seams=seams, sources=sources)
        if plan.stage in reg.fetched and tip(reg, plan.stage) != plan.base:
            plan = replan(plan)  # the stage was fetched again after the plan was made, and moved
        return apply(reg, plan, replan, sign=sign, seams=seams)
    result = apply_to_branch(reg, plan, branch or None, force=force, sign=sign)
    if push is None or result.commit is None:
        return result
    pushed = result.branch or plan.stage
    try:
        url = transport.push(reg.repo.path, push, pushed)
    except MrError as e:
        raise NotPushed(
            f"{pushed} is {plan.done} here (commit {result.commit[:SHORT_SHA]}) but not pushed: {e.message}", e
        ) from None
    remote = transport.push_url(reg.repo.path, push) or push
    return replace(result, pushed_to=url, review_url=merge_request_url(remote, pushed, plan.stage))


def land_remote(
    reg: Registry,
    plan: P,
    replan: Callable[[P], P],
    remote: str,
    sign: bool | None = None,
    seams: Seams = NO_SEAMS,
    sources: tuple[str, ...] = (),
) -> StageResult[P]:
    """Commit ``plan`` on ``remote``'s tip of its stage and push it there, with a lease on that tip.

    The stage is fetched first and the commit built on the remote's tip (the
    local branch created or fast-forwarded there). A push that fails is judged
    by fetching the stage again, not by git's wording alone: the remote holding
    the commit means it landed; the remote moved (or git reporting a held ref
    lock) means another writer won, so the commit is taken back, the plan made
    again on the new tip and pushed again; otherwise the commit is taken back
    and the push's error raised. A push that did not land never leaves its
    commit on the local branch, which would block every later push.
    """
    from mr import transport
    from mr.errors import PushRaced

    stage = plan.stage
    fetched = reg.fetched.get(stage)  # by this command, before planning
    theirs = git.ref_tip(reg.repo, fetched) if fetched else fetch(reg, stage, remote, "--push", sources)
    for attempt in range(ATTEMPTS):
        if tip(reg, stage) != plan.base:
            plan = replan(plan)
        result = apply(reg, plan, replan, sign=sign, seams=seams)
        if seams.before_push is not None:
            seams.before_push(result.plan)
        mine = git.branch_tip(reg.repo, stage)
        if result.commit is None and (mine is None or (theirs is not None and git.is_ancestor(reg.repo, mine, theirs))):
            # nothing new, and nothing here the remote lacks (the local branch may be behind it, after
            # a lost race took a commit back): pushing it would rewind the remote, as the lease is a force
            return result
        try:
            url = transport.push_lease(reg.repo.path, remote, stage, expect=theirs)
        except MrError as e:
            now = _fetch_after_failure(reg, stage, remote, sources)
            if mine is None or now != mine:
                _undo(reg, result)
                plan = result.plan
                if isinstance(now, _Unknown) or not (isinstance(e, PushRaced) or now != theirs):
                    raise _not_pushed(result, remote, e, now) from None
                theirs = now
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                continue
            url = transport.push_url(reg.repo.path, remote) or remote  # it landed after all
            url = redact(url)
        # the ref the stage was fetched into now holds what was pushed: git push moves a
        # named remote's remote-tracking branch only when the remote's fetch refspec maps
        # the stage (not in a single-branch clone), and never mr's own ref of a URL or path
        ref = reg.fetched[stage]
        if mine is not None:
            try:
                git.set_ref(reg.repo, ref, mine, git.ref_tip(reg.repo, ref), "mr: pushed")
            except RefMoved:
                pass  # a fetch running meanwhile moved it: it holds what the remote has, which is as new
        return replace(result, pushed_to=url)
    raise RemoteError(f"{stage} kept moving on {remote} while pushing ({ATTEMPTS} attempts); try again")


class _Unknown(str):
    """What a fetch after a failed push could not tell: why it failed."""


def _fetch_after_failure(reg: Registry, stage: str, remote: str, sources: tuple[str, ...]) -> str | None:
    """The remote's tip of ``stage`` after a push failed (None: absent), or ``_Unknown`` when it cannot be fetched.

    The stages ``sources`` the plan reads are fetched again along with it, for planning again.
    """
    try:
        return fetch(reg, stage, remote, "--push", sources)
    except MrError as e:
        return _Unknown(e.message)


def _not_pushed(result: StageResult[P], remote: str, error: MrError, now: str | None) -> NotPushed:
    plan = result.plan
    stage = plan.stage
    if result.commit is None:
        # nothing new was committed: the local branch's own unpushed commits stay, as they were
        return NotPushed(f"{stage} is {plan.done} here (nothing new) but not pushed: {error.message}", error)
    back = f"{stage} here is back at {plan.base[:SHORT_SHA]}"
    if isinstance(now, _Unknown):
        return NotPushed(
            f"{stage} was not {plan.done}: the push failed ({error.message}) and fetching {remote} again "
            f"to see whether it landed failed too ({now}); {back}: fetch and look before trying again",
            error,
        )
    return NotPushed(f"{stage} was not {plan.done}: {error.message}; {back}, nothing was changed", error)


def merge_request_url(remote_url: str, branch: str, target: str) -> str | None:
    """Where GitHub or GitLab opens a merge request from ``branch`` into ``target``."""
    from urllib.parse import quote

    from mr.urls import strip_credentials

    url = strip_credentials(remote_url)
    m = re.match(r"^(?:https?://|ssh://(?:[^@/]+@)?|git@)(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>.+?)(?:\.git)?/?$", url)
    if not m:
        return None
    host, path = m.group("host"), m.group("path")
    if host.startswith("github."):  # github.com, or GitHub Enterprise at github.<company>
        return f"https://{host}/{path}/compare/{quote(target)}...{quote(branch)}?expand=1"
    if "gitlab" in host:
        return (
            f"https://{host}/{path}/-/merge_requests/new?"
            f"merge_request%5Bsource_branch%5D={quote(branch, safe='')}"
            f"&merge_request%5Btarget_branch%5D={quote(target, safe='')}"
        )
    return None


def names_once(names: list[str], what: str) -> list[str]:
    """The link names asked for, each once, in order; at least one."""
    if not names:
        raise UsageError(f"name at least one link to {what}")
    out: list[str] = []
    for raw in names:
        name = link_name(raw)
        if name not in out:
            out.append(name)
    return out


def unchanged_tip(
    reg: Registry, stage: str, changes: tuple[RolledBackLink, ...] | tuple[RetiredLink, ...], doing: str
) -> str:
    """The stage's tip, refused (``ChangedMeanwhile``) when one of the planned files changed there."""
    base = tip(reg, stage)
    for c in changes:
        if git.read_at(reg.repo, base, c.path) != c.old:
            raise ChangedMeanwhile(
                f"{stage}:{c.path} changed while {doing} (another commit landed on {stage}); "
                "nothing was changed: run the command again to see the new state"
            )
    return base


def plan_and_land(
    reg: Registry,
    given: P | None,
    stage: str | None,
    plan: Callable[[str], P],
    replan: Callable[[P], P],
    landing: Landing,
    no_stage: str,
    sources: tuple[str, ...] = (),
) -> StageResult[P]:
    """Plan onto ``stage`` (or take ``given``, a plan an earlier call made), then ``land`` it.

    The stage is fetched first when ``landing`` says so; ``no_stage`` is the
    message when neither a plan nor a stage is given; ``sources`` are the
    stages the plan reads (a promotion's source stage), fetched with the stage.
    """
    if given is not None:
        planned = given
        if landing.push is None:
            fetch_stage(reg, planned.stage, landing.fetch, sources=sources)  # made by another call: fetch for this one
    else:
        if stage is None:
            raise UsageError(no_stage)
        fetch_stage(reg, stage, landing.push or landing.fetch, "--push" if landing.push else "--fetch", sources)
        planned = plan(stage)
    return land(
        reg,
        planned,
        replan,
        push=landing.push,
        branch=landing.branch,
        force=landing.force,
        sign=landing.sign,
        seams=landing.seams,
        sources=sources,
    )


def check_message(message: str | None) -> None:
    """Refuse a commit message that is not valid UTF-8 (bytes from argv that no encoding names)."""
    from mr.terminal import not_utf8

    if message is not None and not_utf8(message):
        raise UsageError("--message must be valid UTF-8: it holds bytes that are not")
