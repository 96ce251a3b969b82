"""Values for shell completion, read straight from files.

Completion runs on every Tab: this module imports nothing heavy (no pygit2,
rich or ruamel.yaml) and reads refs and settings as plain files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

SHELLS = ("bash", "zsh", "fish")
CONFIG_NAME = ".mr.yaml"


def _registry_root(ctx: Any) -> str | None:
    start = None
    while ctx is not None and start is None:
        start = (ctx.params or {}).get("registry")
        ctx = ctx.parent
    here = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        if os.path.isfile(os.path.join(here, "HEAD")) and os.path.isdir(os.path.join(here, "refs")):
            return here  # a bare registry
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _git_dir(root: str) -> str:
    dot = os.path.join(root, ".git")
    if os.path.isfile(dot):  # a worktree or submodule: "gitdir: PATH"
        with open(dot) as f:
            target = f.read().partition("gitdir:")[2].strip()
        return target if os.path.isabs(target) else os.path.join(root, target)
    return dot if os.path.isdir(dot) else root


def refs(git_dir: str, prefix: str) -> list[str]:
    """Names under ``refs/<prefix>/`` (loose and packed), without the prefix."""
    names: set[str] = set()
    base = os.path.join(git_dir, "refs", prefix)
    for dirpath, _, filenames in os.walk(base):
        for f in filenames:
            if not f.endswith(".lock"):
                names.add(os.path.relpath(os.path.join(dirpath, f), base).replace(os.sep, "/"))
    common = git_dir
    commondir = os.path.join(git_dir, "commondir")
    if os.path.isfile(commondir):
        with open(commondir) as fh:
            common = os.path.normpath(os.path.join(git_dir, fh.read().strip()))
    try:
        with open(os.path.join(common, "packed-refs")) as packed:
            for line in packed:
                parts = line.split()
                if len(parts) == 2 and parts[1].startswith(f"refs/{prefix}/"):
                    names.add(parts[1][len(prefix) + 6 :])
    except OSError:
        pass
    return sorted(names)


def _link_names(root: str, incomplete: str = "") -> Iterator[str]:
    """Link names in the work tree that start with ``incomplete``: only folders that can hold one are walked."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(root, rel) if rel else root))
        except OSError:
            continue
        for entry in entries:
            name = rel + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git" and (name.startswith(incomplete) or incomplete.startswith(name + "/")):
                    stack.append(name + "/")
            elif name.endswith(".mlem") and name.startswith(incomplete):
                yield name[: -len(".mlem")]


def _stages(root: str) -> list[str]:
    from mr.config import CONFIG_FILE, DEFAULT_STAGES

    try:
        with open(os.path.join(root, CONFIG_FILE)) as f:
            text = f.read()
    except OSError:
        return list(DEFAULT_STAGES)
    flow = re.search(r"^stages:\s*\[([^\]]*)\]", text, re.M)
    if flow:
        return [s.strip().strip("'\"") for s in flow.group(1).split(",") if s.strip()]
    block = re.search(r"^stages:\s*(?:#.*)?\n((?:[ \t]+-[^\n]*\n?)+)", text, re.M)
    if block:
        return [re.sub(r"#.*", "", line).strip()[1:].strip().strip("'\"") for line in block.group(1).splitlines()]
    return list(DEFAULT_STAGES)


def _remote(root: str) -> str:
    """The registry's remote as mr reads it: ``remote:`` in ``.mr.yaml``, the upstream, else origin."""
    try:
        with open(os.path.join(root, CONFIG_NAME)) as f:
            found = re.search(r"^remote:\s*['\"]?([A-Za-z0-9][A-Za-z0-9._/-]*)", f.read(), re.M)
        if found:
            return found.group(1)
    except OSError:
        pass
    git_dir = _git_dir(root)
    try:
        with open(os.path.join(git_dir, "HEAD")) as f:
            head = f.read().strip()
    except OSError:
        return "origin"
    if head.startswith("ref: refs/heads/"):
        branch = head[len("ref: refs/heads/") :]
        out = _git(root, "config", "--get", f"branch.{branch}.remote")
        value = out.out.decode("utf-8", "replace").strip() if out is not None else ""
        if out is not None and out.code == 0 and value and value != ".":
            return value
    return "origin"


def _git(root: str, *args: str) -> Any:
    """``git -C root args`` through mr's one runner, given 5 s (a Tab must answer); None when it failed to run."""
    import time

    from mr import gitexe
    from mr.errors import GitError

    try:
        return gitexe.run(["-C", root, *args], deadline=time.monotonic() + 5)
    except GitError:
        return None


def _items(values: list[str], incomplete: str) -> list[str]:
    return [v for v in values if v.startswith(incomplete)]


