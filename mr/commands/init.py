"""``mr init``: make a folder a registry (config files, one commit, a branch per stage)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from typing import TYPE_CHECKING

from mr import git, safefs
from mr.config import CONFIG_FILE, DEFAULT_STAGES, MLEM_CONFIG_FILE, check_stage_option, default_text, load_config
from mr.errors import MrError, NotPushed, RegistryError
from mr.registry import Registry
from mr.results import InitResult

if TYPE_CHECKING:
    pass


def init(path: str = ".", stages: tuple[str, ...] | list[str] | None = None, push: str | None = None) -> InitResult:
    """Make ``path`` a registry: a git repository with ``.mlem.yaml``, ``.mr.yaml`` and stage branches.

    Safe to run again: existing files are never rewritten, existing branches
    never moved. Files it creates are committed (one commit) on the current
    branch; in a repository with no commits, on the branch its remote's HEAD
    names (so clones check it out), else on the first stage's branch.
    ``push`` (a remote's name or URL) pushes that branch and every stage
    branch there in one push, each set to track it.
    """
    path = os.path.abspath(path)
    if stages:
        check_stage_option(tuple(stages))  # before anything is written
    repo = git.open_exact(path)
    made_git: str | None = None  # the repository this run made, taken back with the rest on a failure
    if repo is None:
        if os.path.exists(path) and not os.path.isdir(path):
            raise RegistryError(f"{path}: not a folder")
        if not os.path.lexists(os.path.join(path, ".git")):
            made_git = os.path.join(path, ".git")
        repo = git.init(path, (tuple(stages) if stages else DEFAULT_STAGES)[0])
    try:
        return _init(repo, path, stages, push)
    except NotPushed:
        raise  # the registry is made here; only sharing it failed
    except BaseException:
        if made_git is not None and os.path.isdir(made_git) and not os.path.islink(made_git):
            shutil.rmtree(made_git, ignore_errors=True)
        raise


def _init(repo: git.Repo, path: str, stages: tuple[str, ...] | list[str] | None, push: str | None) -> InitResult:
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
    before = _State(branch, head)
    try:
        branch, created, commit, made = _make(repo, registry, stages, branch, head, push, before)
    except BaseException:
        before.undo(repo, registry.root)
        raise
    shared = [branch, *(s for s in stages if s != branch)]
    pushed_to = None
    if push is not None:
        from mr import transport

        try:
            pushed_to = transport.push_branches(repo.path, push, [b for b in shared if git.branch_tip(repo, b)])
        except MrError as e:
            raise NotPushed(f"the registry is made here, but not pushed: {e.message}", e) from None
    return InitResult(
        path=registry.root,
        stages=stages,
        created=tuple(created),
        commit=commit,
        branches=tuple(made),
        branch=branch,
        pushed_to=pushed_to,
        share=None if push is not None else _share_hint(repo, shared),
    )


class _State:
    """What ``init`` found, and what it has done so far: on a failure, all of it is taken back."""

    def __init__(self, branch: str, tip: str | None) -> None:
        self.branch = branch
        self.tip = tip
        self.head_moved = False
        self.files: list[str] = []
        self.committed_on: str | None = None
        self.commit: str | None = None
        self.staged: list[str] = []
        self.branches: list[tuple[str, str]] = []

    def undo(self, repo: git.Repo, root: str) -> None:
        """The repository as it was: branches made deleted, the commit taken back, files and index restored."""
        for name, sha in reversed(self.branches):
            with contextlib.suppress(MrError, OSError):
                git.delete_branch(repo, name, sha)
        if self.commit is not None and self.committed_on is not None:
            with contextlib.suppress(MrError, OSError):
                if self.tip is None:
                    git.delete_branch(repo, self.committed_on, self.commit)
                else:
                    git.set_ref(repo, f"refs/heads/{self.committed_on}", self.tip, self.commit, "mr: init undone")
        if self.staged:
            with contextlib.suppress(MrError, OSError):
                git.unstage(repo, self.staged)
        for name in self.files:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(root, name))
        if self.head_moved:
            with contextlib.suppress(MrError, OSError):
                git.set_head(repo, self.branch)


def _make(
    repo: git.Repo,
    registry: Registry,
    stages: tuple[str, ...],
    branch: str,
    head: str | None,
    push: str | None,
    done: _State,
) -> tuple[str, list[str], str | None, list[str]]:
    """Write, commit and branch, recording each step in ``done``; the branch the files are on, and what was made."""
    if head is None:
        # a repository with no commits: start it where its remote's clones will look, else on the first stage
        # (git clone of an empty repository already checks out the branch its HEAD names; ls-remote
        # reports an unborn HEAD only to a clone, so a clone's own branch stands when it says nothing)
        default = _remote_default(repo, push) or (branch if git.remotes(repo) else None)
        if default is not None and default != branch:
            branch = default
            git.set_head(repo, branch)
            done.head_moved = True
        elif default is None and branch not in stages:
            branch = stages[0]
            git.set_head(repo, branch)
            done.head_moved = True

    wanted = {MLEM_CONFIG_FILE: b"", CONFIG_FILE: default_text(stages).encode()}
    created: list[str] = []
    for name, content in wanted.items():
        full = os.path.join(registry.root, name)
        safefs.check(registry.root, name)
        if not os.path.lexists(full):
            safefs.write_in(registry.root, name, content)
            created.append(name)
            done.files.append(name)
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
        done.committed_on, done.commit = branch, commit
        done.staged = [n for n in sorted(to_commit) if not git.is_tracked(repo, n)]
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
            done.branches.append((stage, start))
    return branch, created, commit, made


def _remote_default(repo: git.Repo, push: str | None) -> str | None:
    """The branch the remote's HEAD names (the one clones check out), for a repository with no commits."""
    from mr import transport

    names = git.remotes(repo)
    remote = push if push is not None else ("origin" if "origin" in names else (names[0] if names else None))
    if remote is None:
        return None
    try:
        found = transport.remote_default_branch(repo.path, remote)
    except MrError:
        return None  # unreachable now: the branch is chosen as without a remote
    if found is None or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", found) or ".." in found:
        return None
    return found


def _share_hint(repo: git.Repo, branches: list[str]) -> str:
    """The one command that shares the registry: a push of its branches, upstreams set."""
    from mr.terminal import command_line

    names = git.remotes(repo)
    remote = "origin" if "origin" in names else (names[0] if names else None)
    push = command_line("git", "push", "-u", remote or "origin", *branches) or ""
    if remote is None:
        return f"git remote add origin URL && {push}"
    return push


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
