"""The ``mr`` command line: parse options, call ``mr.api``, render.

Only click is imported at start-up; everything heavy (pygit2, rich,
ruamel.yaml) is imported inside the command that needs it, so ``mr --help``
and tab completion stay quick.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mr import __version__, complete
from mr.model import SHOW_FIELDS

if TYPE_CHECKING:
    from mr.results import P, StageResult

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def registry_option(f: F) -> F:
    return click.option(
        "--registry",
        metavar="PATH",
        help="The registry (default: the git repository around the current directory).",
    )(f)


def remote_registry_option(f: F) -> F:
    return click.option(
        "--registry",
        metavar="PATH|URL",
        help="The registry: a folder, or a URL read through a cached bare clone "
        "(default: the git repository around the current directory).",
    )(f)


def allow_local_option(f: F) -> F:
    return click.option(
        "--allow-local-projects",
        "allow_local",
        is_flag=True,
        help="Trust content from a remote (a --registry URL, or a link inside a remote source) "
        "to name projects on this machine; refused by default.",
    )(f)


def _remote_value(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A remote's name or URL; a value like an option is reported under its own option's name."""
    if value is not None and value.startswith("-"):
        from mr.terminal import field

        raise click.BadParameter(f"{field(value)}: not a remote name or URL", ctx=ctx, param=param)
    return value


def remote_option(f: F) -> F:
    return click.option(
        "--remote",
        metavar="NAME",
        callback=_remote_value,
        shell_complete=complete.remotes,
        help="The remote whose branches stand in for stages without a local branch "
        "(default: remote in .mr.yaml, else the current branch's upstream, else origin).",
    )(f)


def quiet_option(f: F) -> F:
    return click.option("--quiet", "-q", is_flag=True, help="Print only errors.")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON to stdout, nothing else.")(f)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="mr", message="%(prog)s %(version)s")
def cli() -> None:
    """A model registry made of MLEM links, kept in git.

    A registry is a git repository of small link files (NAME.mlem), each
    pointing at a model or other MLEM object in another repository at a
    branch, tag or commit. The registry's branches are its stages.
    """


@cli.command(context_settings=CONTEXT)
@click.argument("path", default=".", type=click.Path(file_okay=False))
@click.option(
    "--stages",
    metavar="A,B,C",
    help="Stage branches in promotion order (default: dev,staging,production).",
)
@click.option(
    "--push",
    metavar="REMOTE",
    callback=_remote_value,
    shell_complete=complete.remotes,
    help="Push the registry's branch and every stage branch to REMOTE, each set to track it.",
)
@quiet_option
@json_option
def init(path: str, stages: str | None, push: str | None, quiet: bool, as_json: bool) -> None:
    """Make PATH (default: .) a registry.

    Runs git init when needed, creates .mlem.yaml and .mr.yaml, commits them,
    and creates one branch per stage. Safe to run again: existing settings
    and branches are never changed.

    In a repository with no commits yet (a clone of an empty repository) the
    files are committed on the branch the remote's HEAD names, so teammates'
    clones check it out. --push REMOTE then shares the registry: that branch
    and every stage branch in one push. Without it, the command that shares
    it is printed.

    \b
    Examples:
      mr init
      git clone git@github.com:org/model-registry.git && cd model-registry && mr init --push origin
    """
    from mr import api, render
    from mr.config import parse_stages

    result = api.init(path, parse_stages(stages) if stages is not None else None, push=push)
    if not quiet or as_json:
        render.init_result(result, as_json)


