"""Local git work, through pygit2: the only module that imports it.

Objects are read and refs moved here; the wire (fetch, push, listing a
remote) is ``mr.transport``'s, through the git executable. Sources are only
ever read as git objects: nothing is checked out from them, so no hook,
filter or LFS smudge of theirs ever runs.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pygit2
from pygit2.enums import ConfigLevel, FileMode, ObjectType

from mr.errors import GitError, IdentityError, RefMoved, RegistryError, RevNotFound, SigningError, UnsafePath
from mr.model import BACKSLASH_NAME, BRANCH, COMMIT, GIT_SPECIAL_REFS, TAG, ResolvedRev
from mr.urls import redact

Repo = pygit2.Repository

_HEX = re.compile(r"[0-9a-fA-F]{4,40}")
_BLOB_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)


def _configure() -> None:
    """Point libgit2 at the current environment.

    libgit2 reads HOME once, when pygit2 is imported; git itself reads it on
    every run. Matching git keeps tests and callers that change HOME honest.
    """
    home = os.environ.get("HOME") or os.path.expanduser("~")
    paths = pygit2.settings.search_path
    paths[ConfigLevel.GLOBAL] = home
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths[ConfigLevel.XDG] = os.path.join(xdg, "git")
    if os.environ.get("GIT_CONFIG_NOSYSTEM"):
        paths[ConfigLevel.SYSTEM] = os.path.join(home, ".mr-no-system-config")


_configure()


# --- opening repositories ---------------------------------------------------


def discover(start: str) -> Repo:
    """The repository around ``start`` (the registry)."""
    _configure()
    found = pygit2.discover_repository(start)
    if found is None:
        raise RegistryError(f"{start}: not inside a git repository; run 'mr init' there, or pass --registry PATH")
    return Repo(found)


def discover_from(start: str) -> Repo | None:
    """The repository ``start`` is inside (looking upwards, as git does), or None."""
    _configure()
    found = pygit2.discover_repository(start)
    return Repo(found) if found is not None else None


def open_exact(path: str) -> Repo | None:
    """The repository whose root (or git dir) is ``path``, or None."""
    _configure()
    try:
        repo = Repo(path, pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError, OSError):
        return None
    return repo


def init(path: str, initial_branch: str) -> Repo:
    _configure()
    return pygit2.init_repository(path, initial_head=initial_branch)


def workdir(repo: Repo) -> str | None:
    wd = repo.workdir
    return wd.rstrip("/") if wd else None


def root(repo: Repo) -> str:
    """The work tree of ``repo``, or its git dir when bare."""
    return workdir(repo) or repo.path.rstrip("/")


def head_branch(repo: Repo) -> str | None:
    """The branch HEAD names (born or not), or None when detached."""
    if repo.head_is_detached:
        return None
    target = repo.references["HEAD"].target
    if isinstance(target, str) and target.startswith("refs/heads/"):
        return target[len("refs/heads/") :]
    return None


def set_head(repo: Repo, branch: str) -> None:
    repo.references.create("HEAD", f"refs/heads/{branch}", force=True)


def _reference(repo: Repo, name: str) -> Any:
    """The reference ``name``, or None when there is none or no reference could have that name (too long ...)."""
    try:
        return repo.references.get(name)
    except (ValueError, pygit2.InvalidSpecError, pygit2.GitError):
        return None


def branch_tip(repo: Repo, branch: str) -> str | None:
    """The commit branch ``branch`` points at; None when there is no such branch (``GitError`` when it is no commit)."""
    ref = _reference(repo, f"refs/heads/{branch}")
    if ref is None:
        return None
    return _peeled(repo, ref, branch)


def _peeled(repo: Repo, ref: Any, name: str) -> str:
    """The commit ``ref`` points at; a one-line ``GitError`` naming it when it points at anything else."""
    try:
        return str(ref.peel(pygit2.Commit).id)
    except (pygit2.GitError, KeyError, ValueError):
        pass
    target = ref.resolve().target if ref.type == pygit2.enums.ReferenceType.SYMBOLIC else ref.target
    try:
        what = {pygit2.Tree: "a tree", pygit2.Blob: "a blob", pygit2.Tag: "a tag of no commit"}.get(
            type(repo[target]), "an object"
        )
    except (KeyError, ValueError, pygit2.GitError):
        what = "a missing object"
    raise GitError(
        f"{name} points at {what} ({str(target)[:12]}), not a commit; point it at a commit "
        "(git update-ref) or delete it, and fetch again"
    )


def branches(repo: Repo) -> list[str]:
    return sorted(repo.branches.local)


def create_branch(repo: Repo, name: str, sha: str) -> None:
    repo.references.create(f"refs/heads/{name}", pygit2.Oid(hex=sha))


# --- reading trees -----------------------------------------------------------


def normalize_path(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def _describe(mode: int) -> str:
    if mode == FileMode.LINK:
        return "a symlink"
    if mode == FileMode.TREE:
        return "a folder"
    if mode == FileMode.COMMIT:
        return "a submodule"
    return "not a regular file"


#: the root trees read last, (id of the repository object, commit) -> (that object, its tree): a
#: command reads several files at the same few commits, and a registry of 100,000 links has a
#: root tree of 4 MB to parse each time. A commit's tree never changes. A tree is used only with
#: the repository object that read it (another object for the same folder may not yet see the
#: objects this one wrote); keeping the object keeps its id from being reused. ``close`` lets go.
_RECENT_TREES: dict[tuple[int, str], tuple[Repo, Any]] = {}
_RECENT_MAX = 8


def _root_tree(repo: Repo, sha: str, trees: dict[str, Any] | None) -> Any:
    """The root tree of commit ``sha``, kept in ``trees`` between calls when given."""
    tree = trees.get(sha) if trees is not None else None
    if tree is None:
        recent = _RECENT_TREES.get((id(repo), sha))
        if recent is not None and recent[0] is repo:
            tree = recent[1]
        else:
            tree = repo[sha].peel(pygit2.Tree)
            if len(_RECENT_TREES) >= _RECENT_MAX:
                del _RECENT_TREES[next(iter(_RECENT_TREES))]
            _RECENT_TREES[(id(repo), sha)] = (repo, tree)
        if trees is not None:
            trees[sha] = tree
    return tree


def _walk(tree: Any, path: str) -> tuple[Any, str, bool]:
    """Walk ``path`` down ``tree`` one folder at a time; the one way mr walks a tree.

    Returns ``(entry, walked, last)``: the entry at ``path`` (``last``), or the
    first entry on the way that is no folder (a symlink, a submodule, a file),
    with the path walked to it. ``(None, "", False)`` when a part is absent.
    Nothing on the way is followed.
    """
    norm = normalize_path(path)
    try:
        entry = tree[norm]  # one lookup in libgit2: the common case, a file reached through folders
    except (KeyError, ValueError):
        entry = None
    if entry is not None and entry.filemode in _BLOB_MODES:
        return entry, norm, True
    parts = norm.split("/")
    for i, part in enumerate(parts):
        try:
            entry = tree[part]
        except (KeyError, ValueError):
            return None, "", False
        last = i == len(parts) - 1
        if last or entry.filemode != FileMode.TREE:
            return entry, "/".join(parts[: i + 1]), last
        tree = entry  # a subtree entry is the Tree itself
    return None, "", False


def entry_problem(tree: Any, path: str) -> str | None:
    """Why ``path`` in ``tree`` is not a regular file reached through real folders, or None (absent is fine).

    A symlink (mode 120000), a submodule or a folder where a file is wanted,
    or any of them on the way, is named; mr never reads or writes through them.
    """
    entry, shown, last = _walk(tree, path)
    if entry is None or entry.filemode in _BLOB_MODES and last:
        return None
    if last:
        return f"{shown} is {_describe(entry.filemode)}, not a regular file"
    what = "a symlinked folder" if entry.filemode == FileMode.LINK else _describe(entry.filemode)
    if entry.filemode in _BLOB_MODES:
        what = "a file, not a folder"
    return f"{shown} is {what}; mr never reads or writes through it"


def blob_at(
    repo: Repo, sha: str, path: str, trees: dict[str, Any] | None = None, *, where: str | None = None
) -> str | None:
    """The id of the file ``path`` in commit ``sha``, or None when nothing is there.

    The blob itself may be missing from a partial clone (``has_object``).
    ``UnsafePath`` when the entry (or a folder on the way) is a symlink, a
    submodule or a folder: mr never reads through them. ``where`` names the
    commit in that message (a stage, say). ``trees`` caches the root tree of
    each commit between calls.
    """
    tree = _root_tree(repo, sha, trees)
    entry, _, last = _walk(tree, path)
    if entry is not None and last and entry.filemode in _BLOB_MODES:
        return str(entry.id)
    problem = entry_problem(tree, path)
    if problem:
        raise UnsafePath(f"{where}:{problem}" if where else problem)
    return None


def read_blob(repo: Repo, oid: str) -> bytes:
    return bytes(repo[oid].read_raw())


def has_object(repo: Repo, oid: str) -> bool:
    # the object database only: ``oid in repo`` reads the whole object, a 50 MiB blob included
    try:
        return bool(repo.odb.exists(pygit2.Oid(hex=oid)))
    except ValueError:
        return False


def read_at(
    repo: Repo, sha: str, path: str, trees: dict[str, Any] | None = None, *, where: str | None = None
) -> bytes | None:
    """The content of ``path`` in commit ``sha``, or None when nothing is there (``blob_at`` for the rules)."""
    oid = blob_at(repo, sha, path, trees, where=where)
    return None if oid is None else read_blob(repo, oid)


def tree_files(repo: Repo, sha: str, suffix: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Every regular file under commit ``sha`` whose name ends with ``suffix``, with its content;
    and every other non-folder entry with that suffix (a symlink, a submodule), with what it is."""
    blobs, unsafe = tree_blobs(repo, sha, suffix)
    return [(name, read_blob_id(repo, oid)) for name, oid in blobs], unsafe


