"""The Python API of mr: the same verbs as the CLI, returning data.

Functions here never print and never exit; they return frozen dataclasses
from ``mr.model`` and raise ``mr.errors.MrError`` subclasses. ``link`` and
``load_meta`` take MLEM's parameter names (and MLEM 0.2's older ones).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from mr import git, linkfile, safefs
from mr.config import CONFIG_FILE, DEFAULT_STAGES, MLEM_CONFIG_FILE, check_stage_option, default_text, load_config
from mr.constants import SHOW_FIELDS
from mr.errors import LinkExists, LinkFileError, MrError, RegistryError, UnsafePath, UsageError
from mr.model import (
    BRANCH,
    COMMIT,
    ERROR,
    LINK_SUFFIX,
    OK,
    PIN,
    REF,
    SKIPPED,
    WARNING,
    CheckStatus,
    InitResult,
    Link,
    LinkCheck,
    LinkEntry,
    Meta,
    Problem,
    RevKind,
    ShowResult,
    VerifyReport,
    is_full_sha,
    pinned,
)
from mr.registry import Registry, link_name
from mr.urls import is_url, redact, strip_credentials

if TYPE_CHECKING:
    from mr.lifecycle import Retirement, RetireResult, Rollback, RollbackResult
    from mr.model import CheckResult, GetResult
    from mr.outdated import OutdatedReport
    from mr.promotion import Promotion, PromotionResult
    from mr.reader import Found, Reader
    from mr.stages import LinkHistory, Matrix, StageDiff

__all__ = [
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
    "promote",
    "retire",
    "rollback",
    "show",
    "stage_diff",
    "stage_matrix",
    "verify",
]


# --- init ----------------------------------------------------------------------


def init(path: str = ".", stages: tuple[str, ...] | list[str] | None = None) -> InitResult:
    """Make ``path`` a registry: a git repository with ``.mlem.yaml``, ``.mr.yaml`` and stage branches.

    Safe to run again: existing files are never rewritten, existing branches
    never moved. Files it creates are committed (one commit) on the current
    branch, or on the first stage's branch in a repository with no commits.
    """
    path = os.path.abspath(path)
    if stages:
        check_stage_option(tuple(stages))  # before anything is written
    repo = git.open_exact(path)
    if repo is None:
        if os.path.exists(path) and not os.path.isdir(path):
            raise RegistryError(f"{path}: not a folder")
        repo = git.init(path, (tuple(stages) if stages else DEFAULT_STAGES)[0])
    registry = Registry.of(repo)
    if registry.bare:
        raise RegistryError(f"{path}: a bare repository; run 'mr init' in a clone of it and push")
    existing = registry.read_current(CONFIG_FILE)
    if existing is not None:
        config = load_config(existing, CONFIG_FILE)
        if stages and tuple(stages) != config.stages:
            raise RegistryError(
                f"{CONFIG_FILE} already names stages {', '.join(config.stages)}; edit it to change them"
            )
        stages = config.stages
    stages = tuple(stages) if stages else DEFAULT_STAGES
    for stage in stages:
        for other in git.branches(repo):
            if other.startswith(stage + "/") or stage.startswith(other + "/"):
                raise RegistryError(
                    f"stage {stage} collides with the branch {other}: git cannot hold a branch and a folder of one name"
                )

    branch = git.head_branch(repo)
    if branch is None:
        raise RegistryError(f"{path}: HEAD is detached; check out a branch first")
    head = git.branch_tip(repo, branch)
    if head is None and branch not in stages:
        # a repository with no commits: start it on the first stage
        branch = stages[0]
        git.set_head(repo, branch)

    wanted = {MLEM_CONFIG_FILE: b"", CONFIG_FILE: default_text(stages).encode()}
    created: list[str] = []
    for name, content in wanted.items():
        full = os.path.join(registry.root, name)
        safefs.check(registry.root, name)
        if not os.path.lexists(full):
            safefs.write_in(registry.root, name, content)
            created.append(name)
    to_commit: dict[str, bytes] = {}
    for name in wanted:
        full = os.path.join(registry.root, name)
        if head is not None and git.read_at(repo, head, name) is not None:
            continue
        data = safefs.read_in(registry.root, name)
        if data is not None and (name in created or not git.is_tracked(repo, name)):
            to_commit[name] = data
    commit = None
    if to_commit:
        message = "Make this repository an mr registry\n\nStages: " + ", ".join(stages) + "\n"
        commit = git.commit_files(repo, branch, to_commit, message)
        git.stage_in_index(repo, sorted(to_commit))
    tip = git.branch_tip(repo, branch)
    made: list[str] = []
    # a stage the remote has (a fresh clone) is read from its remote-tracking branch
    missing = [s for s in stages if registry.find_stage(s) is None]
    if tip is not None and missing:
        start = tip if commit is not None else _registry_start(repo, tip)
        for stage in missing:
            git.create_branch(repo, stage, start)
            made.append(stage)
    return InitResult(
        path=registry.root,
        stages=stages,
        created=tuple(created),
        commit=commit,
        branches=tuple(made),
    )


def _registry_start(repo: git.Repo, tip: str) -> str:
    """The commit that made this repository a registry (the oldest with .mr.yaml).

    A stage added later starts there, empty, rather than with every link of
    the current branch: its links arrive by promotion.
    """
    start = tip
    for c in git.log(repo, tip):
        if git.read_at(repo, c.sha, CONFIG_FILE) is None:
            break
        start = c.sha
    return start


# --- reading MLEM objects --------------------------------------------------------


def _meta(found: Found) -> Meta:
    assert isinstance(found.obj, dict)
    return Meta(
        object_type=str(found.obj.get("object_type")),
        path=found.path,
        project=found.project,
        rev=found.rev,
        sha=found.resolved.sha if found.resolved else None,
        data=found.obj,
    )


def load_meta(
    path: str,
    project: str | None = None,
    rev: str | None = None,
    follow_links: bool = True,
    *,
    repo: str | None = None,
) -> Link | Meta:
    """Load the MLEM object at ``path`` (with or without ``.mlem``).

    ``project`` (``repo`` in MLEM 0.2) is a URL or a local repository; without
    it ``path`` is a file on disk. A link is followed to the object at the end
    of its chain unless ``follow_links=False``, which returns the ``Link``.
    """
    from mr.reader import Reader

    project = project if project is not None else repo
    if project is None:
        full = os.path.abspath(path)
        if not full.endswith(LINK_SUFFIX) and not os.path.isfile(full):
            full += LINK_SUFFIX
        base = _project_root(os.path.dirname(full))
        reader = Reader(base)
        found = reader.read(None, rev, os.path.relpath(full, base))
    else:
        reader = Reader(os.getcwd())
        found = reader.read(project, rev, path)
    if follow_links:
        found = reader.follow(found)
    if isinstance(found.obj, Link):
        return found.obj
    return _meta(found)


def _project_root(folder: str) -> str:
    """The MLEM project root above ``folder``: where ``.mlem.yaml`` is, else the git root."""
    here = folder
    while True:
        if os.path.isfile(os.path.join(here, MLEM_CONFIG_FILE)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    try:
        return git.root(git.discover(folder))
    except MrError:
        return folder


# --- link --------------------------------------------------------------------------


def registry_root(registry: str | None = None) -> str:
    """The top folder of the registry at ``registry`` (a folder inside it; default: around the current directory)."""
    return Registry.open(registry).root


def link(
    source: str,
    source_project: str | None = None,
    rev: str | None = None,
    target: str | None = None,
    target_project: str | None = None,
    follow_links: bool = True,
    absolute: bool = False,
    pin: bool = False,
    force: bool = False,
    *,
    source_repo: str | None = None,
    target_repo: str | None = None,
    external: bool | None = None,
    allow_local: bool = False,
) -> Link:
    """Make a link to the MLEM object ``source``, and write it when ``target`` is given.

    ``source_project`` is where the object lives (URL or local repository);
    without it the object is in the registry itself and the link is an alias.
    Without ``rev`` the project's default branch name is recorded. ``pin``
    stores the full commit SHA and keeps the symbolic rev in
    ``params.pinned_from``. ``target`` is the link's name inside the registry
    ``target_project`` (default: the repository around the current
    directory); an existing link is replaced only with ``force``.
    ``external`` (MLEM 0.2) is accepted and has no effect: a registry keeps
    its links where their names say. A chain through a remote source may not
    name a local project unless ``allow_local``; every hop meets the
    registry's ``allowed_sources`` and the credential rule.
    """
    from mr.reader import Reader

    del external
    if source_project is not None and source_repo is not None and source_project != source_repo:
        raise UsageError("give source_project or source_repo, not both")
    source_project = source_project if source_project is not None else source_repo
    target_project = target_project if target_project is not None else target_repo

    registry = Registry.open(target_project)
    name: str | None = None
    if target is not None:
        if registry.bare:
            raise RegistryError(
                f"{registry.root} is a bare repository: write links in a clone (mr promote commits to bare registries)"
            )
        if target_project is None:
            # like MLEM: without a target project the target is a path from here
            target = os.path.relpath(os.path.abspath(target), registry.root)
        name = link_name(target)
        # never through a symlinked folder, never over a symlink or a FIFO
        safefs.check(registry.root, name + LINK_SUFFIX)
        if os.path.lexists(registry.path_of(name)) and not force:
            raise LinkExists(f"{name}{LINK_SUFFIX} exists; pass --force to replace it")
    if rev is not None:
        problem = git.rev_problem(rev)
        if problem:
            raise UsageError(f"--rev {rev}: {problem}")

    reader = Reader(registry.root, policy=registry.config, allow_local=allow_local, hosts=registry.config.hosts)
    spec = source_project
    if spec is not None and not is_url(spec):
        # a path from here; links record it from the registry root (or absolute)
        full = os.path.abspath(os.path.expanduser(spec))
        spec = full if absolute else os.path.relpath(full, registry.root)
    if pin and rev is None:
        rev = reader.default_branch(spec)
    found = reader.read(spec, rev, source)
    if follow_links and isinstance(found.obj, Link):
        found = reader.follow(found)
        link_type = str(found.obj.get("object_type")) if isinstance(found.obj, dict) else "link"
    elif isinstance(found.obj, Link):
        link_type = found.obj.link_type
    else:
        link_type = str(found.obj.get("object_type"))

    new = Link(
        link_type=link_type,
        path=found.path,
        project=_project_value(found.project, registry, absolute),
        rev=found.rev,
        project_field=registry.config.link_format,
    )
    if pin and found.resolved is not None:
        if found.resolved.kind == COMMIT:
            new = replace(new, rev=found.resolved.sha)
        else:
            new = pinned(new, found.resolved.sha, found.resolved.rev)
    if name is None:
        return new
    data = linkfile.dump_new(new)
    old = safefs.read_in(registry.root, name + LINK_SUFFIX)
    if old is not None:
        try:
            data = linkfile.dump_update(old, f"{name}{LINK_SUFFIX}", new)
        except LinkFileError:
            pass  # --force over a file that is no YAML mapping, or whose own params make no link: write it anew
    # checked again, and written folder by folder: nothing swapped in meanwhile is followed
    safefs.write_in(registry.root, name + LINK_SUFFIX, data)
    return linkfile.load_link(data, f"{name}{LINK_SUFFIX}", name=name)


def _project_value(project: str | None, registry: Registry, absolute: bool) -> str | None:
    """What a link file records as its project."""
    if project is None:
        return f"file://{registry.root}/" if absolute else None
    if is_url(project):
        return strip_credentials(project)
    full = os.path.normpath(os.path.join(registry.root, project))
    return full if absolute else os.path.relpath(full, registry.root)


# --- opening the registry ----------------------------------------------------------


def _open(registry: str | None, remote: str | None = None, remote_ok: bool = False) -> Registry:
    """The registry, with ``remote`` (``--remote``) checked and used for stages it lacks locally."""
    reg = Registry.open(registry, remote_ok=remote_ok)
    reg.remote_option = remote
    reg.check_remote()
    return reg


def _fetch_stage(reg: Registry, stage: str, fetch: bool | str) -> None:
    """Fetch ``stage`` before planning a commit on it: from ``fetch`` when it names a remote."""
    from mr import stagecommit

    if not fetch:
        return
    stagecommit.check_stage(reg, stage)  # before its name goes into a refspec
    remote = fetch if isinstance(fetch, str) else reg.remote
    if remote is None:
        raise UsageError("--fetch: a registry read by URL has no remote to fetch from")
    stagecommit.fetch(reg, stage, remote)


# --- show ------------------------------------------------------------------------


def show(
    registry: str | None = None,
    stage: str | None = None,
    resolve: bool = False,
    offline: bool = False,
    allow_local: bool = False,
    remote: str | None = None,
) -> ShowResult:
    """The links of the work tree (or of a stage's branch) with the kind of each rev.

    Without ``resolve`` nothing is fetched: kinds come from local projects and
    the cache, and are ``ref`` where neither knows. With ``resolve`` each
    project is fetched once and every rev resolved to its commit. The links
    of a remote registry may not name local projects unless ``allow_local``.
    A stage without a local branch is read from ``remote``'s tracking branch
    (default: ``remote:`` in ``.mr.yaml``, the upstream, else origin).
    """
    from mr.reader import Reader

    reg = _open(registry, remote, remote_ok=True)
    links, bad = reg.links(stage)
    # a stage's links are read as that stage's own .mr.yaml says (hosts:)
    config = reg.stage_config(stage) if stage is not None else reg.config
    reader = Reader(
        reg.root,
        fetch=resolve and not offline,
        untrusted_root=reg.untrusted,
        allow_local=allow_local,
        hosts=config.hosts,
    )
    problems = [Problem(e.file, e.line, e.detail) for e in bad]
    entries: list[LinkEntry] = []
    for item in links:
        kind, sha = _kind(reader, reg, item, stage, resolve, problems)
        entries.append(LinkEntry(name=item.name or "", link=item, kind=kind, sha=sha))
    return ShowResult(
        registry=reg.display,
        # a bare registry has no work tree: what was shown is HEAD's branch
        stage=stage if stage is not None or not reg.bare else git.head_branch(reg.repo),
        entries=tuple(sorted(entries, key=lambda e: e.name)),
        problems=tuple(problems),
        notes=tuple(reg.notes),
    )


def _kind(
    reader: Reader, reg: Registry, item: Link, stage: str | None, resolve: bool, problems: list[Problem]
) -> tuple[RevKind, str | None]:
    rev = item.rev
    try:
        reader.check_local(item.project, None, item.file or item.name or "")
    except MrError as e:
        # never looked at, not even whether such a repository exists here;
        # only a command asked to resolve says so
        if resolve:
            problems.append(Problem(item.file or "", item.line_of(item.project_field), e.message))
        return PIN if item.is_pinned else REF, item.rev if item.is_pinned else None
    if rev is None and item.project is None:
        # an alias into the registry itself, at whatever the registry holds
        if resolve:
            branch = stage or git.head_branch(reg.repo)
            sha = reg.find_stage(branch) if branch else None
            return BRANCH, sha
        return BRANCH, None
    if resolve:
        try:
            resolved = reader.resolve(item.project, rev or reader.default_branch(item.project))
        except MrError as e:
            problems.append(Problem(item.file or "", item.line_of("rev") or item.line_of("project"), e.message))
        else:
            kind = PIN if item.is_pinned and resolved.kind == COMMIT else resolved.kind
            return kind, resolved.sha
    if item.is_pinned:
        return PIN, item.rev
    if rev is None:
        return BRANCH, None
    if is_full_sha(rev):
        return COMMIT, rev
    local = reader.projects.cached(item.project) if item.project else None
    if item.project is None:
        found = git.kind_of(reg.repo, rev)
    else:
        found = local.kind_of(rev) if local is not None else None
    return found or REF, None


# --- verify -------------------------------------------------------------------------


def verify(
    files: list[str] | None = None,
    registry: str | None = None,
    stage: str | None = None,
    offline: bool = False,
    jobs: int = 8,
    progress: Callable[[str, int, int], None] | None = None,
    allow_local: bool = False,
    artifacts: bool = False,
    remote: str | None = None,
    policy_stage: str | None = None,
) -> VerifyReport:
    """Check that links resolve, and that they meet the registry's policy.

    ``files`` (paths from the current directory, as pre-commit passes them)
    checks exactly those; else every link of the work tree, or of ``stage``'s
    branch. Each distinct project is opened or fetched once, ``jobs`` at a
    time; ``offline`` uses only the cache. ``progress(phase, done, total)``
    is called as projects are fetched and links checked. Every hop of a
    chain meets ``allowed_sources`` and the credential rule; a remote
    registry (or a remote source) may not name local projects unless
    ``allow_local``.

    ``artifacts`` also checks that each target's git-held artifacts exist at
    the rev with the size its meta records (and md5, for blobs a partial cache
    had to fetch to learn the size); see ``mr.get.verify_problems``.

    A ``stage`` with neither a local nor a remote-tracking branch (a CI
    checkout of one branch) is fetched from the registry's remote, that
    branch only, unless ``offline``. Checking the work tree, the policy of
    ``policy_stage`` applies, else of the checked-out branch when it is a
    stage, else of the stage a CI job merges into (``GITHUB_BASE_REF``,
    ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``).
    """
    from mr import checks
    from mr.reader import Reader, verify_target

    reg = _open(registry, remote, remote_ok=True)
    if stage is not None:
        if policy_stage is not None:
            raise UsageError("--policy-stage goes with the work tree; --stage applies that stage's own policy")
        if reg.find_stage(stage) is None:
            _fetch_missing_stage(reg, stage, offline)
        config = reg.stage_config(stage)
        applied: str | None = stage
        alias_rev: str | None = reg.stage_tip(stage)
    else:
        head = git.head_branch(reg.repo)
        applied = _policy_stage(reg, head, policy_stage)
        config = reg.config
        if applied is not None and applied != head and reg.find_stage(applied) is not None:
            # the stage a change is headed for decides its policy, as that stage's branch has it
            config = reg.stage_config(applied)
        alias_rev = git.branch_tip(reg.repo, head) if reg.bare and head else None
    policy_stage = applied

    results: dict[int, LinkCheck] = {}
    pending: list[tuple[int, Link]] = []
    for i, (shown, name, data) in enumerate(_verify_inputs(reg, files, stage)):
        if data is None:
            results[i] = LinkCheck(shown, name, ERROR, (Problem(shown, None, "no such file"),))
            continue
        if isinstance(data, str):
            results[i] = LinkCheck(shown, name, ERROR, (Problem(shown, None, data),))
            continue
        try:
            obj = linkfile.load(data, shown, name=name)
        except LinkFileError as e:
            results[i] = LinkCheck(shown, name, ERROR, (Problem(e.file, e.line, e.detail),))
            continue
        if not isinstance(obj, Link):
            results[i] = LinkCheck(shown, name, SKIPPED)
            continue
        pending.append((i, obj))

    reader = Reader(
        reg.root,
        fetch=not offline,
        alias_rev=alias_rev,
        policy=config,
        untrusted_root=reg.untrusted,
        allow_local=allow_local,
        hosts=config.hosts,
    )
    # a local project a remote registry names is never opened (not even to say it is missing)
    specs = sorted(
        {item.project for _, item in pending if item.project is not None and not _untrusted_local(reader, item.project)}
    )
    fetched = 0

    def fetched_one(spec: str) -> None:
        nonlocal fetched
        fetched += 1
        if progress is not None:
            progress("projects", fetched, len(specs))

    failed = reader.projects.open_all(specs, jobs, fetched_one)
    # one fetch per project for the meta files the links name (a partial
    # cache has their trees, not their contents)
    wanted: dict[str, list[tuple[str | None, str]]] = {}
    for _, item in pending:
        if item.project is not None and item.project not in failed:
            wanted.setdefault(item.project, []).append((item.rev, item.path))
    reader.projects.prefetch(wanted, jobs)
    for n, (i, item) in enumerate(pending):
        problems = checks.policy_problems(item, config, policy_stage)
        sha = None
        if item.project in failed:
            problems.append(checks.problem(item, f"cannot check: {failed[item.project]}", item.project_field))
        else:
            sha, found = verify_target(reader, item, problems)
            if artifacts and found is not None and not any(p.severity == ERROR for p in problems):
                problems.extend(_artifact_problems(reader, reg, item, found, alias_rev))
        status: CheckStatus = ERROR if any(p.severity == ERROR for p in problems) else WARNING if problems else OK
        results[i] = LinkCheck(item.file or "", item.name, status, tuple(problems), sha)
        if progress is not None:
            progress("links", n + 1, len(pending))
    return VerifyReport(
        registry=reg.display,
        stage=stage,
        checks=tuple(results[i] for i in sorted(results)),
        unchecked=tuple(redact(s) for s in sorted(failed)),
        notes=tuple(reg.notes),
        policy_stage=policy_stage,
    )


def _untrusted_local(reader: Reader, project: str) -> bool:
    try:
        reader.check_local(project, None, "")
    except MrError:
        return True
    return False


def _artifact_problems(reader: Reader, reg: Registry, item: Link, found: Found, alias_rev: str | None) -> list[Problem]:
    from mr import checks
    from mr.get import verify_problems

    if alias_rev is None and item.is_stage_alias:
        head = git.head_branch(reg.repo)
        alias_rev = git.branch_tip(reg.repo, head) if head else None
    try:
        found_problems = verify_problems(reader, reg, found, alias_rev)
    except MrError as e:
        found_problems = [(ERROR, f"artifacts not checked: {e.message}")]
    return [checks.problem(item, message, "path", severity) for severity, message in found_problems]


#: CI variables naming the branch a change is merged into, read for a detached HEAD.
CI_TARGET_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")


def _policy_stage(reg: Registry, head: str | None, given: str | None) -> str | None:
    """Whose policy checks the work tree: ``--policy-stage``, HEAD's stage, else the CI's target branch."""
    stages = reg.config.stages
    if given is not None:
        if given not in stages:
            raise UsageError(f"--policy-stage {given}: not a stage (stages: {', '.join(stages)})")
        return given
    if head in stages:
        return head
    for var in CI_TARGET_VARIABLES:
        value = os.environ.get(var, "").strip()
        if value in stages:
            return value
    return None


def _fetch_missing_stage(reg: Registry, stage: str, offline: bool) -> None:
    """Fetch a stage that is neither local nor remote-tracking (a single-branch CI checkout)."""
    from mr import stagecommit
    from mr.config import stage_problem

    problem = stage_problem(stage)
    if problem:
        raise UsageError(f"--stage {stage!r}: {problem}")
    remote = reg.remote
    if remote is None or remote not in git.remotes(reg.repo):
        raise RegistryError(reg.missing_stage(stage))
    if offline:
        raise RegistryError(f"{reg.missing_stage(stage)} (--offline fetches nothing)")
    if stagecommit.fetch(reg, stage, remote) is None:
        raise RegistryError(f"no branch {stage} here or on {remote}; is {stage} a stage of this registry?")


def _verify_inputs(
    reg: Registry, files: list[str] | None, stage: str | None
) -> list[tuple[str, str | None, bytes | str | None]]:
    """``(file as shown, link name, content)`` of every file to check.

    The content is None when the file is missing, and a message (str) when it
    is no regular file (a symlink, a FIFO): such a file is never read.
    """
    out: list[tuple[str, str | None, bytes | str | None]] = []
    if files is None:
        regular, unsafe = reg.entries(stage)
        for rel, what in unsafe:
            out.append(
                (f"{stage}:{rel}" if stage else rel, rel[: -len(LINK_SUFFIX)], f"{what}; mr never reads or follows it")
            )
        out += [(f"{stage}:{rel}" if stage else rel, rel[: -len(LINK_SUFFIX)], data) for rel, data in regular]
        return sorted(out, key=lambda x: x[0])
    for f in files:
        full = os.path.abspath(f)
        rel = os.path.relpath(full, reg.root).replace(os.sep, "/")
        inside = not (rel == ".." or rel.startswith("../"))
        name = rel[: -len(LINK_SUFFIX)] if rel.endswith(LINK_SUFFIX) and inside else None
        data: bytes | str | None
        try:
            if inside:
                safefs.check(reg.root, rel)
                data = safefs.read_file(reg.root, rel, f)
            else:
                data = safefs.read_regular(full, f)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            data = None
        except UnsafePath as e:
            data = e.detail if e.path in (rel, f) else e.message
        except MrError as e:
            data = e.message
        out.append((f, name, data))
    return out


# --- promote --------------------------------------------------------------------------


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
    from mr import promotion

    reg = _open(registry, remote)
    _fetch_stage(reg, to, fetch)
    return promotion.plan(reg, names, to, source, pin, message, verify)


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
    from mr import promotion, stagecommit

    reg = _open(registry, remote)
    if isinstance(names, promotion.Promotion):
        planned = names
        if push is None:
            _fetch_stage(reg, planned.stage, fetch)  # made by another call: fetch for this one
    else:
        if to is None:
            raise UsageError("say which stage to promote to")
        _fetch_stage(reg, to, push or fetch)
        planned = promotion.plan(reg, names, to, source, pin, message, verify)
    return stagecommit.land(
        reg, planned, lambda p: promotion.replan(reg, p), push=push, branch=branch, force=force, sign=sign
    )


# --- rollback and retire ---------------------------------------------------------------


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
    from mr import lifecycle

    reg = _open(registry, remote)
    _fetch_stage(reg, stage, fetch)
    return lifecycle.plan_rollback(reg, names, stage, to, steps, message, verify)


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
    from mr import lifecycle, stagecommit

    reg = _open(registry, remote)
    if isinstance(names, lifecycle.Rollback):
        planned = names
        if push is None:
            _fetch_stage(reg, planned.stage, fetch)  # made by another call: fetch for this one
    else:
        if stage is None:
            raise UsageError("say which stage to roll back on")
        _fetch_stage(reg, stage, push or fetch)
        planned = lifecycle.plan_rollback(reg, names, stage, to, steps, message, verify)
    return stagecommit.land(
        reg, planned, lambda p: lifecycle.rebase_rollback(reg, p), push=push, branch=branch, force=force, sign=sign
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
    from mr import lifecycle

    reg = _open(registry, remote)
    _fetch_stage(reg, stage, fetch)
    return lifecycle.plan_retirement(reg, names, stage, message, verify)


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
    from mr import lifecycle, stagecommit

    reg = _open(registry, remote)
    if isinstance(names, lifecycle.Retirement):
        planned = names
        if push is None:
            _fetch_stage(reg, planned.stage, fetch)  # made by another call: fetch for this one
    else:
        if stage is None:
            raise UsageError("say which stage to retire from")
        _fetch_stage(reg, stage, push or fetch)
        planned = lifecycle.plan_retirement(reg, names, stage, message, verify)
    return stagecommit.land(
        reg, planned, lambda p: lifecycle.rebase_retirement(reg, p), push=push, branch=branch, force=force, sign=sign
    )


# --- stage views ----------------------------------------------------------------------


def stage_matrix(registry: str | None = None, remote: str | None = None) -> Matrix:
    """Every link against every stage: the link each stage branch holds, or None."""
    from mr import stages

    return stages.matrix(_open(registry, remote, remote_ok=True))


def stage_diff(source: str, target: str, registry: str | None = None, remote: str | None = None) -> StageDiff:
    """Links added, removed and changed from stage ``source`` to stage ``target``, field by field."""
    from mr import stages

    return stages.diff(_open(registry, remote, remote_ok=True), source, target)


def link_history(name: str, registry: str | None = None, remote: str | None = None) -> LinkHistory:
    """A link on each stage, and every commit that changed it on a stage branch, newest first.

    Each entry says what kind of change it was (promotion, rollback,
    retirement, from the commit's trailers; direct change without them) and
    the link's rev before and after.
    """
    from mr import stages

    return stages.history(_open(registry, remote, remote_ok=True), name)


#: What ``mr show NAME --field`` can print.
FIELDS = SHOW_FIELDS


def link_field(
    name: str,
    field: str,
    stage: str | None = None,
    registry: str | None = None,
    remote: str | None = None,
    allow_local: bool = False,
) -> str:
    """One value of a link, for scripts: rev, sha (the resolved commit), project, path, url or type.

    ``url`` is the project's URL with credentials removed (``file://`` and an
    absolute path for a local project). Raises ``MrError`` when the link or
    the stage is missing, or (for ``sha``) the rev does not resolve. A
    project is read with the ``hosts:`` of the stage's own ``.mr.yaml``; a
    remote registry's link may not name a local project unless ``allow_local``.
    """
    from mr.reader import Reader

    if field not in FIELDS:
        raise UsageError(f"--field {field}: one of {', '.join(FIELDS)}")
    reg = _open(registry, remote, remote_ok=True)
    item = reg.read_link(name, stage)
    if field == "type":
        return item.link_type
    if field == "path":
        return item.path
    if field in ("project", "url"):
        if item.project is None:
            location = reg.root
        elif is_url(item.project):
            location = strip_credentials(item.project)
        else:
            location = os.path.normpath(os.path.join(reg.root, item.project))
        if field == "project":
            return strip_credentials(item.project) if item.project else reg.root
        return location if is_url(location) else f"file://{location}"
    alias_rev = reg.stage_tip(stage) if stage else None
    config = reg.stage_config(stage) if stage else reg.config
    reader = Reader(
        reg.root, alias_rev=alias_rev, hosts=config.hosts, untrusted_root=reg.untrusted, allow_local=allow_local
    )
    reader.check_local(item.project, None, item.file or name)
    if field == "rev":
        if item.rev or item.project:
            return item.rev or reader.default_branch(item.project)
        # an alias: it means whatever its stage (or the current branch) holds
        branch = stage or git.head_branch(reg.repo)
        if branch is None:
            raise RegistryError("HEAD is detached: say which stage with --stage")
        return branch
    rev = item.rev or (reader.default_branch(item.project) if item.project else alias_rev)
    if rev is None:
        branch = git.head_branch(reg.repo)
        rev = reg.find_stage(branch) if branch else None
        if rev is None:
            raise RegistryError("the registry has no commit to resolve this alias at")
    return reader.resolve(item.project, rev).sha


def outdated(
    stage: str | None = None,
    registry: str | None = None,
    offline: bool = False,
    jobs: int = 8,
    allow_local: bool = False,
    remote: str | None = None,
) -> OutdatedReport:
    """Links whose source has moved on: branch tips past the commit recorded at promotion,
    pins whose branch has advanced, tags with newer version tags. Each project is fetched once."""
    from mr import outdated as od

    return od.outdated(
        _open(registry, remote, remote_ok=True), stage, offline=offline, jobs=jobs, allow_local=allow_local
    )


# --- get ---------------------------------------------------------------------------------


def get(
    name: str,
    stage: str | None = None,
    out: str | None = None,
    registry: str | None = None,
    force: bool = False,
    allow_local: bool = False,
) -> GetResult:
    """Write the object link ``name`` resolves to into the folder ``out`` (default: ``./NAME``'s last part).

    The link is read from the work tree, or from ``stage``'s branch, and
    followed to its object. The object's meta and every artifact git holds
    for it are written as they are at the resolved commit, each checked
    against the size and md5 the meta records, with a receipt
    ``.mr-get.json``. All or nothing: ``ArtifactsRefused`` (one line per
    file) and nothing written when any file is missing, differs or is unsafe.
    An existing folder is replaced only with ``force``. Artifacts outside git
    (``s3://`` ...) are listed in ``GetResult.external``, not fetched.
    The links of a remote registry may not name local projects unless
    ``allow_local``.
    """
    from mr import get as getting

    return getting.get(name, stage=stage, out=out, registry=registry, force=force, allow_local=allow_local)


def check_get(folder: str) -> CheckResult:
    """Re-verify a folder ``mr get`` wrote against its receipt: changed, missing and extra files."""
    from mr import get as getting

    return getting.check(folder)
