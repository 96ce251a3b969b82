"""``mr verify``: every link resolves, and meets its stage's policy."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from mr import git, safefs
from mr.config import CONFIG_FILE, StagePolicy
from mr.errors import LinkFileError, MrError, RegistryError, UnsafePath, UsageError
from mr.model import (
    ERROR,
    LINK_SUFFIX,
    OK,
    SKIPPED,
    WARNING,
    CheckStatus,
    Link,
    Problem,
)
from mr.registry import Registry
from mr.results import LinkCheck, VerifyReport
from mr.urls import redact

if TYPE_CHECKING:
    from mr.reader import Found, Reader


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
    ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``), else of the branch a CI pipeline
    runs on (``GITHUB_REF_NAME`` for a branch, ``CI_COMMIT_BRANCH``). The
    report names the policy applied and where it came from.
    """
    reg = Registry.open(registry, remote_ok=True, remote=remote)
    return _verify(reg, files, stage, offline, jobs, progress, allow_local, artifacts, policy_stage)


def _verify(
    reg: Registry,
    files: list[str] | None,
    stage: str | None,
    offline: bool,
    jobs: int,
    progress: Callable[[str, int, int], None] | None,
    allow_local: bool,
    artifacts: bool,
    policy_stage: str | None,
    stage_from: str = "--stage",
) -> VerifyReport:
    from mr import checks
    from mr.reader import verify_target

    if stage is not None:
        if policy_stage is not None:
            raise UsageError("--policy-stage goes with the work tree; --stage applies that stage's own policy")
        if reg.find_stage(stage) is None:
            _fetch_missing_stage(reg, stage, offline)
        applied: str | None = stage
        applied_from: str | None = stage_from
        view = reg.view(stage)
    else:
        head = git.head_branch(reg.repo)
        applied, applied_from = _policy_stage(reg, head, policy_stage)
        # the stage a change is headed for decides its policy, as that stage's branch has it
        headed = applied if applied is not None and applied != head and reg.find_stage(applied) is not None else None
        view = reg.view(None, policy_of=headed)
    config = view.config
    alias_rev = view.commit
    policy_stage = applied

    results: dict[int, LinkCheck] = {}
    pending: list[tuple[int, Link]] = []
    inputs = _verify_inputs(reg, files, stage)
    kept = reg.kept_links(len(inputs))
    for i, (shown, name, data) in enumerate(inputs):
        if data is None:
            results[i] = LinkCheck(shown, name, ERROR, (Problem(shown, None, "no such file"),))
            continue
        if isinstance(data, str):
            results[i] = LinkCheck(shown, name, ERROR, (Problem(shown, None, data),))
            continue
        try:
            obj = kept.load_file(data, shown, name=name)
        except LinkFileError as e:
            results[i] = LinkCheck(shown, name, ERROR, (Problem(e.file, e.line, e.detail),))
            continue
        if not isinstance(obj, Link):
            results[i] = LinkCheck(shown, name, SKIPPED)
            continue
        pending.append((i, obj))
    kept.save()

    reader = view.reader(fetch=not offline, allow_local=allow_local)
    # a local project a remote registry names is never opened (not even to say it is missing)
    # and one outside allowed_sources is never contacted: its policy problem says why
    specs = sorted(
        {
            item.project
            for _, item in pending
            if item.project is not None
            and not _untrusted_local(reader, item.project)
            and reader.projects.refusal(item.project) is None
        }
    )
    fetched = 0

    def fetched_one(spec: str) -> None:
        nonlocal fetched
        fetched += 1
        if progress is not None:
            progress("projects", fetched, len(specs))

    failed = reader.projects.open_all(specs, jobs, fetched_one)
    checked_bytes = 0

    def hashed(n: int) -> None:
        # artifacts read back and hashed (verify --artifacts): a total is not known up front
        nonlocal checked_bytes
        checked_bytes += n
        if progress is not None:
            progress("artifacts", checked_bytes, 0)

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
        elif item.project is not None and reader.projects.refusal(item.project) is not None:
            pass  # not contacted: policy_problems above names the reason
        else:
            sha, found = verify_target(reader, item, problems)
            if artifacts and found is not None and not any(p.severity == ERROR for p in problems):
                problems.extend(_artifact_problems(reader, reg, item, found, alias_rev, hashed))
        status: CheckStatus = ERROR if any(p.severity == ERROR for p in problems) else WARNING if problems else OK
        results[i] = LinkCheck(item.file or "", item.name, status, tuple(problems), sha)
        if progress is not None:
            progress("links", n + 1, len(pending))
    checked = [results[i] for i in sorted(results)]
    if stage is not None and view.commit is not None and config.stage_policy(stage).require_signed:
        from mr import signedstages
        from mr.errors import SignatureRefused

        try:
            signedstages.check(reg, stage, view.commit, history=True)
        except SignatureRefused as e:
            checked.append(LinkCheck(stage, None, ERROR, (Problem(stage, None, e.message),)))
    if stage is not None and view.commit is not None and config.stage_policy(stage).promote_from is not None:
        checked.extend(_order_breaks(reg, stage, view.commit))
    return VerifyReport(
        registry=reg.display,
        stage=stage,
        checks=tuple(checked),
        unchecked=tuple(redact(s) for s in sorted(failed)),
        notes=(*reg.notes, *reader.projects.notes),
        read_from=reg.copies(),
        policy_stage=policy_stage,
        policy_from=applied_from,
    )


