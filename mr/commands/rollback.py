"""``mr rollback``: put links on a stage back as they were, byte for byte, as one commit.

Planned here and committed through ``mr.stagecommit``, as promotions are. A
rollback is planned against the content the user was shown: when another
writer changes one of its files before the branch moves, it is refused
rather than undo that change unseen; changes to other files are built upon.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from mr import git, linkfile, stagecommit
from mr.errors import (
    LinkNotFound,
    NothingToUndo,
    NotOnStage,
    Refused,
    UsageError,
)
from mr.model import (
    ACTION_ROLLBACK,
    ERROR,
    LINK_SUFFIX,
    SHORT_SHA,
    TRAILER_ACTION,
    TRAILER_LINK,
    TRAILER_ROLLBACK_TO,
    TRAILER_UNDOES,
    Link,
    Problem,
    version_of,
)
from mr.registry import Registry
from mr.results import (
    Rollback,
    RollbackResult,
    RolledBackLink,
)


def plan_rollback(
    names: list[str],
    stage: str,
    to: str | None = None,
    steps: int | None = None,
    message: str | None = None,
    verify: bool = True,
    registry: str | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> Rollback:
    """What rolling ``names`` back on ``stage`` would change; nothing is written.

    Each link goes back to its content before its last change on the stage
    (``steps=N``: N changes back; ``to``: as it was at that commit of the
    stage), byte for byte; a link the stage did not have then is removed.
    The old target is verified to still resolve unless ``verify=False``; the
    stage's policy (pins, allowed sources) always holds. A failing link
    raises ``Refused`` with the problems.
    """
    reg = Registry.open(registry, remote=remote)
    stagecommit.fetch_stage(reg, stage, fetch)
    return plan_on(reg, names, stage, to, steps, message, verify)


def rollback(
    names: list[str] | Rollback,
    stage: str | None = None,
    to: str | None = None,
    steps: int | None = None,
    message: str | None = None,
    verify: bool = True,
    push: str | None = None,
    registry: str | None = None,
    branch: str | None = None,
    force: bool = False,
    sign: bool | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> RollbackResult:
    """Roll links back on ``stage`` as one commit (or apply a plan from ``plan_rollback``).

    Committed like a promotion: in memory, moved by compare-and-swap (when
    another commit lands first the rollback is rebuilt on it, and refused
    with ``ChangedMeanwhile`` if that commit changed one of its links),
    the work tree updated when the stage is checked out, then pushed to
    ``push``. ``branch`` (``""``: ``rollback/<stage>/<links>``) puts the
    commit on a new branch for review instead.
    """
    reg = Registry.open(registry, remote=remote)
    wanted = names if isinstance(names, list) else []
    return stagecommit.plan_and_land(
        reg,
        None if isinstance(names, list) else names,
        stage,
        lambda stage: plan_on(reg, wanted, stage, to, steps, message, verify),
        lambda p: replan(reg, p),
        stagecommit.Landing(push=push, branch=branch, force=force, sign=sign, fetch=fetch),
        "say which stage to roll back on",
    )


def plan_on(
    reg: Registry,
    names: list[str],
    stage: str,
    to: str | None = None,
    steps: int | None = None,
    message: str | None = None,
    verify: bool = True,
) -> Rollback:
    """Work out what rolling ``names`` back on ``stage`` changes; change nothing.

    Each link goes back to its content before its last change on the stage,
    ``steps`` changes back, or as it was at stage commit ``to``.
    """
    stagecommit.check_message(message)
    from mr import checks
    from mr.reader import verify_target

    if to is not None and steps is not None:
        raise UsageError("give --to or --steps, not both")
    if steps is not None and steps < 1:
        raise UsageError(f"--steps {steps}: give 1 or more changes to go back")
    wanted = stagecommit.names_once(names, "roll back")
    stagecommit.check_stage(reg, stage)
    base = stagecommit.tip(reg, stage)
    to_sha = None
    if to is not None:
        to_sha = git.commit_of(reg.repo, to)
        if to_sha is None:
            raise UsageError(f"--to {to}: no such commit in the registry")
        if not git.is_ancestor(reg.repo, to_sha, base):
            raise NotOnStage(
                f"--to {to}: commit {to_sha[:SHORT_SHA]} is not on {stage} (git log {stage} lists its commits)"
            )
    view = reg.view(stage)  # at base: the tip this rollback is built on
    config = view.config
    reader = view.reader()
    links: list[RolledBackLink] = []
    problems: list[Problem] = []
    aliases: list[Link] = []
    for name in wanted:
        path = name + LINK_SUFFIX
        current = git.read_at(reg.repo, base, path)
        walk = git.path_changes(reg.repo, [base], path)
        # --steps N needs the N newest changes only: the rest of the history is not walked
        changes = list(walk if to_sha is not None else itertools.islice(walk, steps or 1))
        if not changes:
            raise LinkNotFound(f"no link {name} on {stage}{reg.elsewhere(stage, path)}: nothing to roll back")
        if to_sha is not None:
            target = git.read_at(reg.repo, to_sha, path)
            to_commit: str | None = to_sha
            kept = git.history_of(reg.repo, to_sha)  # one walk, not one per change
            undone = tuple(c.commit.sha for c in changes if c.commit.sha not in kept)
        else:
            n = steps or 1
            if len(changes) < n:
                times = "once" if len(changes) == 1 else f"{len(changes)} times"
                raise NothingToUndo(f"{name} changed only {times} on {stage}; --steps {n} goes further back than that")
            target = changes[n - 1].before
            to_commit = changes[n - 1].parent
            undone = tuple(c.commit.sha for c in changes[:n])
        if target is None:
            links.append(RolledBackLink(name, None, None, current, None, to_commit, undone))
            continue
        where = f"{stage}@{to_commit[:SHORT_SHA]}" if to_commit else stage
        link = linkfile.load_link(target, f"{where}:{path}", name=name)
        sha = None
        if link.is_stage_alias:
            aliases.append(link)  # checked below, against the stage as the rollback leaves it
        elif verify:
            sha, _ = verify_target(reader, link, problems)
        # the stage's policy holds even with --no-verify: a rollback never unpins a pinned stage
        problems.extend(checks.policy_problems(link, config, stage))
        links.append(RolledBackLink(name, link, sha, current, target, to_commit, undone))
    if aliases and verify:
        overlay = {p.path: p.new for p in links if p.new is not None}
        on_stage = view.reader(overlay=overlay, alias_at=base)
        for link in aliases:
            verify_target(on_stage, link, problems)
    errors = tuple(p for p in problems if p.severity == ERROR)
    if errors:
        raise Refused(f"nothing rolled back: {len(errors)} problem(s) with the links", errors)
    return Rollback(stage, base, tuple(links), _rollback_message(links, stage, message), tuple(reg.notes), reg.copies())


def _rollback_message(links: list[RolledBackLink], stage: str, extra: str | None) -> str:
    changed = [p for p in links if p.changed]

    def to(p: RolledBackLink) -> str:
        return version_of(p.link) if p.link is not None else "before it was there"

    if len(changed) == 1:
        subject = f"Roll back {changed[0].name} on {stage} to {to(changed[0])}"
    else:
        subject = f"Roll back {', '.join(f'{p.name} to {to(p)}' for p in changed)} on {stage}"
    lines = [subject, ""]
    if extra:
        lines += [extra.strip(), ""]
    lines.append(f"{TRAILER_ACTION}: {ACTION_ROLLBACK}")
    for p in changed:
        lines.append(f"{TRAILER_LINK}: {p.name}")
        lines.append(f"{TRAILER_ROLLBACK_TO}: {p.to_commit or '-'}")
        lines.append(f"{TRAILER_UNDOES}: {' '.join(p.undone)}")
    return "\n".join(lines) + "\n"


def replan(reg: Registry, plan: Rollback) -> Rollback:
    """The same rollback on the stage's new tip, refused if one of its files changed there."""
    base = stagecommit.unchanged_tip(reg, plan.stage, plan.changes, "rolling back")
    return replace(plan, base=base)