@cli.command(context_settings=CONTEXT)
@click.argument("source")
@click.argument("name")
@click.option(
    "--source-project",
    "--sp",
    "source_project",
    metavar="PROJECT",
    help="Repository holding SOURCE: URL or local path. Without it SOURCE is in the registry (an alias).",
)
@click.option(
    "--rev",
    "-r",
    metavar="REV",
    shell_complete=complete.revs,
    help="Branch, tag or commit (default: the project's default branch).",
)
@click.option("--pin", is_flag=True, help="Store the full commit SHA; keep the rev's name in params.pinned_from.")
@click.option(
    "--follow-links/--no-follow-links",
    " /--nf",
    default=True,
    show_default=True,
    help="When SOURCE is itself a link, link to the object at the end of its chain.",
)
@click.option(
    "--absolute/--relative",
    "--abs/ ",
    default=False,
    help="Record a local project (or the registry, for an alias) by absolute path.  [default: relative]",
)
@click.option("--force", "-f", is_flag=True, help="Replace an existing link (its comments and layout are kept).")
@allow_local_option
@registry_option
@quiet_option
@json_option
def link(
    source: str,
    name: str,
    source_project: str | None,
    rev: str | None,
    pin: bool,
    follow_links: bool,
    absolute: bool,
    force: bool,
    allow_local: bool,
    registry: str | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Write NAME.mlem, a link to the MLEM object SOURCE.

    SOURCE is the object's meta file in its project, with or without .mlem
    (models/rf). NAME is the link's path in the registry, with or without
    .mlem (churn/candidate). The target is read at the rev to learn its type;
    nothing is written unless it is a MLEM object.

    \b
    Examples:
      mr link --sp https://github.com/org/models models/rf first-model
      mr link --sp ../models --rev v1.2.0 --pin models/rf production-model
    """
    from mr import api, render

    root = api.registry_root(registry)
    result = api.link(
        source,
        source_project=source_project,
        rev=rev,
        target=name,
        target_project=root,
        follow_links=follow_links,
        absolute=absolute,
        pin=pin,
        force=force,
        allow_local=allow_local,
    )
    if not quiet or as_json:
        render.link_result(result, as_json)


@cli.command(context_settings=CONTEXT)
@click.argument("name", required=False, shell_complete=complete.link_names)
@click.option(
    "--stage",
    "-s",
    metavar="STAGE",
    shell_complete=complete.stages,
    help="Read the links on this stage's branch instead of the work tree.",
)
@click.option("--resolve", is_flag=True, help="Fetch each project once and add the commit each rev points at.")
@click.option("--all-stages", "-a", is_flag=True, help="A matrix of links against stages.")
@click.option(
    "--diff",
    "diff",
    nargs=2,
    metavar="FROM TO",
    shell_complete=complete.stages,
    help="What differs from FROM to TO: each a stage, or any revision of the registry "
    "(production~1, production@{1}, a SHA, origin/production).",
)
@click.option(
    "--patch",
    is_flag=True,
    help="With --diff: every changed field of each link, as a diff of the files shows it (default: per link, "
    "its version before and after and what else changed).",
)
@click.option(
    "--field",
    type=click.Choice(SHOW_FIELDS),
    help="With NAME: print only this value of the link (sha resolves the rev).",
)
@click.option("--outdated", is_flag=True, help="List links whose source has moved on (fetches each project once).")
@click.option(
    "--at",
    "at",
    metavar="WHEN",
    help="With --stage or NAME: as it was then (2026-11-01 for the end of that day, 2026-11-01T14:30, "
    "+01:00 or Z, 2.weeks.ago, @SECONDS), by each stage's first-parent history.",
)
@click.option("--offline", is_flag=True, help="With --resolve or --outdated: use only cached projects.")
@allow_local_option
@remote_option
@remote_registry_option
@json_option
def show(
    name: str | None,
    stage: str | None,
    resolve: bool,
    all_stages: bool,
    diff: tuple[str, str] | None,
    patch: bool,
    field: str | None,
    outdated: bool,
    at: str | None,
    offline: bool,
    allow_local: bool,
    remote: str | None,
    registry: str | None,
    as_json: bool,
) -> int:
    """List the links of the registry, or one link with its history.

    By default the links in the work tree as they are now, committed or not
    (in a bare registry, those of HEAD's branch); with --stage, those on that
    stage's branch. The kind column says whether each rev is a branch, a tag,
    a commit or a pin (ref: a branch or tag of a project not fetched yet; use
    --resolve). NAME shows that link on every stage and every commit that
    changed it on a stage branch: promotion, rollback, retirement or direct
    change (a commit without mr's trailers), newest first.
    --all-stages shows every link against every stage; --diff FROM TO what
    promoting FROM onto TO would change, or, given revisions, what a push
    changed (mr show --diff BEFORE AFTER --json, in a deploy job). --at WHEN shows a stage
    (with --stage) or a link on every stage (with NAME) as it was then: what was in production
    on 1 November. NAME --field F prints one value
    (rev, sha, project, path, url, type) for scripts. --outdated lists links
    whose source moved on: a branch past the commit recorded when the link
    was promoted, a pin whose branch advanced, a tag with newer version tags.
    Exits 1 when a file cannot be read or a value is missing.

    A stage without a local branch is read from the remote's tracking branch
    (origin/staging), as git checkout would find it; a local stage behind
    it is read all the same, with a warning naming both commits.

    With --json every view prints one JSON document with "version": 1; the
    fields of each are listed in mr-show(1).
    """
    from mr import api, render

    if name is not None and not name.strip():
        raise click.UsageError("NAME is empty")
    views = sum(bool(v) for v in (name, all_stages, diff, outdated))
    if views > 1:
        raise click.UsageError("give one of NAME, --all-stages, --diff and --outdated")
    if (all_stages or diff) and (stage or resolve):
        raise click.UsageError("--stage and --resolve go with the plain list")
    if field and not name:
        raise click.UsageError("--field goes with NAME")
    if patch and not diff:
        raise click.UsageError("--patch goes with --diff")
    if at is not None and (all_stages or diff or outdated or field or not (name or stage)):
        raise click.UsageError("--at goes with --stage STAGE or NAME (what was live then)")
    if field and name:
        if as_json:
            raise click.UsageError("--field prints a bare value; leave out --json")
        from mr.terminal import field as safe

        value = api.link_field(name, field, stage=stage, registry=registry, remote=remote, allow_local=allow_local)
        click.echo(safe(value))
        return 0
    if outdated:
        report = api.outdated(stage=stage, registry=registry, offline=offline, allow_local=allow_local, remote=remote)
        render.outdated(report, as_json)
        return _exit(report.ok)
    if name and at is not None:
        then = api.link_at(name, at, registry=registry, remote=remote)
        render.link_at(then, as_json)
        return _exit(then.ok)
    if name:
        history = api.link_history(name, registry=registry, remote=remote, resolve=resolve)
        render.history(history, as_json)
        return _exit(history.ok)
    if all_stages:
        matrix = api.stage_matrix(registry, remote=remote)
        render.matrix(matrix, as_json)
        return _exit(matrix.ok)
    if diff:
        changes = api.stage_diff(diff[0], diff[1], registry=registry, remote=remote)
        render.stage_diff(changes, as_json, patch)
        return _exit(changes.ok)
    result = api.show(
        registry, stage=stage, resolve=resolve, offline=offline, allow_local=allow_local, remote=remote, at=at
    )
    render.show_result(result, as_json)
    return _exit(result.ok)


def _exit(ok: bool) -> int:
    """The one exit-code rule for a command's result: 0 when its ``ok``, else 1 (a check failed)."""
    return 0 if ok else 1


def stage_commit_options(verb: str) -> Callable[[F], F]:
    """The options every command that commits on a stage takes (promote, rollback, retire)."""
    options = [
        click.option("-m", "--message", metavar="TEXT", help="Added to the commit message."),
        click.option("--dry-run", "-n", is_flag=True, help="Show what would change; change nothing."),
        click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal."),
        click.option(
            "--push",
            metavar="REMOTE",
            callback=_remote_value,
            shell_complete=complete.remotes,
            help="Fetch the stage from REMOTE, build the commit on its tip and push it there "
            "(rebuilt and pushed again when someone else pushed meanwhile).",
        ),
        click.option(
            "--fetch",
            is_flag=True,
            help="Fetch the stage (and a promotion's source stage) from the remote first, "
            "and build on the newest copy.",
        ),
        click.option(
            "--remote",
            metavar="NAME",
            callback=_remote_value,
            shell_complete=complete.remotes,
            help="The remote whose branches stand in for stages without a local branch "
            "(default: remote in .mr.yaml, else the upstream, else origin).",
        ),
        click.option(
            "--branch",
            "review_branch",
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[NAME]",
            help="Put the commit on a new branch from the stage's tip, for review, instead of on the stage "
            f"(default name: {verb}/<stage>/<links>).",
        ),
        click.option("--force", "-f", is_flag=True, help="With --branch: replace an existing branch of that name."),
        click.option(
            "--sign/--no-sign",
            default=None,
            help="Sign the commit (default: as git commit would, by commit.gpgSign; gpg.format and "
            "user.signingKey apply).",
        ),
    ]

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def confirm_and_commit(
    plan: P,
    commit: Callable[[], StageResult[P]],
    show_plan: Callable[[], None],
    show_result: Callable[[StageResult[P]], None],
    show_json: Callable[[StageResult[P] | None], None],
    question: str,
    nothing: str,
    *,
    dry_run: bool,
    yes: bool,
    push: str | None,
    review_branch: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Show a plan, ask on a terminal, commit it: the flow promote, rollback and retire share."""
    if not as_json and not quiet:
        show_plan()
        if dry_run and plan.changes:
            click.echo("dry run: nothing changed", err=True)
    if dry_run or (not plan.changes and push is None):
        if as_json:
            show_json(None)
        return 0
    if plan.changes and not yes and sys.stdin.isatty() and sys.stderr.isatty():
        where = plan.stage if review_branch is None else f"a review branch from {plan.stage}"
        if not click.confirm(f"{question} {where}?", default=False, err=True):
            click.echo(f"mr: {nothing}", err=True)
            return 1
    result = commit()
    if as_json:
        show_json(result)
    elif not quiet:
        show_result(result)
    return _exit(result.ok)


@cli.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="NAME...", shell_complete=complete.link_names)
@click.option(
    "--to", "to", required=True, metavar="STAGE", shell_complete=complete.stages, help="The stage to promote onto."
)
@click.option(
    "--from",
    "source",
    metavar="STAGE",
    shell_complete=complete.branches,
    help="Where the links come from (default: the stage before --to).",
)
@click.option(
    "--pin/--no-pin",
    default=None,
    help="Store full commit SHAs (default: when the target stage's policy requires pins).",
)
@stage_commit_options("promote")
@click.option("--no-verify", is_flag=True, help="Skip checking that each link resolves.")
@registry_option
@quiet_option
@json_option
def promote(
    names: tuple[str, ...],
    to: str,
    source: str | None,
    pin: bool | None,
    message: str | None,
    dry_run: bool,
    yes: bool,
    push: str | None,
    fetch: bool,
    remote: str | None,
    review_branch: str | None,
    force: bool,
    sign: bool | None,
    no_verify: bool,
    registry: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Promote links onto stage --to, as one commit on its branch.

    Each NAME is read from --from's branch, verified (unless --no-verify),
    pinned when --to requires pins (or with --pin), and written onto --to's
    branch keeping that file's comments and layout. The commit is built
    without a checkout (bare registries work) and carries Mr-Link, Mr-From
    and Mr-Rev trailers that mr show NAME reads. The branch moves by
    compare-and-swap, so concurrent promotions never lose each other.

    Each stage is read at its newest copy: its local branch, or the
    remote's tracking branch where the local one is behind (or absent);
    the local --to branch is brought along when the commit lands, and a
    --to that has diverged from its remote is refused. --fetch fetches
    --from and --to first. --push REMOTE fetches both, builds the commit
    on the remote's tip and pushes it with a lease on that tip; when a
    teammate pushed meanwhile, it is built again on their commit and pushed
    again. A push that does not land is taken back: nothing is left here.

    Where the stage is a protected branch, --branch puts the same commit on a
    new branch from the stage's tip instead; push it with --push and merge
    it through review (the URL to open a merge request is printed for GitHub
    and GitLab remotes).

    \b
    Examples:
      mr promote churn --to production -m "Q3 retrain"
      mr promote churn --to production --branch --push origin
    """
    from mr import api, render

    if force and review_branch is None:
        raise click.UsageError("--force goes with --branch")
    plan = api.plan_promotion(
        list(names),
        to,
        source=source,
        pin=pin,
        message=message,
        verify=not no_verify,
        registry=registry,
        remote=remote,
        fetch=push or fetch,
    )
    return confirm_and_commit(
        plan,
        lambda: api.promote(
            plan,
            push=push,
            registry=registry,
            branch=review_branch,
            force=force,
            sign=sign,
            remote=remote,
            fetch=fetch,
        ),
        lambda: render.promotion_plan(plan),
        render.promotion_result,
        lambda result: render.promotion_json(plan if result is None else result.plan, result, dry_run=dry_run),
        "Promote to",
        "nothing promoted",
        dry_run=dry_run,
        yes=yes,
        push=push,
        review_branch=review_branch,
        quiet=quiet,
        as_json=as_json,
    )


@cli.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="NAME...", shell_complete=complete.stage_link_names)
@click.option(
    "--stage", "-s", required=True, metavar="STAGE", shell_complete=complete.stages, help="The stage to roll back on."
)
@click.option(
    "--to",
    "to",
    metavar="COMMIT",
    shell_complete=complete.branches,
    help="Put each link back as it was at this commit of the stage (a SHA, or e.g. production~2).",
)
@click.option("--steps", type=int, metavar="N", help="Go back N changes of each link on the stage (default: 1).")
@stage_commit_options("rollback")
@click.option(
    "--no-verify", is_flag=True, help="Skip checking that each old target still resolves (the policy still holds)."
)
@registry_option
@quiet_option
@json_option
def rollback(
    names: tuple[str, ...],
    stage: str,
    to: str | None,
    steps: int | None,
    message: str | None,
    dry_run: bool,
    yes: bool,
    push: str | None,
    fetch: bool,
    remote: str | None,
    review_branch: str | None,
    force: bool,
    sign: bool | None,
    no_verify: bool,
    registry: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Put links on --stage back as they were, as one commit on its branch.

    Each NAME goes back to its content before its last change on the stage
    (--steps N: N changes back; --to COMMIT: as at that commit of the
    stage), byte for byte, comments included; a link the stage did not have
    then is removed. Rolling back twice undoes the first rollback. Each old
    target is verified to still resolve (unless --no-verify), and the
    stage's policy must hold: a rollback never unpins a stage that requires
    pins, it is refused instead. The commit is made as mr promote makes
    one (diff, confirmation, compare-and-swap, --push, --branch) and
    carries Mr-Action, Mr-Link, Mr-Rollback-To and Mr-Undoes trailers.
    If another commit changes one of these links first, nothing is rolled
    back: run the command again to see the new state.

    \b
    Examples:
      mr rollback churn --stage production
      mr rollback churn --stage production --steps 2 --push origin
      mr rollback churn fraud --stage production --to 3f2a9c1
    """
    from mr import api, render

    if force and review_branch is None:
        raise click.UsageError("--force goes with --branch")
    plan = api.plan_rollback(
        list(names),
        stage,
        to=to,
        steps=steps,
        message=message,
        verify=not no_verify,
        registry=registry,
        remote=remote,
        fetch=push or fetch,
    )
    return confirm_and_commit(
        plan,
        lambda: api.rollback(
            plan,
            push=push,
            registry=registry,
            branch=review_branch,
            force=force,
            sign=sign,
            remote=remote,
            fetch=fetch,
        ),
        lambda: render.rollback_plan(plan),
        render.rollback_result,
        lambda result: render.rollback_json(plan if result is None else result.plan, result, dry_run=dry_run),
        "Roll back on",
        "nothing rolled back",
        dry_run=dry_run,
        yes=yes,
        push=push,
        review_branch=review_branch,
        quiet=quiet,
        as_json=as_json,
    )


@cli.command(context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, metavar="NAME...", shell_complete=complete.stage_link_names)
@click.option(
    "--stage",
    "-s",
    required=True,
    metavar="STAGE",
    shell_complete=complete.stages,
    help="The stage to retire the links from.",
)
@stage_commit_options("retire")
@click.option(
    "--no-verify", is_flag=True, help="Skip checking that no alias left on the stage points at a retired link."
)
@registry_option
@quiet_option
@json_option
def retire(
    names: tuple[str, ...],
    stage: str,
    message: str | None,
    dry_run: bool,
    yes: bool,
    push: str | None,
    fetch: bool,
    remote: str | None,
    review_branch: str | None,
    force: bool,
    sign: bool | None,
    no_verify: bool,
    registry: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Remove links from --stage, as one commit on its branch.

    Other stages keep their copies. The commit is made as mr promote makes
    one (diff, confirmation, compare-and-swap, --push, --branch) and
    carries Mr-Action and Mr-Link trailers; mr show NAME lists the
    retirement, and mr rollback NAME --stage STAGE brings the link back.

    \b
    Examples:
      mr retire churn-legacy --stage production
      mr retire churn-legacy --stage production --branch --push origin
    """
    from mr import api, render

    if force and review_branch is None:
        raise click.UsageError("--force goes with --branch")
    plan = api.plan_retirement(
        list(names),
        stage,
        message=message,
        verify=not no_verify,
        registry=registry,
        remote=remote,
        fetch=push or fetch,
    )
    return confirm_and_commit(
        plan,
        lambda: api.retire(
            plan,
            push=push,
            registry=registry,
            branch=review_branch,
            force=force,
            sign=sign,
            remote=remote,
            fetch=fetch,
        ),
        lambda: render.retirement_plan(plan),
        render.retirement_result,
        lambda result: render.retirement_json(plan if result is None else result.plan, result, dry_run=dry_run),
        "Retire from",
        "nothing retired",
        dry_run=dry_run,
        yes=yes,
        push=push,
        review_branch=review_branch,
        quiet=quiet,
        as_json=as_json,
    )


@cli.command(context_settings=CONTEXT)
@remote_option
@registry_option
@quiet_option
@json_option
def sync(remote: str | None, registry: str | None, quiet: bool, as_json: bool) -> int:
    """Fetch every stage from the remote, and bring the local stage branches up to it.

    One git fetch of every stage in .mr.yaml; then each local stage branch
    strictly behind the remote's is fast-forwarded (where it is checked out
    here, only when the files that change have no uncommitted edits, as git
    merge --ff-only would), and a stage only the remote has gets a local
    branch tracking it. Nothing else moves: commits not pushed stay, and a
    stage that has diverged from the remote's is left alone and named.

    Commands read the newest copy of a stage anyway (saying so when the
    local branch is behind); sync makes the local branches that copy.

    \b
    Examples:
      mr sync
      mr sync --remote upstream --json
    """
    from mr import api, render

    report = api.sync(registry, remote=remote)
    render.sync_report(report, as_json, quiet=quiet)
    return _exit(report.ok)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False), shell_complete=complete.link_files)
@click.option(
    "--stage",
    "-s",
    metavar="STAGE",
    shell_complete=complete.stages,
    help="Check the links on this stage's branch, with its own policy.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Use only cached projects; report those that are not cached. A --stage missing here is not fetched.",
)
@click.option(
    "--policy-stage",
    metavar="STAGE",
    shell_complete=complete.stages,
    help="Checking the work tree, apply this stage's policy (default: the checked-out branch when it is a "
    "stage, else $GITHUB_BASE_REF or $CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else $GITHUB_REF_NAME or "
    "$CI_COMMIT_BRANCH).",
)
@remote_option
@click.option(
    "--artifacts",
    is_flag=True,
    help="Also check each target's git-held artifacts exist at the rev with the size its meta records "
    "(a partial cache fetches their blobs to learn it, and then checks md5 too).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Projects fetched at once.",
)
@click.option(
    "--pre-receive",
    "pre_receive",
    is_flag=True,
    help="Run as git's pre-receive hook: read OLD NEW REF lines on standard input and verify each stage "
    "branch tip the push would set; exit 1 refuses the push.",
)
@allow_local_option
@remote_registry_option
@quiet_option
@click.option("--verbose", "-v", is_flag=True, help="Also list every link checked, with its commit.")
@json_option
def verify(
    files: tuple[str, ...],
    stage: str | None,
    pre_receive: bool,
    offline: bool,
    artifacts: bool,
    jobs: int,
    allow_local: bool,
    policy_stage: str | None,
    remote: str | None,
    registry: str | None,
    quiet: bool,
    verbose: bool,
    as_json: bool,
) -> int:
    """Check that every link resolves; exit 1 if any does not.

    Given FILEs (as pre-commit passes them), checks those; else every link in
    the work tree, or on --stage's branch. For each link: the file is a valid
    link, its project is reachable, its rev exists, its path is a MLEM object
    of link_type at that rev (following chains of links), and the registry
    policy holds (pins where a stage requires them, allowed_sources, no
    credentials in URLs). With --artifacts, also each target's artifacts that
    git holds: present at the rev, as large as the meta records (and the md5,
    where a partial cache fetched the blob to learn its size). Problems print
    as FILE:LINE: error: message.

    --stage S reads S's local branch, else the remote's tracking branch; in a
    checkout of one branch (CI) it fetches S alone from the remote, unless
    --offline. For a detached HEAD (CI) the policy applied to the work tree
    is --policy-stage's, else that of the branch the CI merges into
    (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME), else that of the
    branch a pipeline runs on (GITHUB_REF_NAME for a branch, CI_COMMIT_BRANCH).
    The summary names the policy applied and where it came from.
    A remote that does not answer fails its links after MR_GIT_TIMEOUT
    seconds (default 300).

    --pre-receive makes it a server-side hook (a bare repository's
    hooks/pre-receive: exec mr verify --pre-receive): each stage branch a
    push would move is verified at its new tip under the stage's policy as
    it stands (and as the push changes it, if it does); a failing link, or
    deleting a stage branch, refuses the whole push.
    """
    from mr import api, render

    if pre_receive:
        if files or stage or policy_stage or remote or allow_local or artifacts or as_json:
            raise click.UsageError(
                "--pre-receive reads what to check from standard input; it takes only --offline, --jobs, "
                "--registry, --quiet and --verbose"
            )
        reports = api.pre_receive(sys.stdin.read(), registry=registry, offline=offline, jobs=jobs)
        for report in reports:
            render.verify_report(report, False, quiet=quiet, verbose=verbose)
        return _exit(all(r.ok for r in reports))
    if files and stage:
        raise click.UsageError("give FILEs or --stage, not both")
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other")
    with render.progress(enabled=not (as_json or quiet)) as update:
        report = api.verify(
            list(files) if files else None,
            registry=registry,
            stage=stage,
            offline=offline,
            jobs=jobs,
            progress=update,
            allow_local=allow_local,
            artifacts=artifacts,
            remote=remote,
            policy_stage=policy_stage,
        )
    render.verify_report(report, as_json, quiet=quiet, verbose=verbose)
    return _exit(report.ok)


@cli.command(context_settings=CONTEXT)
@click.argument("name", required=False, shell_complete=complete.link_names)
@click.option(
    "--stage",
    "-s",
    metavar="STAGE",
    shell_complete=complete.stages,
    help="Read the link on this stage's branch instead of the work tree.",
)
@click.option(
    "--out", "-o", "out", metavar="DIR", type=click.Path(), help="Where to write (default: ./NAME, its last part)."
)
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace DIR when mr get wrote it: its receipt lists every file in it.",
)
@click.option("--check", "check", metavar="DIR", type=click.Path(), help="Re-verify DIR against its receipt instead.")
@click.option(
    "--dvc-remote",
    metavar="NAME",
    help="Read artifacts kept in DVC from this remote of the project (default: its core.remote).",
)
@allow_local_option
@remote_registry_option
@quiet_option
@json_option
def get(
    name: str | None,
    stage: str | None,
    out: str | None,
    force: bool,
    check: str | None,
    dvc_remote: str | None,
    allow_local: bool,
    registry: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Write the model (or other object) link NAME resolves to into DIR, every byte checked.

    The link is read from the work tree, or from --stage's branch, and
    followed to its object. Its .mlem meta and every artifact git holds for
    it are written into DIR as they are at the resolved commit, in their
    relative layout (MLEM's load works on DIR), each checked against the size
    and md5 the meta records. A receipt DIR/.mr-get.json records the
    registry, stage, commits and every file with its size and md5; --json
    prints it. All or nothing: a missing, changed or unsafe file is one line
    naming it, exit 1, and DIR is left as it was.

    Artifacts kept in DVC (a meta's type: dvc, or an output of the
    project's dvc.lock or a .dvc file) are read from the project's DVC
    remote at that commit (--dvc-remote: another of its remotes; your own
    DVC configuration supplies credentials) through DVC's libraries, which
    pip install 'mr-registry[dvc]' (or dvc-objects dvc-http) adds; each is checked against the meta
    and what DVC records, and MLEM loads the folder without DVC. Artifacts in
    object stores (s3://, gs://) are listed with the command that fetches
    them (MLEM loads them from there); git-lfs files fail with the git lfs
    command that fetches them.

    --check DIR re-verifies a folder against its receipt: exit 1 and one line
    per changed, missing or extra file.

    --force never replaces a folder mr get did not write, nor, whatever the
    flags, the current folder or one above it, /, $HOME, the registry, a git
    repository, a folder inside .git, a symlink or a file.

    \b
    Examples:
      mr get churn --stage production -o /srv/models/churn --force
      mr get --check /srv/models/churn
    """
    from mr import api, render

    if check is not None:
        if name is not None or stage or out or force or allow_local or dvc_remote:
            raise click.UsageError("--check DIR goes alone (with --json)")
        checked = api.check_get(check)
        render.check_result(checked, as_json, quiet=quiet)
        return _exit(checked.ok)
    if name is None:
        raise click.UsageError("give NAME, or --check DIR")
    with _terminate_as_interrupt(), render.progress(enabled=not (as_json or quiet)) as update:
        result = api.get(
            name,
            stage=stage,
            out=out,
            registry=registry,
            force=force,
            allow_local=allow_local,
            progress=update,
            dvc_remote=dvc_remote,
        )
    render.get_result(result, as_json, quiet=quiet)
    return _exit(result.ok)


@cli.command(context_settings=CONTEXT)
@click.option(
    "-o",
    "--out",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write the site here (default ./site); replaces only a folder mr site wrote.",
)
@registry_option
@remote_option
@click.option("--resolve", is_flag=True, help="Show each link's newest version tag, and the stages behind it.")
@click.option("--verify", "run_verify", is_flag=True, help="Run mr verify on each stage and show the result.")
@click.option("--title", metavar="TEXT", help="The pages' title (default: Model registry and its name).")
@quiet_option
@json_option
def site(
    out: str | None,
    registry: str | None,
    remote: str | None,
    resolve: bool,
    run_verify: bool,
    title: str | None,
    quiet: bool,
    as_json: bool,
) -> int:
    """Write the registry as a static site: the stage matrix and each link's history.

    index.html shows every link on every stage (the version and since when,
    retired and never promoted told apart, stale or diverged stages flagged);
    links/*.html, each link's history on every stage (who, when, the commit,
    from which stage, the signature where commits are signed, the message).
    The pages need no server and make no request: open them from the folder,
    or publish it from CI on any static host.

    The folder is written whole, then renamed into place. An existing folder
    is replaced only when mr site wrote it (its .mr-site.json lists every
    file and nothing else is there).

    \b
    Examples:
      mr site
      mr site -o public --resolve --verify --title "Churn models"
      mr site --registry https://github.com/acme/registry -o /srv/www/registry
    """
    from mr import api, render

    result = api.site(out, registry=registry, remote=remote, resolve=resolve, verify=run_verify, title=title)
    render.site_result(result, as_json, quiet=quiet)
    return _exit(result.ok)


@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(complete.SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  mr completion bash > ~/.local/share/bash-completion/completions/mr
    zsh:   mr completion zsh > ~/.zfunc/_mr   (with ~/.zfunc in fpath)
    fish:  mr completion fish > ~/.config/fish/completions/mr.fish

    Link names, stages, branches and the tags of a project given with --sp
    complete; packages that install mr's data files need none of this.
    """
    click.echo(complete.source(shell), nl=False)


@cli.command(context_settings=CONTEXT)
@click.option("--keep", is_flag=True, help="Keep the demo folder instead of removing it.")
@click.option(
    "--dir", "folder", type=click.Path(file_okay=False), help="Build the demo here (must be empty or absent)."
)
def demo(keep: bool, folder: str | None) -> int:
    """Build two model projects and a registry, and run mr on them.

    Everything happens in a temporary folder; each command is printed as you
    would type it, followed by its output.
    """
    from mr.commands.demo import run

    return run(folder=folder, keep=keep)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a deploy system's timeout) like Ctrl-C, so half-written files are cleaned up."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _few_collections() -> None:
    """Let Python's cycle collector run rarely: a command lives for seconds and makes little cyclic
    garbage, but reading 100,000 links makes millions of objects, and each collection walks them all
    (a third of the time of ``mr show --all-stages`` went there). What is loaded by now is never
    collected at all."""
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every outcome into an exit code."""
    if argv is None:
        _few_collections()
    from mr import envvars
    from mr.errors import ArtifactsRefused, LinkFileError, MrError, Refused, file_line
    from mr.terminal import field, lines

    try:
        envvars.check()
        rv = cli.main(args=argv, prog_name="mr", standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("mr: interrupted", err=True)
        return 130
    except LinkFileError as e:
        click.echo(f"{file_line(field(e.file), e.line)}: error: {field(e.detail)}", err=True)
        return e.exit_code
    except MrError as e:
        from mr.render import problem_line

        if isinstance(e, Refused):
            for problem in e.problems:
                click.echo(problem_line(problem), err=True)
        elif isinstance(e, ArtifactsRefused):
            for line in e.problems:
                click.echo(field(line), err=True)
        click.echo(f"mr: error: {lines(e.message)}", err=True)
        return e.exit_code
    except BrokenPipeError:
        # the reader went away (mr show | head): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        # disk full, read-only file system, no permission, name too long: one line, not a crash
        from mr.safefs import os_error

        click.echo(f"mr: error: {field(os_error(e).message)}", err=True)
        return 1
    except Exception as e:  # noqa: BLE001 - the one place unexpected errors are reported
        if os.environ.get("MR_DEBUG"):
            raise
        click.echo(
            f"mr: internal error: {type(e).__name__}: {field(e)} "
            "(this is a bug; rerun with MR_DEBUG=1 for a traceback and report it)",
            err=True,
        )
        return 1
    return rv if isinstance(rv, int) else 0