def _order_breaks(reg: Registry, stage: str, tip: str) -> list[LinkCheck]:
    """Promotions onto ``stage`` whose ``Mr-From`` breaks the stage order (``policy.STAGE.from``).

    Each commit is judged by the policy of its parent (a commit cannot lift the rule for itself),
    back along the stage's first parents to where the rule was not yet in force.
    """
    from mr.config import load_config
    from mr.model import SHORT_SHA, TRAILER_ACTION, TRAILER_FROM
    from mr.trailers import parse_trailers

    policies: dict[str | None, StagePolicy] = {}

    def policy_at(commit: str) -> StagePolicy:
        oid = git.blob_at(reg.repo, commit, CONFIG_FILE)
        if oid not in policies:
            data = None if oid is None else git.read_blob(reg.repo, oid)
            try:
                policies[oid] = load_config(data, f"{commit[:SHORT_SHA]}:{CONFIG_FILE}").stage_policy(stage)
            except LinkFileError:
                policies[oid] = StagePolicy()  # an unreadable policy sets no order
        return policies[oid]

    out: list[LinkCheck] = []
    walk = list(git.first_parents(reg.repo, tip))
    for commit, parent in zip(walk, [*walk[1:], None], strict=True):
        if parent is None:
            break
        rule = policy_at(parent)
        if rule.promote_from is None:
            break  # before the order was policy
        message = git.message_of(reg.repo, commit)
        trailers = dict(parse_trailers(message))
        if TRAILER_ACTION in trailers or TRAILER_FROM not in trailers:
            continue  # not a promotion
        source = (trailers[TRAILER_FROM].split() or ["?"])[0]
        problem = rule.order_problem(stage, source)
        if problem:
            where = f"{stage}@{commit[:SHORT_SHA]}"
            said = f"commit {commit[:SHORT_SHA]} promoted from {source}: {problem}"
            out.append(LinkCheck(where, None, ERROR, (Problem(where, None, said),)))
    return out


def _untrusted_local(reader: Reader, project: str) -> bool:
    try:
        reader.check_local(project, None, "")
    except MrError:
        return True
    return False


def _artifact_problems(
    reader: Reader,
    reg: Registry,
    item: Link,
    found: Found,
    alias_rev: str | None,
    on_chunk: Callable[[int], None] | None = None,
) -> list[Problem]:
    from mr import checks
    from mr.objectfiles import verify_problems

    if alias_rev is None and item.is_stage_alias:
        head = git.head_branch(reg.repo)
        alias_rev = git.branch_tip(reg.repo, head) if head else None
    try:
        found_problems = verify_problems(reader, reg, found, alias_rev, on_chunk)
    except MrError as e:
        found_problems = [(ERROR, f"artifacts not checked: {e.message}")]
    return [checks.problem(item, message, "path", severity) for severity, message in found_problems]


#: CI variables naming the branch a change is merged into (merge and pull requests), asked first.
CI_TARGET_VARIABLES = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
#: CI variables naming the branch a pipeline runs on (branch pipelines), asked next.
CI_BRANCH_VARIABLES = ("GITHUB_REF_NAME", "CI_COMMIT_BRANCH")