#: one side of a changed file: the raw id of its blob (a regular file), what it is instead
#: (a symlink, a submodule: never read), or None (absent)
Side = bytes | str | None


def changed_blobs(repo: Repo, old: str, new: str, suffix: str) -> list[tuple[str, Side, Side]]:
    """Each file whose name ends with ``suffix`` that differs between commits ``old`` and ``new``,
    with what each side holds (``Side``). git compares the trees: what is the same on both sides
    is never listed, however many files there are."""
    out: list[tuple[str, Side, Side]] = []
    diff = _root_tree(repo, old, None).diff_to_tree(_root_tree(repo, new, None))
    for delta in diff.deltas:
        name = delta.new_file.path if delta.new_file.mode else delta.old_file.path
        if not name.endswith(suffix):
            continue
        sides: list[Side] = []
        for f in (delta.old_file, delta.new_file):
            if not f.mode:
                sides.append(None)
            elif "\\" in name:
                sides.append(BACKSLASH_NAME)
            elif f.mode in _BLOB_MODES:
                sides.append(f.id.raw)
            else:
                sides.append(f"{_describe(f.mode)}, not a regular file")
        out.append((name, sides[0], sides[1]))
    return sorted(out)


def read_blob_id(repo: Repo, oid: bytes) -> bytes:
    """The content of the blob whose raw id ``tree_blobs`` gave."""
    return bytes(repo[pygit2.Oid(raw=oid)].read_raw())


