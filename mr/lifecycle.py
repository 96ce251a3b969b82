"""``mr rollback`` and ``mr retire``: put links on a stage back as they were, or take them off.

Both plan here and commit through ``mr.stagecommit``, as promotions do. A
rollback restores a link's file byte for byte as the stage had it at an
earlier commit (comments included); a retirement deletes it. Both are
planned against the content the user was shown: when another writer changes
one of their files before the branch moves, they are refused rather than
undo that change unseen; changes to other files are simply built upon.
"""

from __future__ import annotations

from dataclasses import replace

from mr import git, linkfile, stagecommit
from mr.errors import ChangedMeanwhile, LinkFileError, LinkNotFound, NothingToUndo, NotOnStage, Refused, UsageError
from mr.model import (
    ACTION_RETIRE,
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
)
from mr.registry import Registry, link_name
from mr.results import RetiredLink as RetiredLink
from mr.results import Retirement as Retirement
from mr.results import Rollback as Rollback
from mr.results import RolledBackLink as RolledBackLink
from mr.stagecommit import StageResult

RollbackResult = StageResult[Rollback]
RetireResult = StageResult[Retirement]


def _names(names: list[str], what: str) -> list[str]:
    if not names:
        raise UsageError(f"name at least one link to {what}")
    out: list[str] = []
    for raw in names:
        name = link_name(raw)
        if name not in out:
            out.append(name)
    return out


def plan_rollback(
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
    from mr import checks
    from mr.reader import Reader, verify_target

    if to is not None and steps is not None:
        raise UsageError("give --to or --steps, not both")
    if steps is not None and steps < 1:
        raise UsageError(f"--steps {steps}: give 1 or more changes to go back")
    wanted = _names(names, "roll back")
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
    config = reg.stage_config(stage)
    reader = Reader(reg.root, policy=config, hosts=config.hosts)
    links: list[RolledBackLink] = []
    problems: list[Problem] = []
    aliases: list[Link] = []
    for name in wanted:
        path = name + LINK_SUFFIX
        current = git.read_at(reg.repo, base, path)
        changes = list(git.path_changes(reg.repo, [base], path))
        if not changes:
            raise LinkNotFound(f"no link {name} on {stage}: nothing to roll back")
        if to_sha is not None:
            target = git.read_at(reg.repo, to_sha, path)
            to_commit: str | None = to_sha
            undone = tuple(c.commit.sha for c in changes if not git.is_ancestor(reg.repo, c.commit.sha, to_sha))
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
        on_stage = Reader(
            reg.root, alias_rev=base, overlay=overlay, alias_label=stage, policy=config, hosts=config.hosts
        )
        for link in aliases:
            verify_target(on_stage, link, problems)
    errors = tuple(p for p in problems if p.severity == ERROR)
    if errors:
        raise Refused(f"nothing rolled back: {len(errors)} problem(s) with the links", errors)
    return Rollback(stage, base, tuple(links), _rollback_message(links, stage, message))


def _rollback_message(links: list[RolledBackLink], stage: str, extra: str | None) -> str:
    changed = [p for p in links if p.changed]
    lines = [f"Roll back {', '.join(p.name for p in changed)} on {stage}", ""]
    if extra:
        lines += [extra.strip(), ""]
    lines.append(f"{TRAILER_ACTION}: {ACTION_ROLLBACK}")
    for p in changed:
        lines.append(f"{TRAILER_LINK}: {p.name}")
        lines.append(f"{TRAILER_ROLLBACK_TO}: {p.to_commit or '-'}")
        lines.append(f"{TRAILER_UNDOES}: {' '.join(p.undone)}")
    return "\n".join(lines) + "\n"


def plan_retirement(
    reg: Registry, names: list[str], stage: str, message: str | None = None, verify: bool = True
) -> Retirement:
    """Work out what retiring ``names`` from ``stage`` removes; change nothing.

    Verifying refuses a retirement that would leave an alias on the stage
    pointing at a link it removes.
    """
    wanted = _names(names, "retire")
    stagecommit.check_stage(reg, stage)
    base = stagecommit.tip(reg, stage)
    links: list[RetiredLink] = []
    for name in wanted:
        path = name + LINK_SUFFIX
        data = git.read_at(reg.repo, base, path)
        if data is None:
            raise LinkNotFound(f"no link {name} on {stage}")
        try:
            link: Link | None = linkfile.load_link(data, f"{stage}:{path}", name=name)
        except LinkFileError:
            link = None  # a broken file can be retired all the same
        links.append(RetiredLink(name, link, data))
    if verify:
        gone = {p.path for p in links}
        problems: list[Problem] = []
        remaining, _ = reg.links(stage)
        for other in remaining:
            if other.project is not None or f"{other.name}{LINK_SUFFIX}" in gone:
                continue
            target = git.normalize_path(other.path)
            target = target if target.endswith(LINK_SUFFIX) else target + LINK_SUFFIX
            if target in gone:
                problems.append(
                    Problem(
                        other.file or "",
                        other.line_of("path"),
                        f"alias {other.name} points at {target[: -len(LINK_SUFFIX)]}, which this retires; "
                        "retire the alias too, or point it elsewhere",
                    )
                )
        if problems:
            raise Refused(f"nothing retired: {len(problems)} problem(s) with the links", tuple(problems))
    lines = [f"Retire {', '.join(p.name for p in links)} from {stage}", ""]
    if message:
        lines += [message.strip(), ""]
    lines.append(f"{TRAILER_ACTION}: {ACTION_RETIRE}")
    lines += [f"{TRAILER_LINK}: {p.name}" for p in links]
    return Retirement(stage, base, tuple(links), "\n".join(lines) + "\n")


def rebase_rollback(reg: Registry, plan: Rollback) -> Rollback:
    """The same rollback on the stage's new tip, refused if one of its files changed there."""
    base = _unchanged_tip(reg, plan.stage, plan.changes, "rolling back")
    return replace(plan, base=base)


def rebase_retirement(reg: Registry, plan: Retirement) -> Retirement:
    """The same retirement on the stage's new tip, refused if one of its files changed there."""
    base = _unchanged_tip(reg, plan.stage, plan.changes, "retiring")
    return replace(plan, base=base)


def _unchanged_tip(
    reg: Registry, stage: str, changes: tuple[RolledBackLink, ...] | tuple[RetiredLink, ...], doing: str
) -> str:
    base = stagecommit.tip(reg, stage)
    for c in changes:
        if git.read_at(reg.repo, base, c.path) != c.old:
            raise ChangedMeanwhile(
                f"{stage}:{c.path} changed while {doing} (another commit landed on {stage}); "
                "nothing was changed: run the command again to see the new state"
            )
    return base
