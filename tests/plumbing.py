"""Building hostile trees with git plumbing (hash-object, mktree, commit-tree): entries a
work tree could not hold, symlinks committed as mode 120000, names with control characters."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Union

#: a tree: name -> file content (bytes), ("link", target), or a nested tree
Tree = dict[str, Union[bytes, tuple[str, str], "Tree"]]


def _run(cwd: Path, args: list[str], data: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, input=data, check=True, capture_output=True)
    return out.stdout.decode().strip()


def blob(repo: Path, data: bytes) -> str:
    return _run(repo, ["hash-object", "-w", "--stdin"], data)


def mktree(repo: Path, entries: list[tuple[str, str, str, str]]) -> str:
    """``(mode, type, sha, name)`` entries -> a tree SHA (names may hold any byte but / and NUL)."""
    text = b"".join(f"{m} {t} {s}\t".encode() + n.encode("utf-8", "surrogateescape") + b"\0" for m, t, s, n in entries)
    return _run(repo, ["mktree", "-z"], text)


def build(repo: Path, tree: Tree) -> str:
    """A tree object holding ``tree``; returns its SHA."""
    return mktree(repo, _entries(repo, tree))


def ls_tree(repo: Path, rev: str) -> list[tuple[str, str, str, str]]:
    out = subprocess.run(["git", "ls-tree", "-z", rev], cwd=repo, check=True, capture_output=True).stdout
    entries = []
    for item in out.split(b"\0"):
        if item:
            meta, name = item.split(b"\t", 1)
            mode, kind, sha = meta.decode().split()
            entries.append((mode, kind, sha, name.decode("utf-8", "surrogateescape")))
    return entries


def commit_on(repo: Path, branch: str, add: Tree, message: str = "plumbing") -> str:
    """Commit ``add`` (top-level entries, replacing same names) onto ``branch``; return the commit."""
    parent = _run(repo, ["rev-parse", branch])
    keep = [e for e in ls_tree(repo, branch) if e[3] not in add]
    tree = mktree(repo, keep + _entries(repo, add))
    sha = _run(repo, ["commit-tree", tree, "-p", parent, "-m", message])
    _run(repo, ["update-ref", f"refs/heads/{branch}", sha, parent])
    return sha


def _entries(repo: Path, tree: Tree) -> list[tuple[str, str, str, str]]:
    out = []
    for name, value in tree.items():
        if isinstance(value, bytes):
            out.append(("100644", "blob", blob(repo, value), name))
        elif isinstance(value, tuple):
            out.append(("120000", "blob", blob(repo, value[1].encode()), name))
        else:
            out.append(("040000", "tree", build(repo, value), name))
    return out