def tree_blobs(repo: Repo, sha: str, suffix: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """``tree_files`` with the raw id of each file's blob in place of its content (read with ``read_blob_id``)."""
    out: list[tuple[str, bytes]] = []
    unsafe: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", repo[sha].peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            name = prefix + entry.name
            if entry.type_str == "tree":
                stack.append((name + "/", repo[entry.id]))  # a folder (even one named *.mlem) is walked
            elif not name.endswith(suffix):
                continue
            elif "\\" in name:
                unsafe.append((name, BACKSLASH_NAME))  # it would be read as another file's name
            elif (mode := entry.filemode) in _BLOB_MODES:
                out.append((name, entry.id.raw))
            else:
                unsafe.append((name, f"{_describe(mode)}, not a regular file"))
    return sorted(out), sorted(unsafe)


# --- revs -----------------------------------------------------------------------


def rev_problem(rev: str) -> str | None:
    """Why ``rev`` cannot name a branch, tag or commit, or None."""
    if _HEX.fullmatch(rev):
        return None
    if rev in GIT_SPECIAL_REFS or rev == "@":
        return f"{rev} is a symbolic ref that moves with checkouts and fetches; name a branch, tag or commit"
    if rev.startswith("-") or not pygit2.reference_is_valid_name(f"refs/heads/{rev}") or "@{" in rev:
        return "not a branch, tag or commit name"
    return None


def resolve(repo: Repo, rev: str, where: str) -> ResolvedRev:
    """Resolve ``rev`` in ``repo`` to a commit, telling branch, tag and commit apart."""
    problem = rev_problem(rev)
    if problem:
        raise RevNotFound(f"rev {rev!r}: {problem}")
    try:
        commit, ref = repo.resolve_refish(rev)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise RevNotFound(f"rev {rev} not found in {where}") from None
    kind: Literal["branch", "tag", "commit"]
    if ref is None:
        kind = COMMIT
    elif ref.name.startswith("refs/tags/"):
        kind = TAG
    elif ref.name.startswith(("refs/heads/", "refs/remotes/")):
        kind = BRANCH
    else:
        kind = COMMIT
    return ResolvedRev(rev=rev, sha=str(commit.id), kind=kind)


def kind_of(repo: Repo, rev: str) -> Literal["branch", "tag"] | None:
    """Branch or tag for a symbolic rev, without resolving it to a commit."""
    if rev_problem(rev):
        return None
    prefixes: tuple[tuple[str, Literal["branch", "tag"]], ...] = (
        ("refs/tags/", TAG),
        ("refs/heads/", BRANCH),
        ("refs/remotes/", BRANCH),
    )
    for prefix, kind in prefixes:
        if f"{prefix}{rev}" in repo.references:
            return kind
    return None


def default_branch(repo: Repo, where: str) -> str:
    branch = head_branch(repo)
    if branch is None or f"refs/heads/{branch}" not in repo.references:
        for name in ("main", "master"):
            if f"refs/heads/{name}" in repo.references:
                return name
        raise RevNotFound(f"{where} has no default branch; pass --rev")
    return branch


def ref_names(repo: Repo) -> list[str]:
    """Every branch and tag name (for matching a rev written with slashes)."""
    out = []
    for ref in repo.references:
        for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
            if ref.startswith(prefix):
                out.append(ref[len(prefix) :])
    return out


def close(repo: Repo) -> None:
    """Let go of ``repo``'s open files now (libgit2 keeps a pack open, by name, while any repository holds it:
    a damaged one would be read again from a fresh clone of the same objects)."""
    # every object for the same folder: each keeps the folder's packs open
    for key in [k for k, (r, _) in _RECENT_TREES.items() if r is repo or r.path == repo.path]:
        del _RECENT_TREES[key]
    repo.free()


def tips_readable(repo: Repo, prefixes: tuple[str, ...] = ("refs/heads/", "refs/tags/")) -> bool:
    """Whether the object of every ref under ``prefixes`` can be read (a damaged pack cannot give them)."""
    try:
        for oid in ref_targets(repo, prefixes).values():
            obj = repo.get(pygit2.Oid(hex=oid))
            if obj is None:
                return False
            obj.read_raw()
    except (pygit2.GitError, ValueError, KeyError, OSError):
        return False
    return True


def ref_targets(repo: Repo, prefixes: tuple[str, ...]) -> dict[str, str]:
    """``ref name -> object id`` of every ref under ``prefixes`` (tags not peeled)."""
    out: dict[str, str] = {}
    for name in repo.references:
        if name.startswith(prefixes):
            target = repo.references[name].target
            if not isinstance(target, str):
                out[name] = str(target)
    return out


def set_head_if_branch(repo: Repo, ref: str) -> None:
    """Point HEAD at ``ref`` when it is a branch the repository has."""
    if ref.startswith("refs/heads/") and ref in repo.references:
        current = repo.references["HEAD"].target
        if current != ref:
            repo.references.create("HEAD", ref, force=True)


def config_value(repo: Repo, key: str) -> str | None:
    try:
        return str(repo.config[key])
    except (KeyError, pygit2.GitError, ValueError):
        return None


def tags(repo: Repo) -> list[str]:
    return sorted(r[len("refs/tags/") :] for r in repo.references if r.startswith("refs/tags/"))


# --- writing commits -----------------------------------------------------------


def signature(repo: Repo | None, role: Literal["AUTHOR", "COMMITTER"] = "AUTHOR") -> pygit2.Signature:
    """The commit identity as git finds it: GIT_AUTHOR_*/GIT_COMMITTER_*, then the
    ``author.*``/``committer.*`` settings, then ``user.*``; EMAIL last for the address."""
    name = os.environ.get(f"GIT_{role}_NAME")
    email = os.environ.get(f"GIT_{role}_EMAIL")
    if not (name and email):
        _configure()
        config = repo.config if repo is not None else pygit2.Config.get_global_config()
        section = role.lower()
        for key in (f"{section}.name", "user.name"):
            name = name or _config_text(config, key)
        for key in (f"{section}.email", "user.email"):
            email = email or _config_text(config, key)
    email = email or os.environ.get("EMAIL")
    # as git does: angle brackets and line breaks cannot be in an identity, so they are left out
    name, email = _without_crud(name), _without_crud(email)
    if not (name and email):
        raise IdentityError(
            "no git identity to commit with: run\n"
            "  git config --global user.name 'Your Name'\n"
            "  git config --global user.email you@example.com\n"
            "or set GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL"
        )
    return pygit2.Signature(name, email)


def _without_crud(value: str | None) -> str | None:
    if value is None:
        return None
    kept = "".join(c for c in value if c not in "<>\n\r\0").strip()
    return kept or None


def _config_text(config: pygit2.Config, key: str) -> str | None:
    try:
        return str(config[key]) or None
    except (KeyError, pygit2.GitError):
        return None


def _tree_with(repo: Repo, base: Any, files: dict[str, bytes], prefix: str = "") -> Any:
    """A new tree: ``base`` (a tree or None) with ``files`` (path -> content) written in.

    Exactly the named entries change. ``UnsafePath`` when one of them, or a
    folder on the way, is something else in ``base`` (a symlink, a
    submodule, a folder where a file goes): it is never replaced or followed.
    """
    here: dict[str, bytes] = {}
    below: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        head, _, rest = path.partition("/")
        if rest:
            below.setdefault(head, {})[rest] = data
        else:
            here[head] = data
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, data in here.items():
        mode = FileMode.BLOB
        if base is not None and name in base:
            mode = base[name].filemode
            if mode not in _BLOB_MODES:
                raise UnsafePath(
                    f"{prefix}{name} is {_describe(mode)}, not a regular file; mr never replaces or follows it"
                )
        builder.insert(name, repo.create_blob(data), mode)
    for name, sub in below.items():
        existing = None
        if base is not None and name in base:
            entry = base[name]
            if entry.filemode != FileMode.TREE:
                what = "a symlinked folder" if entry.filemode == FileMode.LINK else _describe(entry.filemode)
                if entry.filemode in _BLOB_MODES:
                    what = "a file, not a folder"
                raise UnsafePath(f"{prefix}{name} is {what}; mr never replaces or follows it")
            existing = entry
        builder.insert(name, _tree_with(repo, existing, sub, f"{prefix}{name}/"), FileMode.TREE)
    return builder.write()


def _tree_without(repo: Repo, tree: Any, paths: list[str]) -> Any:
    """``tree`` with ``paths`` removed; a folder left empty goes too. Absent paths are ignored."""
    here: set[str] = set()
    below: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition("/")
        if rest:
            below.setdefault(head, []).append(rest)
        else:
            here.add(head)
    builder = repo.TreeBuilder(tree)
    for name in here:
        if name in tree:
            builder.remove(name)
    for name, sub in below.items():
        if name not in tree or tree[name].type != ObjectType.TREE:
            continue
        oid = _tree_without(repo, repo[tree[name].id], sub)
        if len(repo[oid].peel(pygit2.Tree)) == 0:
            builder.remove(name)
        else:
            builder.insert(name, oid, FileMode.TREE)
    return builder.write()


def _edited_tree(repo: Repo, base: Any, files: Mapping[str, bytes | None]) -> Any:
    """``base`` (a tree or None) with ``files`` written in, and the paths whose content is None removed."""
    gone = [normalize_path(p) for p, d in files.items() if d is None]
    if gone and base is not None:
        base = repo[_tree_without(repo, base, gone)]
    return _tree_with(repo, base, {normalize_path(p): d for p, d in files.items() if d is not None})


def _write_tree(repo: Repo, base: Any, files: Mapping[str, bytes | None]) -> Any:
    """``_edited_tree``, with an operating-system failure (a full disk) named rather than raised raw."""
    try:
        return _edited_tree(repo, base, files)
    except (pygit2.GitError, OSError) as e:
        raise GitError(f"cannot write to {repo.path.rstrip('/')}: {redact(str(e))}") from None


_CURRENT = "current"


def wants_signing(repo: Repo, sign: bool | None) -> bool:
    """Whether a commit is signed: ``sign`` when given, else as ``git commit`` decides (commit.gpgSign)."""
    if sign is not None:
        return sign
    try:
        return bool(repo.config.get_bool("commit.gpgsign"))
    except (KeyError, pygit2.GitError, ValueError):
        return False


def _create_commit(repo: Repo, message: str, tree: Any, parents: list[Any], sign: bool | None) -> Any:
    """A commit object (no ref moved), signed the way ``git commit`` would sign it when asked.

    Signing is left to ``git commit-tree -S``, so gpg.format (openpgp, ssh,
    x509), user.signingKey, gpg.program and gpg.ssh.program mean what they
    mean to git.
    """
    author = signature(repo, "AUTHOR")
    committer = signature(repo, "COMMITTER")
    if not wants_signing(repo, sign):
        try:
            return repo.create_commit(None, author, committer, message, tree, parents)
        except (pygit2.GitError, OSError) as e:
            raise GitError(f"cannot write to {repo.path.rstrip('/')}: {redact(str(e))}") from None
    import time

    from mr import gitexe
    from mr.envvars import git_timeout

    args = ["-C", repo.path, "commit-tree", "-S", str(tree)]
    for parent in parents:
        args += ["-p", str(parent)]
    # git finds the identity signature() found above, by the same rules
    limit = git_timeout()  # a signing program waiting for a passphrase no one types is stopped like a fetch
    try:
        out = gitexe.run(args, input=message.encode("utf-8"), deadline=time.monotonic() + limit, what="sign commits")
    except gitexe.TimedOut:
        raise SigningError(
            f"signing the commit took over {limit:g} s (MR_GIT_TIMEOUT) and was stopped; "
            "check that the signing key needs no passphrase typed, or pass --no-sign"
        ) from None
    except GitError as e:
        raise SigningError(f"signing the commit failed: {e.message}") from None
    if out.code != 0:
        lines = [ln for ln in out.err_text().splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"git commit-tree exited {out.code}"
        from mr.terminal import field as safe_text

        raise SigningError(
            f"signing the commit failed ({safe_text(detail.removeprefix('error: ').removeprefix('fatal: '))}); "
            "check user.signingKey and gpg.format, or pass --no-sign"
        )
    return pygit2.Oid(hex=out.out.decode().strip())


def commit_on_new_branch(
    repo: Repo,
    branch: str,
    base: str,
    files: Mapping[str, bytes | None],
    message: str,
    force: bool = False,
    sign: bool | None = None,
) -> str:
    """Commit ``files`` on top of commit ``base`` as a new branch ``branch``; return the SHA.

    A ``None`` content deletes that path.

    Refuses (``GitError``) when the branch exists, unless ``force``.
    """
    name = f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(name):
        raise GitError(f"{branch!r} is not a valid branch name")
    if name in repo.references and not force:
        raise GitError(f"branch {branch} exists; pass --force to replace it")
    parent = pygit2.Oid(hex=base)
    tree = _write_tree(repo, repo[parent].peel(pygit2.Tree), files)
    oid = _create_commit(repo, message, tree, [parent], sign)
    try:
        repo.references.create(name, oid, force=force)
    except (pygit2.GitError, pygit2.AlreadyExistsError, OSError) as e:
        raise GitError(f"cannot create branch {branch}: {e}") from None
    return str(oid)


def commit_files(
    repo: Repo,
    branch: str,
    files: Mapping[str, bytes | None],
    message: str,
    expect: str | None = _CURRENT,
    create: bool = True,
    sign: bool | None = None,
) -> str:
    """Commit ``files`` onto ``branch`` without touching any work tree; return the SHA.

    A ``None`` content deletes that path.

    ``expect`` is the tip the files were computed against (None: the branch
    must not exist yet); the branch moves only if it is still there, by
    compare-and-swap, else ``RefMoved``. ``create=False`` refuses a branch
    that does not exist. ``sign``: see ``wants_signing``.
    """
    name = f"refs/heads/{branch}"
    # Looked up before the commit is built: set_target() then moves the branch
    # only if it still points where it did (libgit2 compares and swaps).
    ref = repo.references.get(name)
    if ref is None and not create:
        raise GitError(f"no branch {branch}")
    parent = ref.peel(pygit2.Commit).id if ref is not None else None
    if expect != _CURRENT and (str(parent) if parent is not None else None) != expect:
        raise RefMoved(f"branch {branch} moved")
    base = _root_tree(repo, str(parent), None) if parent is not None else None
    tree = _write_tree(repo, base, files)
    oid = _create_commit(repo, message, tree, [parent] if parent else [], sign)
    try:
        if ref is None:
            repo.references.create(name, oid)
        else:
            ref.set_target(oid, f"mr: {message.splitlines()[0]}")
    except (pygit2.GitError, ValueError, OSError, pygit2.AlreadyExistsError) as e:
        _raise_ref_failure(repo, name, branch, parent, e)
    return str(oid)


def _raise_ref_failure(repo: Repo, name: str, branch: str, parent: Any, e: Exception) -> None:
    """A lost compare-and-swap is ``RefMoved``; anything else (disk full, read-only) is what it is."""
    now = repo.references.get(name)
    tip = now.peel(pygit2.Commit).id if now is not None else None
    if tip != parent:
        raise RefMoved(f"branch {branch} moved while committing") from None
    lock = ref_lock_path(repo, branch)
    if os.path.exists(lock):
        # another writer holds the branch's lock right now: it is moving
        raise RefMoved(f"branch {branch} is being updated by another process ({lock})") from None
    raise GitError(f"cannot update branch {branch}: {redact(str(e))}") from None


def is_tracked(repo: Repo, path: str) -> bool:
    """Whether ``path`` is in the index (an unreadable index counts as not)."""
    try:
        return normalize_path(path) in repo.index
    except (pygit2.GitError, OSError, ValueError):
        return False


def ref_lock_path(repo: Repo, branch: str) -> str:
    """The lock file git holds while it updates ``branch``."""
    return os.path.join(repo.path, "refs", "heads", *branch.split("/")) + ".lock"


def stage_in_index(repo: Repo, paths: list[str]) -> None:
    """Record ``paths`` in the index as they are in the work tree."""
    index = repo.index
    index.read()
    for path in paths:
        index.add(normalize_path(path))
    index.write()


def unstage(repo: Repo, paths: list[str]) -> None:
    """Take ``paths`` out of the index (as ``git rm --cached``), leaving the work tree alone."""
    index = repo.index
    index.read()
    for path in paths:
        with contextlib.suppress(OSError, KeyError, pygit2.GitError):
            index.remove(normalize_path(path))
    index.write()


def delete_branch(repo: Repo, name: str, expect: str) -> None:
    """Delete branch ``name`` if it still points at ``expect`` (what this run made it)."""
    if branch_tip(repo, name) == expect:
        delete_ref(repo, f"refs/heads/{name}")


def create_tag(repo: Repo, name: str, sha: str, message: str) -> None:
    """An annotated tag ``name`` on commit ``sha``."""
    repo.create_tag(name, pygit2.Oid(hex=sha), ObjectType.COMMIT, signature(repo, "COMMITTER"), message)


def checkout_head(repo: Repo) -> None:
    """Make the work tree and index match HEAD (for repositories mr just built)."""
    from pygit2.enums import CheckoutStrategy

    repo.checkout_head(strategy=CheckoutStrategy.FORCE)  # type: ignore[no-untyped-call]


class Ancestry:
    """Answers "is A in the history of B?" for many A against the same few B, in time linear in the history.

    Each B asked about is walked once (its whole history kept as a set), where
    asking git for each pair walks the history again every time.
    """

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._history: dict[str, set[str]] = {}

    def holds(self, ancestor: str, descendant: str) -> bool:
        seen = self._history.get(descendant)
        if seen is None:
            seen = self._history[descendant] = history_of(self.repo, descendant)
        return ancestor in seen


def history_of(repo: Repo, tip: str) -> set[str]:
    """Every commit in the history of ``tip`` (through every parent), ``tip`` included."""
    walker = repo.walk(pygit2.Oid(hex=tip))
    return {str(c.id) for c in walker}


def first_parents(repo: Repo, tip: str) -> dict[str, int]:
    """The commits of ``tip``'s first-parent line, each with its distance from ``tip``."""
    walker = repo.walk(pygit2.Oid(hex=tip))
    walker.simplify_first_parent()
    return {str(c.id): i for i, c in enumerate(walker)}


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """Whether commit ``ancestor`` is ``descendant`` or in its history."""
    if ancestor == descendant:
        return True
    return bool(repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))


def update_worktree(repo: Repo, files: Mapping[str, bytes | None]) -> None:
    """Make the work tree and index hold ``files`` as HEAD does, as a checkout of them would."""
    from pygit2.enums import CheckoutStrategy

    from mr import safefs

    paths = [normalize_path(p) for p in files]
    root = workdir(repo)
    if root is None:
        return  # a bare repository has no work tree
    for path in paths:
        # git checkout replaces a symlink rather than writing through it;
        # libgit2 may not, so such an entry is refused before anything is written
        problem = safefs.worktree_problem(root, path)
        if problem:
            raise UnsafePath(f"{problem}; the work tree was left alone")
    try:
        repo.checkout_head(strategy=CheckoutStrategy.FORCE, paths=paths)  # type: ignore[no-untyped-call]
    except (pygit2.GitError, OSError) as e:
        raise GitError(f"the work tree could not be updated ({e}); run: git checkout -- {' '.join(paths)}") from None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    author: str
    email: str
    time: int
    offset: int
    #: the committer's time: when the commit was made, which orders history
    commit_time: int = 0


def log(repo: Repo, sha: str, first_parent: bool = True) -> Iterator[CommitInfo]:
    """Commits from ``sha`` back (along first parents only, unless told), newest first."""
    from pygit2.enums import SortMode

    walker = repo.walk(pygit2.Oid(hex=sha), SortMode.TOPOLOGICAL)
    if first_parent:
        walker.simplify_first_parent()
    for c in walker:
        yield CommitInfo(str(c.id), c.message, c.author.name, c.author.email, c.author.time, c.author.offset)


def tip_at(repo: Repo, tip: str, moment: int) -> tuple[str | None, int]:
    """The commit that was the branch's tip at ``moment`` (seconds since the epoch): the newest
    along ``tip``'s first parents committed by then; None when every one is later. Also the
    commit time of the last commit looked at (the first of the branch, when none was)."""
    walker = repo.walk(pygit2.Oid(hex=tip))
    walker.simplify_first_parent()
    seen = 0
    for c in walker:
        seen = c.commit_time
        if c.commit_time <= moment:
            return str(c.id), c.commit_time
    return None, seen


def tags_by_commit(repo: Repo) -> dict[str, str]:
    """Commit -> the newest tag pointing at it (by the tag's own date when annotated, else the
    commit's; then by name), over every tag of ``repo``."""
    best: dict[str, tuple[int, str]] = {}
    for ref in repo.references:
        if not ref.startswith("refs/tags/"):
            continue
        try:
            target = repo.references[ref].peel()
            commit = target.peel(pygit2.Commit) if not isinstance(target, pygit2.Commit) else target
            obj = repo.get(repo.references[ref].target)
            when = obj.tagger.time if isinstance(obj, pygit2.Tag) and obj.tagger else commit.commit_time
        except (pygit2.GitError, KeyError, ValueError, AttributeError, pygit2.InvalidSpecError):
            continue
        name, sha = ref[len("refs/tags/") :], str(commit.id)
        if sha not in best or (when, name) > best[sha]:
            best[sha] = (when, name)
    return {sha: name for sha, (_, name) in best.items()}


def message_of(repo: Repo, sha: str) -> str:
    """Commit ``sha``'s message."""
    return str(repo[pygit2.Oid(hex=sha)].peel(pygit2.Commit).message)


def commit_time(repo: Repo, sha: str) -> int:
    """Commit ``sha``'s commit time (seconds since the epoch)."""
    return int(repo[pygit2.Oid(hex=sha)].peel(pygit2.Commit).commit_time)


def add_object_folder(repo: Repo, path: str) -> None:
    """Read objects from ``path`` too (a push's quarantine, which git names to its hooks)."""
    repo.odb.add_disk_alternate(path)


def _signature(repo: Repo, sha: str) -> bytes | None:
    """Commit ``sha``'s signature, unchecked; None when it has none (or is no commit)."""
    commit = repo.get(pygit2.Oid(hex=sha))
    if not isinstance(commit, pygit2.Commit):
        return None
    signature, _ = commit.gpg_signature
    return signature


def is_signed(repo: Repo, sha: str) -> bool:
    """Whether commit ``sha`` carries a signature (checked or not)."""
    return _signature(repo, sha) is not None


def ssh_signed(repo: Repo, sha: str) -> bool:
    """Whether commit ``sha`` carries an SSH signature (the kind an allowed-signers file vouches for)."""
    signature = _signature(repo, sha)
    return signature is not None and signature.lstrip().startswith(b"-----BEGIN SSH SIGNATURE-----")


def _signature_log(repo: Repo, shas: list[str], config: list[str]) -> list[tuple[str, str, str, str]]:
    """``(sha, %G?, signer, key)`` of each commit as git verifies it, from one ``git log`` (``config``: its ``-c``s)."""
    import time

    from mr import gitexe

    if not shas:
        return []
    call = gitexe.run(
        [*config, "-C", repo.path, "log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%G?%x1f%GS%x1f%GK"],
        input=("\n".join(shas) + "\n").encode(),
        deadline=time.monotonic() + 60,
        what="check signatures",
    )
    out = []
    for line in call.out.decode("utf-8", "replace").splitlines():
        sha, letter, signer, key = (line.split("\x1f") + ["", "", ""])[:4]
        out.append((sha, letter, signer, key))
    return out


#: ``git log --format=%G?`` letters, as history words them (``{}``: the signer).
_VERDICTS = {
    "G": "signed by {}",
    "U": "signed by {} (key of unknown validity)",
    "X": "signed by {} (signature expired)",
    "Y": "signed by {} (key expired)",
    "R": "signed by {} (key revoked)",
    "B": "bad signature",
    "E": "signed, cannot be checked here",
    "N": "unsigned",
}


def signatures(repo: Repo, shas: list[str]) -> dict[str, str]:
    """Each commit's signature as git verifies it, with the user's configuration (allowed signers, keyring):
    ``signed by KEY``, ``unsigned``, ``bad signature`` ..."""
    from mr.terminal import field

    return {
        sha: _VERDICTS.get(letter, "signed, cannot be checked here").format(field(signer or key or "an unknown key"))
        for sha, letter, signer, key in _signature_log(repo, shas, [])
    }


def check_signers(repo: Repo, shas: list[str], allowed_signers: bytes) -> dict[str, str | None]:
    """For each commit, the principal of ``allowed_signers`` (git's allowedSignersFile format) that signed it.

    None where it is not signed by one: unsigned, a bad signature, a key the
    file does not list, or a signature of another kind (GPG). Verified by git
    with that file alone.
    """
    import tempfile

    out: dict[str, str | None] = dict.fromkeys(shas)
    with tempfile.TemporaryDirectory(prefix="mr-signers-") as folder:
        path = os.path.join(folder, "allowed_signers")
        with open(path, "wb") as f:
            f.write(allowed_signers)
        config = ["-c", f"gpg.ssh.allowedSignersFile={path}", "-c", "gpg.ssh.revocationFile="]
        for sha, letter, signer, _ in _signature_log(repo, shas, config):
            if sha in out and letter == "G" and signer and ssh_signed(repo, sha):
                out[sha] = signer
    return out


@dataclass(frozen=True)
class PathChange:
    """A commit that changed one path: its blob in the first parent and in the commit (None: absent),
    read as ``before`` and ``after`` when asked for."""

    commit: CommitInfo
    #: the raw ids of the path's blob in the first parent and in the commit
    before_id: bytes | None
    after_id: bytes | None
    #: the first parent (None for a root commit)
    parent: str | None
    #: which of the walk's tips hold the commit in their history: bit ``i`` for ``tips[i]``
    reached_by: int = 0
    #: whether the commit carries a signature (checked or not)
    signed: bool = False
    _read: Callable[[bytes], bytes] | None = field(default=None, repr=False, compare=False)

    def blob(self, oid: bytes) -> bytes:
        """The content of ``before_id`` or ``after_id``."""
        assert self._read is not None and oid in (self.before_id, self.after_id)
        return self._read(oid)

    @property
    def before(self) -> bytes | None:
        return None if self.before_id is None or self._read is None else self._read(self.before_id)

    @property
    def after(self) -> bytes | None:
        return None if self.after_id is None or self._read is None else self._read(self.after_id)


def _walk_reached(repo: Repo, tips: list[str]) -> Iterator[tuple[Any, int, list[Any]]]:
    """Every commit reachable from ``tips`` (every parent), newest first, with which tips reach it
    (bit ``i`` for ``tips[i]``) and its parents' ids."""
    from pygit2.enums import SortMode

    walker = repo.walk(pygit2.Oid(hex=tips[0]), SortMode.TOPOLOGICAL | SortMode.TIME)
    # Which tips reach each commit, handed from child to parent: in topological
    # order every child comes before its parents, so a commit's set is whole
    # when it is reached, and the walk stays linear in the history.
    reached: dict[Any, int] = {}
    for i, tip in enumerate(tips):
        oid = pygit2.Oid(hex=tip)
        reached[oid] = reached.get(oid, 0) | (1 << i)
        if i:
            walker.push(oid)
    get = reached.get
    for c in walker:
        mask = reached.pop(c.id, 0)
        parents = c.parent_ids  # ids only: a parent's commit is read when it is walked
        for p in parents:
            reached[p] = get(p, 0) | mask
        yield c, mask, parents


class PathBlobs:
    """The blob of one path at each commit asked about (its raw id; None: absent, or not a regular
    file reached through real folders), each commit's tree read once.

    A history walk asks for a commit's blob as a parent (before the commit is
    walked) and again as the commit itself; a history view asks again for the
    commit a promotion came from. Every answer is kept for the whole command.
    """

    def __init__(self, repo: Repo, path: str) -> None:
        self.repo = repo
        self.path = normalize_path(path)
        self._at: dict[Any, bytes | None] = {}
        #: the tips of the last walk (``path_changes``), and which of them reach each commit it walked
        self.tips: list[str] = []
        self._reached: dict[Any, int] = {}

    def walking(self, tips: list[str]) -> dict[Any, int]:
        """Start recording a walk from ``tips``: the map to fill with which of them reach each commit."""
        self.tips, self._reached = list(tips), {}
        return self._reached

    def reached_by(self, sha: str) -> int | None:
        """Which of ``tips`` hold commit ``sha`` in their history (bit ``i`` for ``tips[i]``); None
        when no walk has been made. A commit the walk did not meet is held by none of them."""
        if not self.tips:
            return None
        try:
            return self._reached.get(pygit2.Oid(hex=sha), 0)
        except ValueError:
            return 0

    def in_tree(self, tree: Any) -> bytes | None:
        # one lookup in libgit2: it walks real folders only, so a symlink or a
        # submodule on the way is "absent", as ``_walk`` finds it
        try:
            entry = tree[self.path]
        except (KeyError, ValueError):
            return None
        return entry.id.raw if entry.filemode in _BLOB_MODES else None

    def of_commit(self, commit: Any) -> bytes | None:
        """The blob in ``commit`` (a pygit2 commit already read)."""
        at = self._at
        oid = commit.id
        if oid in at:
            return at[oid]
        found = at[oid] = self.in_tree(commit.tree)
        return found

    def of_id(self, oid: Any) -> bytes | None:
        """The blob in the commit whose pygit2 id is ``oid``."""
        at = self._at
        if oid in at:
            return at[oid]
        found = at[oid] = self.in_tree(self.repo[oid].tree)
        return found

    def of(self, sha: str) -> bytes | None:
        """The blob in commit ``sha`` (hex); None too when ``sha`` is no commit here."""
        try:
            oid = pygit2.Oid(hex=sha)
        except ValueError:
            return None
        if oid in self._at:
            return self._at[oid]
        try:
            commit = self.repo[oid].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            return None
        return self.of_commit(commit)


def _blob_reader(repo: Repo) -> Callable[[bytes], bytes]:
    """Reads a blob by its raw id, each one once however many commits hold it."""
    blobs: dict[bytes, bytes] = {}

    def content(oid: bytes) -> bytes:
        data = blobs.get(oid)
        if data is None:
            data = blobs[oid] = bytes(repo[pygit2.Oid(raw=oid)].read_raw())
        return data

    return content


def _info(c: Any) -> CommitInfo:
    a = c.author  # each read of ``author`` builds the signature anew
    return CommitInfo(str(c.id), c.message, a.name, a.email, a.time, a.offset, c.commit_time)


def path_changes(repo: Repo, tips: list[str], path: str, blobs: PathBlobs | None = None) -> Iterator[PathChange]:
    """Every commit reachable from ``tips`` (through every parent) that changed ``path``, newest first.

    A merge counts only when ``path`` differs from every parent (as ``git
    log`` shows merges); the commits it brought in count on their own.
    ``blobs`` (of ``path``) keeps the path's blob at every commit walked, and
    which tips reach it, for the caller to ask again.
    """
    if not tips:
        return
    if blobs is None:
        blobs = PathBlobs(repo, path)
    content = _blob_reader(repo)
    of_id = blobs.of_id
    reached = blobs.walking(tips)
    for c, mask, parents in _walk_reached(repo, tips):
        reached[c.id] = mask
        after = blobs.of_commit(c)
        befores = [of_id(p) for p in parents]  # a parent's tree is read here once, kept for its turn
        if (not befores and after is None) or after in befores:
            continue
        yield PathChange(
            _info(c),
            befores[0] if befores else None,
            after,
            str(parents[0]) if parents else None,
            mask,
            c.gpg_signature[0] is not None,
            content,
        )


def _file_ids(diff: Any, suffix: str) -> dict[str, tuple[bytes | None, bytes | None]]:
    """Each ``suffix`` file a tree diff changed: its blob's raw id before and after (None: absent,
    or not a regular file, as ``PathBlobs`` reads a path)."""
    out: dict[str, tuple[bytes | None, bytes | None]] = {}
    for delta in diff.deltas:
        for f in (delta.old_file, delta.new_file):
            if f.mode and f.path.endswith(suffix):
                old, new = delta.old_file, delta.new_file
                before = old.id.raw if old.mode in _BLOB_MODES and old.path == f.path else None
                after = new.id.raw if new.mode in _BLOB_MODES and new.path == f.path else None
                if before != after:
                    out[f.path] = (before, after)
    return out


def every_path_change(repo: Repo, tips: list[str], suffix: str) -> Iterator[tuple[str, PathChange]]:
    """What ``path_changes`` yields for every path ending with ``suffix``, in one walk of the history.

    Each commit is compared with its parents once (git compares the trees, so
    the cost is that of the change, not of the tree), and a path's changes
    come in the order ``path_changes`` gives them.
    """
    if not tips:
        return
    content = _blob_reader(repo)
    for c, mask, parent_ids in _walk_reached(repo, tips):
        parents = [repo[p] for p in parent_ids]
        if parents:
            per_parent = [_file_ids(p.tree.diff_to_tree(c.tree), suffix) for p in parents]
        else:
            per_parent = [_file_ids(c.tree.diff_to_tree(swap=True), suffix)]
        first, rest = per_parent[0], per_parent[1:]
        if not first:
            continue
        info = _info(c)
        parent = str(parents[0].id) if parents else None
        signed = c.gpg_signature[0] is not None
        for path in sorted(first):
            if any(path not in other for other in rest):
                continue  # the same as in some parent: the merge took that side
            before, after = first[path]
            yield path, PathChange(info, before, after, parent, mask, signed, content)


def commit_of(repo: Repo, rev: str) -> str | None:
    """The commit ``rev`` names in ``repo`` (a SHA or a prefix of one, a branch, a tag,
    ``production~2``), or None."""
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n\r"):
        return None
    try:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return None
    return str(commit.id)


def checked_out_branches(repo: Repo) -> dict[str, str]:
    """Branch -> the work tree it is checked out in, for the main work tree and every linked one."""
    out: dict[str, str] = {}
    repos = [repo]
    for name in repo.list_worktrees():
        try:
            wt = repo.lookup_worktree(name)
            if not wt.is_prunable:
                repos.append(Repo(wt.path))
        except (pygit2.GitError, KeyError, OSError):
            continue
    for r in repos:
        if r.is_bare:
            continue
        branch = head_branch(r)
        if branch is not None:
            out.setdefault(branch, workdir(r) or r.path)
    return out


def is_clean(repo: Repo, path: str) -> bool:
    """Whether ``path`` in the work tree and index matches HEAD, as git status sees it.

    git's own comparison is used, so line-ending conversion and other
    configured filters count as git counts them. A path absent everywhere is clean.
    """
    root = workdir(repo)
    full = os.path.join(root or "", *normalize_path(path).split("/"))
    if os.path.isdir(full) and not os.path.islink(full):
        return False  # a folder in the way
    try:
        flags = repo.status_file(normalize_path(path))
    except KeyError:
        return not os.path.lexists(full)
    return int(flags) == 0


# --- artifacts: tree entries and blob sizes ---------------------------------------

# What a path is in a commit's tree, as ``entry_at`` reports it.
ENTRY_FILE = "file"
ENTRY_SYMLINK = "symlink"
ENTRY_SUBMODULE = "submodule"
ENTRY_FOLDER = "folder"


@dataclass(frozen=True)
class TreeEntry:
    """A path in a commit: what it is, and the blob id when it is a file."""

    kind: str  # ENTRY_FILE, ENTRY_SYMLINK, ENTRY_SUBMODULE or ENTRY_FOLDER
    #: the path that is this kind: the path asked for, or a folder above it that is a symlink or submodule
    path: str
    oid: str | None = None


def entry_at(repo: Repo, sha: str, path: str, trees: dict[str, Any] | None = None) -> TreeEntry | None:
    """What ``path`` is in commit ``sha``, walking one folder at a time; None when absent.

    A symlink or submodule on the way is reported as such (never followed).
    """
    entry, here, last = _walk(_root_tree(repo, sha, trees), path)
    if entry is None:
        return None
    mode = entry.filemode
    if mode == FileMode.LINK:
        return TreeEntry(ENTRY_SYMLINK, here)
    if mode == FileMode.COMMIT:
        return TreeEntry(ENTRY_SUBMODULE, here)
    if mode == FileMode.TREE:
        return TreeEntry(ENTRY_FOLDER, here)
    if mode in _BLOB_MODES and last:
        return TreeEntry(ENTRY_FILE, here, str(entry.id))
    return None


def blob_size(repo: Repo, oid: str) -> int | None:
    """The size of blob ``oid`` from its header (the content is not read), or None when absent."""
    try:
        _, size = repo.odb.read_header(pygit2.Oid(hex=oid))
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return int(size)


# --- remote-tracking branches ------------------------------------------------


def ref_tip(repo: Repo, ref: str) -> str | None:
    """The commit the full ref name ``ref`` points at, or None when there is no such ref."""
    found = _reference(repo, ref)
    if found is None:
        return None
    return _peeled(repo, found, ref.removeprefix("refs/heads/").removeprefix("refs/remotes/"))


def remotes(repo: Repo) -> list[str]:
    """The names of the configured remotes."""
    return sorted(r.name for r in repo.remotes if r.name)


def upstream_remote(repo: Repo) -> str | None:
    """The remote the current branch tracks (``branch.<name>.remote``), or None."""
    branch = head_branch(repo)
    if branch is None:
        return None
    value = config_value(repo, f"branch.{branch}.remote")
    return value if value and value != "." else None


def set_ref(repo: Repo, ref: str, sha: str, old: str | None, message: str) -> None:
    """Move ``ref`` from ``old`` (None: it must not exist) to ``sha`` by compare-and-swap; RefMoved if it moved."""
    current = ref_tip(repo, ref)
    if current != old:
        raise RefMoved(f"{ref} moved")
    try:
        if old is None:
            repo.references.create(ref, pygit2.Oid(hex=sha))
        else:
            repo.references[ref].set_target(pygit2.Oid(hex=sha), message)
    except (pygit2.GitError, ValueError, OSError, pygit2.AlreadyExistsError) as e:
        raise RefMoved(f"{ref} moved ({e})") from None


def delete_ref(repo: Repo, ref: str) -> None:
    """Delete ``ref`` if it exists (a remote-tracking branch whose branch the remote no longer has)."""
    found = repo.references.get(ref)
    if found is not None:
        found.delete()


def changed_paths(repo: Repo, a: str, b: str) -> list[str]:
    """Paths whose content differs between commits ``a`` and ``b``."""
    diff = _root_tree(repo, a, None).diff_to_tree(_root_tree(repo, b, None))
    out: set[str] = set()
    for delta in diff.deltas:
        out.add(delta.old_file.path)
        out.add(delta.new_file.path)
    return sorted(out)


def is_shallow(repo: Repo) -> bool:
    """Whether the repository is a shallow clone (its history stops at a boundary)."""
    return bool(repo.is_shallow)


def count_between(repo: Repo, old: str, new: str) -> int:
    """How many commits ``new`` has that ``old`` lacks (``git rev-list --count old..new``)."""
    ahead, _ = repo.ahead_behind(pygit2.Oid(hex=new), pygit2.Oid(hex=old))
    return int(ahead)


def set_upstream(repo: Repo, branch: str, remote: str) -> None:
    """Make ``branch`` track the branch of the same name on ``remote`` (``git branch -u``)."""
    repo.config[f"branch.{branch}.remote"] = remote
    repo.config[f"branch.{branch}.merge"] = f"refs/heads/{branch}"
