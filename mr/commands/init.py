"""``mr init``: make a folder a registry (config files, one commit, a branch per stage)."""

from __future__ import annotations

import os
import re
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
    if head is None:
        # a repository with no commits: start it where its remote's clones will look, else on the first stage
        # (git clone of an empty repository already checks out the branch its HEAD names; ls-remote
        # reports an unborn HEAD only to a clone, so a clone's own branch stands when it says nothing)
        default = _remote_default(repo, push) or (branch if git.remotes(repo) else None)
        if default is not None and default != branch:
            branch = default
            git.set_head(repo, branch)
        elif default is None and branch not in stages:
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
