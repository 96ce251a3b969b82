"""``mr promote``: plan a promotion, then commit it onto the target stage.

A plan reads everything from git (the source stage's links, the target
stage's files and policy) and computes the new file contents; applying it
makes one commit on the target branch, built in memory, and moves the branch
by compare-and-swap. When another process moved the branch first, the plan
is rebuilt on the new tip and applied again.
"""
from __future__ import annotations

import difflib
import os
import random
import re
import time
from dataclasses import dataclass, replace

from mr import git, linkfile, safefs
from mr.errors import GitError, LinkFileError, MrError, RefMoved, RegistryError, UsageError
from mr.model import LINK_SUFFIX, TRAILER_FROM, TRAILER_LINK, TRAILER_REV, Link, Problem, is_full_sha, pinned
from mr.registry import Registry, link_name

#: How many times a promotion is rebuilt when the branch moved under it.
ATTEMPTS = 8



class PromotionRefused(MrError):
    """A link failed its checks; nothing was promoted."""

    def __init__(self, message: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class PromotedLink:
    name: str
    #: the link as it will be on the target stage
    link: Link
    #: the commit its rev resolved to (None with --no-verify and no pin)
    sha: str | None
    #: the file's content on the target stage before and after (None: absent)
    old: bytes | None
    new: bytes

    @property
    def path(self) -> str:
        return self.name + LINK_SUFFIX

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def diff(self, to: str) -> str:
        before = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        after = self.new.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(
            difflib.unified_diff(
                before,
                after,
                fromfile=f"{to}:{self.path}" if self.old is not None else "/dev/null",
                tofile=f"{to}:{self.path}",
            )
        )


@dataclass(frozen=True)
class Promotion:
    """A planned promotion: what would change on the target stage."""

    to: str
    source: str
    source_sha: str
    #: the target branch tip the plan was computed against
    base: str
    links: tuple[PromotedLink, ...]
    message: str
    #: what was asked, so the plan can be made again on a moved branch
    request: tuple[tuple[str, ...], bool | None, str | None, bool] = ((), None, None, True)

    @property
    def changes(self) -> tuple[PromotedLink, ...]:
        return tuple(p for p in self.links if p.changed)


@dataclass(frozen=True)
class PromotionResult:
    promotion: Promotion
    #: the new commit on the target branch, None when there was nothing to change
    commit: str | None
    worktree_updated: bool = False
    pushed_to: str | None = None
    #: the review branch the commit was put on instead of the stage, if any
    branch: str | None = None
    #: where to open a merge request for that branch, when the remote is a known host
    review_url: str | None = None


def review_branch_name(promotion: Promotion) -> str:
    """``promote/<stage>/<link>+<link>``, made safe for git."""
    names = "+".join(p.name.replace("/", "-") for p in promotion.changes) or "links"
    raw = f"promote/{promotion.to}/{names}"
    safe = re.sub(r"[^A-Za-z0-9._/+-]+", "-", raw)
    safe = re.sub(r"\.{2,}|/\.|\.lock(?=/|$)|@\{", "-", safe)
    safe = re.sub(r"/{2,}", "/", safe).strip("/.-")
    return safe[:120].rstrip("/.-")


def apply_to_branch(reg: Registry, promotion: Promotion, branch: str | None, force: bool = False) -> PromotionResult:
    """Put the promotion commit on a new branch from the stage's tip, for review; the stage stays."""
    if not promotion.changes:
        return PromotionResult(promotion, None)
    name = branch or review_branch_name(promotion)
    if name in reg.config.stages or name == promotion.to:
        raise UsageError(f"--branch {name}: that is a stage; a review branch must be a new branch")
    checked_out = git.checked_out_branches(reg.repo)
    if name in checked_out:
        raise UsageError(f"--branch {name}: that branch is checked out in {checked_out[name]}")
    files = {p.path: p.new for p in promotion.changes}
    commit = git.commit_on_new_branch(reg.repo, name, promotion.base, files, promotion.message, force=force)
    return PromotionResult(promotion, commit, branch=name)


def merge_request_url(remote_url: str, branch: str, target: str) -> str | None:
    """Where GitHub or GitLab opens a merge request from ``branch`` into ``target``."""
    from urllib.parse import quote

    from mr.urls import strip_credentials

    url = strip_credentials(remote_url)
    m = re.match(r"^(?:https?://|ssh://(?:[^@/]+@)?|git@)(?P<host>[^/:]+)(?::\d+)?[:/](?P<path>.+?)(?:\.git)?/?$", url)
    if not m:
        return None
    host, path = m.group("host"), m.group("path")
    if host == "github.com" or host.startswith("github."):
        return f"https://{host}/{path}/compare/{quote(target)}...{quote(branch, safe='/')}?expand=1"
    if "gitlab" in host:
        return (
            f"https://{host}/{path}/-/merge_requests/new?"
            f"merge_request%5Bsource_branch%5D={quote(branch, safe='')}"
            f"&merge_request%5Btarget_branch%5D={quote(target, safe='')}"
        )
    return None


def plan(
    reg: Registry,
    names: list[str],
    to: str,
    source: str | None = None,
    pin: bool | None = None,
    message: str | None = None,
    verify: bool = True,
) -> Promotion:
    """Work out what promoting ``names`` onto ``to`` changes; change nothing."""
    from mr.reader import Reader, verify_target
    from mr import checks

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
    base = _tip(reg, to)
    source_sha = _tip(reg, source)
    target_config = reg.stage_config(to)
    must_pin = target_config.stage_policy(to).require_pinned
    do_pin = must_pin if pin is None else pin

    reader = Reader(reg.root, policy=target_config)
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
            raise RegistryError(f"no link {name} on {source}")
        link = linkfile.load_link(data, f"{source}:{path}", name=name)
        old = git.read_at(reg.repo, base, path, where=to)
        if link.project is None and link.rev is None:
            # an alias points into the registry itself: it is checked below,
            # against the target stage as this promotion leaves it, and never
            # pinned (the stage branch that holds it fixes what it means)
            aliases.append((len(promoted), link))
            promoted.append(PromotedLink(name, link, None, old, _content(old, data, path, link, to)))
            continue
        found: list[Problem] = []
        sha = None
        if verify or do_pin:
            sha, _ = verify_target(reader, link, found)
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
        promoted.append(PromotedLink(name, new_link, sha, old, _content(old, data, path, new_link, to)))
    if aliases and verify:
        overlay = {p.path: p.new for p in promoted}
        on_target = Reader(reg.root, alias_rev=base, overlay=overlay, alias_label=to, policy=target_config)
        for _, link in aliases:
            verify_target(on_target, link, problems)
            problems.extend(checks.policy_problems(link, target_config, to))
    errors = tuple(p for p in problems if p.severity == "error")
    if errors:
        raise PromotionRefused(f"nothing promoted: {len(errors)} problem(s) with the links", errors)
    text = _message(promoted, source, source_sha, to, message)
    request = (tuple(names), pin, message, verify)
    return Promotion(to, source, source_sha, base, tuple(promoted), text, request)


def _tip(reg: Registry, branch: str) -> str:
    sha = git.branch_tip(reg.repo, branch)
    if sha is None:
        raise RegistryError(f"no branch {branch}; 'mr init' creates the branches of every stage in .mr.yaml")
    return sha


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


def _message(links: list[PromotedLink], source: str, source_sha: str, to: str, extra: str | None) -> str:
    names = ", ".join(p.name for p in links)
    lines = [f"Promote {names} to {to}", ""]
    if extra:
        lines += [extra.strip(), ""]
    lines.append(f"{TRAILER_FROM}: {source} {source_sha}")
    for p in links:
        lines.append(f"{TRAILER_LINK}: {p.name}")
        if p.link.project is None and p.link.rev is None:
            lines.append(f"{TRAILER_REV}: (alias) -")
            continue
        rev = p.link.pinned_from or p.link.rev or "(default branch)"
        lines.append(f"{TRAILER_REV}: {rev} {p.sha or '-'}")
    return "\n".join(lines) + "\n"


def _dirty(reg: Registry, promotion: Promotion) -> list[str]:
    """Files the promotion would touch that differ, in the work tree or index, from the branch tip."""
    return [p.path for p in promotion.changes if not git.is_clean(reg.repo, p.path)]


def apply(reg: Registry, first: Promotion) -> PromotionResult:
    """Commit the plan ``first``; when the branch moved, plan again on its new tip."""
    promotion = first
    for attempt in range(ATTEMPTS):
        if not promotion.changes:
            return PromotionResult(promotion, None)
        to = promotion.to
        where = git.checked_out_branches(reg.repo).get(to)
        checked_out = where is not None and not reg.bare and os.path.samefile(where, reg.root)
        if where is not None and not checked_out:
            raise RegistryError(
                f"{to} is checked out in the work tree {where}; promote from there, "
                "or check out another branch in it"
            )
        if checked_out:
            dirty = _dirty(reg, promotion)
            if dirty:
                raise RegistryError(
                    f"{', '.join(dirty)}: uncommitted changes on {to}, which is checked out; "
                    "commit or stash them first"
                )
            for p in promotion.changes:
                safefs.check(reg.root, p.path)  # never write through a symlink in the work tree
        files = {p.path: p.new for p in promotion.changes}
        try:
            commit = git.commit_files(reg.repo, to, files, promotion.message, expect=promotion.base, create=False)
        except RefMoved:
            # someone else promoted first: wait a little (so racing writers
            # spread out), then plan again on the branch as it is now
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            names, pin, message, verify = promotion.request
            promotion = plan(reg, list(names), to, promotion.source, pin, message, verify)
            continue
        if checked_out:
            try:
                git.update_worktree(reg.repo, files)
            except GitError as e:
                raise GitError(f"promoted to {to} (commit {commit[:12]}), but {e.message}") from None
        return PromotionResult(promotion, commit, worktree_updated=checked_out)
    lock = os.path.join(reg.repo.path, "refs", "heads", *first.to.split("/")) + ".lock"
    if os.path.exists(lock):
        raise GitError(
            f"{lock} exists: another git process is updating {first.to}, or one crashed; "
            "if none is running, remove the file and try again"
        )
    raise GitError(f"{first.to} kept moving while promoting ({ATTEMPTS} attempts); try again")
