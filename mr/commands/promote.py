"""``mr promote``: plan a promotion, then commit it onto the target stage.

A plan reads everything from git (the source stage's links, the target
stage's files and policy) and computes the new file contents; ``mr.stagecommit``
commits it (in memory, moved by compare-and-swap, planned again on a moved
branch), as it does rollbacks and retirements.
"""

from __future__ import annotations

from dataclasses import replace

from mr import git, linkfile, stagecommit
from mr.config import CONFIG_FILE, Config, load_config
from mr.errors import (
    LinkFileError,
    PolicyError,
    PromotionRefused,
    RegistryError,
    UsageError,
)
from mr.model import (
    ERROR,
    LINK_SUFFIX,
    TRAILER_FROM,
    TRAILER_LINK,
    TRAILER_REV,
    Link,
    Problem,
    is_full_sha,
    pinned,
    version_of,
)
from mr.registry import Registry, link_name
from mr.results import (
    PromotedLink,
    Promotion,
    PromotionResult,
)


def plan_promotion(
    names: list[str],
    to: str,
    source: str | None = None,
    pin: bool | None = None,
    message: str | None = None,
    verify: bool = True,
    registry: str | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> Promotion:
    """What promoting ``names`` from ``source`` (default: the stage before) onto ``to`` would change.

    Each link is verified first unless ``verify=False``; a failing link
    raises ``PromotionRefused`` with the problems. ``pin`` (default: the
    target stage's ``require_pinned``) stores full SHAs. Nothing is written.

    Stages without a local branch are read from ``remote``'s tracking
    branches; a local ``to`` behind its remote is refused (``StaleStage``)
    unless ``fetch`` (True: the registry's remote; a name: that remote, as
    ``--push`` gives it) fetches it first and plans on the remote's tip.
    """
    reg = Registry.open(registry, remote=remote)
    _order_before_contact(reg, to, source)
    stagecommit.fetch_stage(reg, to, fetch, sources=_sources(reg, to, source))
    return plan_on(reg, names, to, source, pin, message, verify)


def _check_order(config: Config, to: str, source: str) -> None:
    """Refuse a promotion that breaks the stage order ``to``'s policy sets (``from:``)."""
    problem = config.stage_policy(to).order_problem(to, source)
    if problem:
        raise PolicyError(f"nothing promoted: {problem}")


def _order_before_contact(reg: Registry, to: str | None, source: str | None) -> None:
    """The stage order as the local copy of ``to`` has it, before anything is fetched: a promotion
    its policy forbids contacts no remote. (Checked again on the tip fetched.)"""
    if to is None or to not in reg.config.stages:
        return
    tip = reg.stage_status(to).tip  # as the rule reads it, but noting nothing: the fetch comes next
    if source is None:
        source = reg.config.previous_stage(to)
    if tip is not None and source is not None and source != to:
        data = git.read_at(reg.repo, tip, CONFIG_FILE, where=to)
        _check_order(load_config(data, f"{to}:{CONFIG_FILE}"), to, source)


def _sources(reg: Registry, to: str | None, source: str | None) -> tuple[str, ...]:
    """The stage a promotion onto ``to`` reads from (``--from``, else the stage before), fetched with it."""
    if source is None and to is not None:
        source = reg.config.previous_stage(to)
    return (source,) if source is not None and source in reg.config.stages else ()


def promote(
    names: list[str] | Promotion,
    to: str | None = None,
    source: str | None = None,
    pin: bool | None = None,
    message: str | None = None,
    verify: bool = True,
    push: str | None = None,
    registry: str | None = None,
    branch: str | None = None,
    force: bool = False,
    sign: bool | None = None,
    remote: str | None = None,
    fetch: bool | str = False,
) -> PromotionResult:
    """Promote links onto stage ``to`` as one commit (or apply a plan from ``plan_promotion``).

    With ``branch`` (``""`` for the default ``promote/<stage>/<links>``) the
    commit goes on a new branch from the stage's tip, for review, and the
    stage itself is left alone; ``force`` replaces an existing such branch.

    The commit is built without a checkout and the branch moves by
    compare-and-swap, rebuilt on the new tip when another promotion landed
    first. When ``to`` is checked out its work tree and index follow (refused
    when a file it touches has uncommitted changes). ``push`` names a remote
    (or URL): the stage is fetched from it, the commit built on its tip and
    pushed with a lease on that tip; when someone else pushed meanwhile it is
    built again on the new tip and pushed again. ``fetch`` fetches the stage
    first without pushing (see ``plan_promotion``). ``sign`` signs the commit
    (None: when git would, by ``commit.gpgSign``).
    """
    reg = Registry.open(registry, remote=remote)
    wanted = names if isinstance(names, list) else []
    if isinstance(names, list):
        _order_before_contact(reg, to, source)
    sources = _sources(reg, to, source) if isinstance(names, list) else (names.source,)
    return stagecommit.plan_and_land(
        reg,
        None if isinstance(names, list) else names,
        to,
        lambda stage: plan_on(reg, wanted, stage, source, pin, message, verify),
        lambda p: replan(reg, p),
        stagecommit.Landing(push=push, branch=branch, force=force, sign=sign, fetch=fetch),
        "say which stage to promote to",
        sources,
    )


def plan_on(
    reg: Registry,
    names: list[str],
    to: str,
    source: str | None = None,
    pin: bool | None = None,
    message: str | None = None,
    verify: bool = True,
) -> Promotion:
    """Work out what promoting ``names`` onto ``to`` changes; change nothing."""
    stagecommit.check_message(message)
    from mr import checks
    from mr.reader import verify_target

    if not names:
        raise UsageError("name at least one link to promote")
    config = reg.config
    if to not in config.stages:
        raise UsageError(f"{to} is not a stage (stages: {', '.join(config.stages)})")
    if source is None:
        source = config.previous_stage(to)
        if source is None:
            raise UsageError(f"{to} is the first stage; say where from with --from")
    if source == to:
        raise UsageError(f"--from and --to are both {to}")
    base = stagecommit.tip(reg, to)
    source_sha = reg.stage_tip(source)
    target = reg.view(to)  # at base: the tip this promotion is built on
    target_config = target.config
    _check_order(target_config, to, source)
    must_pin = target_config.stage_policy(to).require_pinned
    do_pin = must_pin if pin is None else pin

    reader = target.reader()
    promoted: list[PromotedLink] = []
    problems: list[Problem] = []
    aliases: list[tuple[int, Link]] = []
    seen: set[str] = set()
    for raw in names:
        name = link_name(raw)
        if name in seen:
            continue
        seen.add(name)
        path = name + LINK_SUFFIX
        data = git.read_at(reg.repo, source_sha, path, where=source)
        if data is None:
            raise RegistryError(f"no link {name} on {source}{reg.elsewhere(source, path)}")
        link = linkfile.load_link(data, f"{source}:{path}", name=name)
        old = git.read_at(reg.repo, base, path, where=to)
        if link.is_stage_alias:
            # an alias points into the registry itself: it is checked below,
            # against the target stage as this promotion leaves it, and never
            # pinned (the stage branch that holds it fixes what it means)
            aliases.append((len(promoted), link))
            promoted.append(PromotedLink(name, link, None, old, _content(old, data, path, link, to)))
            continue
        found: list[Problem] = []
        sha = None
        kind = None
        if verify or do_pin:
            sha, target_found = verify_target(reader, link, found)
            kind = target_found.resolved.kind if target_found is not None and target_found.resolved else None
        new_link = link
        if do_pin and sha is not None and link.rev != sha:
            if is_full_sha(link.rev):
                new_link = replace(link, rev=sha)
            else:
                new_link = pinned(link, sha, link.rev or reader.default_branch(link.project))
        # the policy is static (no network): it holds with --no-verify too
        problems.extend(checks.policy_problems(new_link, target_config, to))
        if verify:
            problems.extend(found)
        elif do_pin and sha is None:
            problems.extend(found)  # a rev that does not resolve cannot be pinned
        promoted.append(PromotedLink(name, new_link, sha, old, _content(old, data, path, new_link, to), kind))
    if aliases and verify:
        overlay = {p.path: p.new for p in promoted}
        on_target = target.reader(overlay=overlay, alias_at=base)
        for _, link in aliases:
            verify_target(on_target, link, problems)
            problems.extend(checks.policy_problems(link, target_config, to))
    errors = tuple(p for p in problems if p.severity == ERROR)
    if errors:
        raise PromotionRefused(f"nothing promoted: {len(errors)} problem(s) with the links", errors)
    text = _message(promoted, source, source_sha, to, message)
    request = (tuple(names), pin, message, verify)
    return Promotion(to, source, source_sha, base, tuple(promoted), text, request, tuple(reg.notes), reg.copies())


def _content(old: bytes | None, source: bytes, path: str, link: Link, to: str) -> bytes:
    """The file for the target stage: the target's own file updated in place, else the source's."""
    if old is not None:
        try:
            return linkfile.dump_update(old, f"{to}:{path}", link)
        except LinkFileError:
            pass  # the target's copy is broken: replace it
    if linkfile.load_link(source, path) == link:
        return source
    return linkfile.dump_update(source, path, link)


def _version(p: PromotedLink) -> str:
    """The version a promotion's subject names (the alias of a stage has none of its own)."""
    return version_of(p.link, p.kind, p.sha)


def _message(links: list[PromotedLink], source: str, source_sha: str, to: str, extra: str | None) -> str:
    names = ", ".join(p.name if p.link.is_stage_alias else f"{p.name} {_version(p)}" for p in links)
    lines = [f"Promote {names} to {to}", ""]
    if extra:
        lines += [extra.strip(), ""]
    lines.append(f"{TRAILER_FROM}: {source} {source_sha}")
    for p in links:
        lines.append(f"{TRAILER_LINK}: {p.name}")
        if p.link.is_stage_alias:
            lines.append(f"{TRAILER_REV}: (alias) -")
            continue
        rev = p.link.pinned_from or p.link.rev or "(default branch)"
        lines.append(f"{TRAILER_REV}: {rev} {p.sha or '-'}")
    return "\n".join(lines) + "\n"


def replan(reg: Registry, promotion: Promotion) -> Promotion:
    """The same promotion, planned again on the target branch as it is now."""
    names, pin, message, verify = promotion.request
    return plan_on(reg, list(names), promotion.to, promotion.source, pin, message, verify)