def _policy_stage(reg: Registry, head: str | None, given: str | None) -> tuple[str | None, str | None]:
    """Whose policy checks the work tree, and where that came from.

    ``--policy-stage``, then the checked-out branch when it is a stage, then
    the branch a CI job merges into, then the branch a CI pipeline runs on
    (``GITHUB_REF_NAME`` only when ``GITHUB_REF_TYPE`` is ``branch``).
    """
    stages = reg.config.stages
    if given is not None:
        if given not in stages:
            raise UsageError(f"--policy-stage {given}: not a stage (stages: {', '.join(stages)})")
        return given, "--policy-stage"
    if head in stages:
        return head, "the checked-out branch"
    for var in (*CI_TARGET_VARIABLES, *CI_BRANCH_VARIABLES):
        if var == "GITHUB_REF_NAME" and os.environ.get("GITHUB_REF_TYPE", "").strip() != "branch":
            continue
        value = os.environ.get(var, "").strip()
        if value in stages:
            return value, var
    return None, None


def _fetch_missing_stage(reg: Registry, stage: str, offline: bool) -> None:
    """Fetch a stage that is neither local nor remote-tracking (a single-branch CI checkout)."""
    from mr.config import stage_problem

    problem = stage_problem(stage)
    if problem:
        raise UsageError(f"--stage {stage!r}: {problem}")
    remote = reg.remote
    if remote is None or remote not in git.remotes(reg.repo):
        raise RegistryError(reg.missing_stage(stage))
    if offline:
        raise RegistryError(f"{reg.missing_stage(stage)} (--offline fetches nothing)")
    from mr import stagecommit  # only here: its plan types are no part of a verify

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


#: The SHA git's hook input gives for a ref that does not exist (created, or deleted, by the push).
NO_COMMIT = "0" * 40


def pre_receive(updates: str, registry: str | None = None, offline: bool = False, jobs: int = 8) -> list[VerifyReport]:
    """Verify each stage branch tip a push would set, as git's ``pre-receive`` hook is given them.

    ``updates`` holds ``OLD NEW REF`` lines. For each branch that is a stage,
    the links at ``NEW`` are verified (the push's quarantined objects
    included) under the stage's policy as it stands (``OLD``'s ``.mr.yaml``),
    and, where the push changes ``.mr.yaml``, under the policy it brings too:
    a push cannot loosen the policy it is judged by. Deleting a stage branch
    is refused. Other refs pass.
    """
    from mr.model import is_full_sha
    from mr.terminal import field as safe_text

    reports: list[VerifyReport] = []
    for line in updates.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(is_full_sha(p) for p in parts[:2]):
            raise UsageError(f"--pre-receive: not an 'OLD NEW REF' line on standard input: {safe_text(line)}")
        old, new, ref = parts
        reg = _pushed_registry(registry)
        if not ref.startswith("refs/heads/") or ref[len("refs/heads/") :] not in reg.config.stages:
            continue
        stage = ref[len("refs/heads/") :]
        if new == NO_COMMIT:
            refused = Problem(ref, None, f"deleting the stage branch {stage} is refused")
            reports.append(VerifyReport(reg.display, stage, (LinkCheck(ref, None, ERROR, (refused,)),)))
            continue
        policies = [old] if old != NO_COMMIT else []
        if old == NO_COMMIT or git.read_at(reg.repo, old, CONFIG_FILE) != git.read_at(reg.repo, new, CONFIG_FILE):
            policies.append(new)
        for policy in policies:
            reg = _pushed_registry(registry)
            reg.read_stage_at(stage, new, f"{stage} as pushed")
            reg.judge_by(stage, policy)
            judged = "its .mr.yaml before the push" if policy == old else "its .mr.yaml as pushed"
            reports.append(_verify(reg, None, stage, offline, jobs, None, False, False, None, judged))
    return reports


def _pushed_registry(registry: str | None) -> Registry:
    """The registry a hook runs in, reading the objects a push brings (git keeps them in quarantine till it lands)."""
    reg = Registry.open(registry)
    for variable in ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"):
        path = os.environ.get(variable)
        if path and os.path.isdir(path):
            git.add_object_folder(reg.repo, path)
    return reg