def link_names(ctx: Any, param: Any, incomplete: str) -> list[str]:
    root = _registry_root(ctx)
    if root is None:
        return []
    taken = set(ctx.params.get(param.name) or ()) if param.multiple or param.nargs != 1 else set()
    return _items(sorted(n for n in _link_names(root, incomplete) if n not in taken), incomplete)


def _stage_link_names(root: str, stage: str) -> list[str] | None:
    """Link names on a stage as commands read it, from ``git ls-tree``.

    The copy commands read (``Registry.find_stage``'s rule): the local branch,
    unless it is strictly behind its remote-tracking branch; else the other.
    """
    local, tracking = f"refs/heads/{stage}", f"refs/remotes/{_remote(root)}/{stage}"
    order = (local, tracking)
    counts = _git(root, "rev-list", "--left-right", "--count", f"{local}...{tracking}", "--")
    if counts is not None and counts.code == 0:
        ahead, _, behind = counts.out.decode("ascii", "replace").strip().partition("\t")
        if ahead == "0" and behind not in ("", "0"):
            order = (tracking, local)
    for ref in order:
        out = _git(root, "ls-tree", "-r", "-z", "--name-only", ref, "--")
        if out is None:
            return None
        if out.code == 0:
            names = out.out.decode("utf-8", "replace").split("\0")
            return [n[: -len(".mlem")] for n in names if n.endswith(".mlem")]
    return None


def stage_link_names(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """Links on the stage given with ``--stage`` (those of the work tree before it is given)."""
    stage = ctx.params.get("stage")
    if not stage or stage.startswith("-"):
        return link_names(ctx, param, incomplete)
    root = _registry_root(ctx)
    if root is None:
        return []
    names = _stage_link_names(root, stage)
    if names is None:
        return link_names(ctx, param, incomplete)
    taken = set(ctx.params.get(param.name) or ())
    return _items(sorted(n for n in names if n not in taken), incomplete)


def link_files(ctx: Any, param: Any, incomplete: str) -> list[str]:
    root = _registry_root(ctx)
    if root is None:
        return []
    here = os.getcwd()
    files = [os.path.relpath(os.path.join(root, n + ".mlem"), here) for n in _link_names(root)]
    return _items(sorted(files), incomplete)


def stages(ctx: Any, param: Any, incomplete: str) -> list[str]:
    root = _registry_root(ctx)
    return _items(_stages(root), incomplete) if root else []


def branches(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """Local branches, and the stages only the remote has (a fresh clone)."""
    root = _registry_root(ctx)
    if not root:
        return []
    git_dir = _git_dir(root)
    local = refs(git_dir, "heads")
    remote = _remote(root)
    tracked = [r[len(remote) + 1 :] for r in refs(git_dir, "remotes") if r.startswith(f"{remote}/")]
    stages = set(_stages(root))
    extra = [b for b in tracked if b in stages and b not in local]
    return _items(sorted(set(local) | set(extra)), incomplete)


def remotes(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """The registry's remotes, from its git config file."""
    root = _registry_root(ctx)
    if not root:
        return []
    git_dir = _git_dir(root)
    commondir = os.path.join(git_dir, "commondir")
    if os.path.isfile(commondir):
        with open(commondir) as fh:
            git_dir = os.path.normpath(os.path.join(git_dir, fh.read().strip()))
    try:
        with open(os.path.join(git_dir, "config")) as f:
            names = re.findall(r'^\s*\[remote\s+"([^"]+)"\]', f.read(), re.M)
    except OSError:
        return []
    return _items(sorted(set(names)), incomplete)


def revs(ctx: Any, param: Any, incomplete: str) -> list[str]:
    """Branches and tags of ``--sp``'s project, when it is local or already cached."""
    project = ctx.params.get("source_project")
    if not project:
        return []
    from mr.urls import is_url

    if is_url(project):
        from mr.cachepaths import cache_path

        git_dir = cache_path(project)
    else:
        path = os.path.abspath(os.path.expanduser(project))
        git_dir = _git_dir(path) if os.path.exists(os.path.join(path, ".git")) else path
    if not os.path.isdir(os.path.join(git_dir, "refs")):
        return []
    return _items(sorted(set(refs(git_dir, "heads")) | set(refs(git_dir, "tags"))), incomplete)


def source(shell: str, prog: str = "mr") -> str:
    """The completion script for ``shell``, from click's completion support."""
    from click.shell_completion import get_completion_class

    from mr.cli import cli

    cls = get_completion_class(shell)
    if cls is None:
        raise ValueError(shell)
    return str(cls(cli, {}, prog, "_MR_COMPLETE").source())
