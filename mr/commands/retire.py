"""``mr retire``: take links off a stage, as one commit built like a promotion."""

from __future__ import annotations

from dataclasses import replace

from mr import git, linkfile, stagecommit
from mr.errors import (
    LinkFileError,
    LinkNotFound,
    Refused,
)
from mr.model import (
    ACTION_RETIRE,
    LINK_SUFFIX,
    TRAILER_ACTION,
    TRAILER_LINK,
    Link,
    Problem,
    version_of,
)
from mr.registry import Registry
from mr.results import (
    RetiredLink,
    Retirement,
    RetireResult,
)


def plan_retirement(
    names: list[str],
    stage: str,
    message: str | None = None,
    verify: bool = True,
    registry: str | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> Retirement:
    """What retiring ``names`` from ``stage`` would remove; nothing is written.

    Raises ``LinkNotFound`` for a link the stage lacks, and (unless
    ``verify=False``) ``Refused`` when an alias left on the stage points at a
    link being retired. Other stages are never touched.
    """
    reg = Registry.open(registry, remote=remote)
    stagecommit.fetch_stage(reg, stage, fetch)
    return plan_on(reg, names, stage, message, verify)


def retire(
    names: list[str] | Retirement,
    stage: str | None = None,
    message: str | None = None,
    verify: bool = True,
    push: str | None = None,
    registry: str | None = None,
    branch: str | None = None,
    force: bool = False,
    sign: bool | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> RetireResult:
    """Remove links from ``stage`` as one commit (or apply a plan from ``plan_retirement``).

    Committed as ``rollback`` commits; ``branch`` (``""``:
    ``retire/<stage>/<links>``) puts the commit on a review branch instead.
    """
    reg = Registry.open(registry, remote=remote)
    wanted = names if isinstance(names, list) else []
    return stagecommit.plan_and_land(
        reg,
        None if isinstance(names, list) else names,
        stage,
        lambda stage: plan_on(reg, wanted, stage, message, verify),
        lambda p: replan(reg, p),
        stagecommit.Landing(push=push, branch=branch, force=force, sign=sign, fetch=fetch),
        "say which stage to retire from",
    )


def plan_on(reg: Registry, names: list[str], stage: str, message: str | None = None, verify: bool = True) -> Retirement:
    """Work out what retiring ``names`` from ``stage`` removes; change nothing.

    Verifying refuses a retirement that would leave an alias on the stage
    pointing at a link it removes.
    """
    stagecommit.check_message(message)
    wanted = stagecommit.names_once(names, "retire")
    stagecommit.check_stage(reg, stage)
    base = stagecommit.tip(reg, stage)
    links: list[RetiredLink] = []
    for name in wanted:
        path = name + LINK_SUFFIX
        data = git.read_at(reg.repo, base, path)
        if data is None:
            raise LinkNotFound(f"no link {name} on {stage}{reg.elsewhere(stage, path)}")
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
    named = ", ".join(f"{p.name} {version_of(p.link)}" if p.link is not None else p.name for p in links)
    lines = [f"Retire {named} from {stage}", ""]
    if message:
        lines += [message.strip(), ""]
    lines.append(f"{TRAILER_ACTION}: {ACTION_RETIRE}")
    lines += [f"{TRAILER_LINK}: {p.name}" for p in links]
    return Retirement(stage, base, tuple(links), "\n".join(lines) + "\n", tuple(reg.notes), reg.copies())


def replan(reg: Registry, plan: Retirement) -> Retirement:
    """The same retirement on the stage's new tip, refused if one of its files changed there."""
    base = stagecommit.unchanged_tip(reg, plan.stage, plan.changes, "retiring")
    return replace(plan, base=base)
