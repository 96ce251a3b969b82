"""All git work, through pygit2: the only module that imports it.

Sources are only ever read as git objects: nothing is checked out from them,
so no hook, filter or LFS smudge of theirs ever runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterator

import pygit2
from pygit2.enums import ConfigLevel, FetchPrune, FileMode, ObjectType

from mr.errors import (
    GitError,
    IdentityError,
    ProjectNotFound,
    RefMoved,
    RegistryError,
    RevNotFound,
    UnsafePath,
)
from mr.model import BRANCH, COMMIT, TAG, ResolvedRev
from mr.paths import cache_path
from mr.urls import is_url, redact

Repo = pygit2.Repository

#: Seconds to wait for a remote to connect and then to answer (MR_GIT_TIMEOUT).
DEFAULT_TIMEOUT = 30
_HEX = re.compile(r"[0-9a-fA-F]{4,40}")
_BLOB_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
#: Refs git keeps for itself: never a rev a link can record
SYMBOLIC_REFS = frozenset(
    ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "BISECT_HEAD", "REBASE_HEAD", "AUTO_MERGE")
)


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
    try:
        timeout = int(os.environ.get("MR_GIT_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        timeout = DEFAULT_TIMEOUT
    pygit2.settings.server_connect_timeout = timeout * 1000
    pygit2.settings.server_timeout = timeout * 1000


_configure()


# --- opening repositories ---------------------------------------------------


def discover(start: str) -> Repo:
    """The repository around ``start`` (the registry)."""
    _configure()
    found = pygit2.discover_repository(start)
    if found is None:
        raise RegistryError(
            f"{start}: not inside a git repository; run 'mr init' there, or pass --registry PATH"
        )
    return Repo(found)


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


def branch_tip(repo: Repo, branch: str) -> str | None:
    ref = repo.references.get(f"refs/heads/{branch}")
    if ref is None:
        return None
    return str(ref.peel(pygit2.Commit).id)


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


def entry_problem(tree: Any, path: str) -> str | None:
    """Why ``path`` in ``tree`` is not a regular file reached through real folders, or None (absent is fine).

    A symlink (mode 120000), a submodule or a folder where a file is wanted,
    or any of them on the way, is named; mr never reads or writes through them.
    """
    parts = normalize_path(path).split("/")
    here = tree
    for i, part in enumerate(parts):
        if part not in here:
            return None
        entry = here[part]
        shown = "/".join(parts[: i + 1])
        if i == len(parts) - 1:
            if entry.filemode in _BLOB_MODES:
                return None
            return f"{shown} is {_describe(entry.filemode)}, not a regular file"
        if entry.filemode != FileMode.TREE:
            what = "a symlinked folder" if entry.filemode == FileMode.LINK else _describe(entry.filemode)
            if entry.filemode in _BLOB_MODES:
                what = "a file, not a folder"
            return f"{shown} is {what}; mr never reads or writes through it"
        here = entry  # a subtree entry is the Tree itself
    return None


def read_at(
    repo: Repo, sha: str, path: str, trees: dict[str, Any] | None = None, *, where: str | None = None
) -> bytes | None:
    """The content of ``path`` in commit ``sha``, or None when nothing is there.

    ``UnsafePath`` when the entry (or a folder on the way) is a symlink, a
    submodule or a folder: mr never reads through them. ``where`` names the
    commit in that message (a stage, say). ``trees`` caches the root tree of
    each commit between calls.
    """
    tree = trees.get(sha) if trees is not None else None
    if tree is None:
        tree = repo[sha].peel(pygit2.Tree)
        if trees is not None:
            trees[sha] = tree
    try:
        entry = tree[normalize_path(path)]
    except (KeyError, ValueError):
        entry = None
    if entry is None or entry.filemode not in _BLOB_MODES:
        problem = entry_problem(tree, path)
        if problem:
            raise UnsafePath(f"{where}:{problem}" if where else problem)
        return None
    return repo[entry.id].read_raw()


def tree_files(repo: Repo, sha: str, suffix: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Every regular file under commit ``sha`` whose name ends with ``suffix``, with its content;
    and every other non-folder entry with that suffix (a symlink, a submodule), with what it is."""
    out: list[tuple[str, bytes]] = []
    unsafe: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", repo[sha].peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            name = prefix + entry.name
            if entry.filemode == FileMode.TREE:
                stack.append((name + "/", repo[entry.id]))  # a folder (even one named *.mlem) is walked
            elif entry.filemode in _BLOB_MODES and name.endswith(suffix):
                out.append((name, repo[entry.id].read_raw()))
            elif name.endswith(suffix):
                unsafe.append((name, f"{_describe(entry.filemode)}, not a regular file"))
    return sorted(out), sorted(unsafe)


def files_at(repo: Repo, sha: str, suffix: str) -> list[tuple[str, bytes]]:
    """Every regular file under commit ``sha`` whose name ends with ``suffix``, with its content."""
    return tree_files(repo, sha, suffix)[0]


# --- revs -----------------------------------------------------------------------


def rev_problem(rev: str) -> str | None:
    """Why ``rev`` cannot name a branch, tag or commit, or None."""
    if _HEX.fullmatch(rev):
        return None
    if rev in SYMBOLIC_REFS or rev == "@":
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
    if ref is None:
        kind = COMMIT
    elif ref.name.startswith("refs/tags/"):
        kind = TAG
    elif ref.name.startswith(("refs/heads/", "refs/remotes/")):
        kind = BRANCH
    else:
        kind = COMMIT
    return ResolvedRev(rev=rev, sha=str(commit.id), kind=kind)


def kind_of(repo: Repo, rev: str) -> str | None:
    """Branch or tag for a symbolic rev, without resolving it to a commit."""
    if rev_problem(rev):
        return None
    for prefix, kind in (("refs/tags/", TAG), ("refs/heads/", BRANCH), ("refs/remotes/", BRANCH)):
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


def tags(repo: Repo) -> list[str]:
    return sorted(r[len("refs/tags/") :] for r in repo.references if r.startswith("refs/tags/"))


# --- projects ------------------------------------------------------------------


@dataclass
class Project:
    """A source project opened for reading: in place, or through the cache."""

    spec: str
    repo: Repo
    remote: bool
    _trees: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def display(self) -> str:
        return redact(self.spec)

    def resolve(self, rev: str) -> ResolvedRev:
        return resolve(self.repo, rev, self.display)

    def default_branch(self) -> str:
        return default_branch(self.repo, self.display)

    def read(self, sha: str, path: str) -> bytes | None:
        return read_at(self.repo, sha, path, self._trees)

    def kind_of(self, rev: str) -> str | None:
        return kind_of(self.repo, rev)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials from ssh-agent or git's credential helpers, asked once each."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._tried: set[str] = set()

    def credentials(self, url: str, username_from_url: str | None, allowed_types: Any) -> Any:
        from pygit2.enums import CredentialType

        if allowed_types & CredentialType.SSH_KEY and "agent" not in self._tried:
            self._tried.add("agent")
            return pygit2.KeypairFromAgent(username_from_url or "git")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and "helper" not in self._tried:
            self._tried.add("helper")
            user, password = _credential_fill(url)
            if user is not None and password is not None:
                return pygit2.UserPass(user, password)
        raise GitError(f"{redact(url)}: authentication failed")


def _credential_fill(url: str) -> tuple[str | None, str | None]:
    """Ask git's credential helpers, never a terminal prompt."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", SSH_ASKPASS="true")
    try:
        out = subprocess.run(
            ["git", "credential", "fill"],
            input=f"url={url}\n\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    if out.returncode != 0:
        return None, None
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return values.get("username"), values.get("password")


def fetch(url: str, path: str) -> Repo:
    """Fetch every branch and tag of ``url`` into the bare cache at ``path``."""
    _configure()
    with _locked(path + ".lock"):
        fresh = not os.path.isdir(path)
        target = f"{path}.tmp-{os.getpid()}" if fresh else path
        if fresh:
            shutil.rmtree(target, ignore_errors=True)
            repo = pygit2.init_repository(target, bare=True)
        else:
            repo = Repo(path)
        try:
            remote = repo.remotes.create_anonymous(url)
            remote.fetch(
                ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                callbacks=_Callbacks(url),
                prune=FetchPrune.PRUNE,
            )
            head = next(
                (h.symref_target for h in remote.list_heads(connect=False) if h.name == "HEAD"),
                None,
            )
        except (pygit2.GitError, GitError, OSError) as e:
            if fresh:
                shutil.rmtree(target, ignore_errors=True)
            message = redact(str(e)).replace(url, redact(url))
            raise ProjectNotFound(f"cannot fetch {redact(url)}: {message}") from None
        if head and head.startswith("refs/heads/"):
            repo.references.create("HEAD", head, force=True)
        if fresh:
            os.replace(target, path)
            repo = Repo(path)
        return repo


class Projects:
    """Opens source projects, each at most once (and fetched at most once) per command."""

    def __init__(self, base: str, *, fetch: bool = True) -> None:
        #: relative local paths are taken from here (the registry root)
        self.base = base
        #: False: never touch the network, use the cache as it is
        self.fetch = fetch
        self._open: dict[str, Project] = {}

    def open(self, spec: str) -> Project:
        key = spec if is_url(spec) else self.local_path(spec)
        project = self._open.get(key)
        if project is None:
            project = self._open_new(spec, key)
            self._open[key] = project
        return project

    def local_path(self, spec: str) -> str:
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(spec)))

    def _open_new(self, spec: str, key: str) -> Project:
        if not is_url(spec):
            repo = open_exact(key)
            if repo is None:
                what = "no such folder" if not os.path.isdir(key) else "not a git repository"
                raise ProjectNotFound(f"project {spec}: {what} ({key})")
            return Project(spec, repo, remote=False)
        path = cache_path(spec)
        if self.fetch:
            return Project(spec, fetch(spec, path), remote=True)
        repo = open_exact(path)
        if repo is None:
            raise ProjectNotFound(f"project {redact(spec)} is not in the cache (offline)")
        return Project(spec, repo, remote=True)

    def open_all(self, specs: list[str], jobs: int, done: Any = None) -> dict[str, str]:
        """Open (and fetch) ``specs`` in parallel; return the error of each that failed.

        ``done`` is called with each spec as it finishes.
        """
        from concurrent.futures import ThreadPoolExecutor

        failed: dict[str, str] = {}

        def one(spec: str) -> None:
            try:
                self.open(spec)
            except (ProjectNotFound, GitError) as e:
                failed[spec] = e.message
            finally:
                if done is not None:
                    done(spec)

        if not specs:
            return failed
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(specs)))) as pool:
            list(pool.map(one, specs))
        return failed

    def cached(self, spec: str) -> Project | None:
        """The project if it can be opened without the network, else None."""
        if not is_url(spec):
            try:
                return self.open(spec)
            except ProjectNotFound:
                return None
        if spec in self._open:
            return self._open[spec]
        repo = open_exact(cache_path(spec))
        return Project(spec, repo, remote=True) if repo is not None else None


# --- writing commits -----------------------------------------------------------


def signature(repo: Repo | None, role: str = "AUTHOR") -> Any:
    """The commit identity: GIT_AUTHOR_*/GIT_COMMITTER_* first, then git config."""
    name = os.environ.get(f"GIT_{role}_NAME")
    email = os.environ.get(f"GIT_{role}_EMAIL") or os.environ.get("EMAIL")
    if not (name and email):
        _configure()
        config = repo.config if repo is not None else pygit2.Config.get_global_config()
        try:
            name = name or config["user.name"]
            email = email or config["user.email"]
        except (KeyError, pygit2.GitError):
            pass
    if not (name and email):
        raise IdentityError(
            "no git identity to commit with: run\n"
            "  git config --global user.name 'Your Name'\n"
            "  git config --global user.email you@example.com\n"
            "or set GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL"
        )
    return pygit2.Signature(name, email)


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
                raise UnsafePath(f"{prefix}{name} is {_describe(mode)}, not a regular file; mr never replaces or follows it")
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


def _write_commit(
    repo: Repo, base: Any, files: dict[str, bytes], message: str, author: Any, committer: Any, parents: list[Any]
) -> Any:
    """Write the blobs, trees and commit object (no ref moves); OS failures are named, not crashes."""
    try:
        tree = _tree_with(repo, base, {normalize_path(p): d for p, d in files.items()})
        return repo.create_commit(None, author, committer, message, tree, parents)
    except (pygit2.GitError, OSError) as e:
        raise GitError(f"cannot write to {repo.path.rstrip('/')}: {redact(str(e))}") from None


_CURRENT = "current"


def commit_on_new_branch(
    repo: Repo, branch: str, base: str, files: dict[str, bytes], message: str, force: bool = False
) -> str:
    """Commit ``files`` on top of commit ``base`` as a new branch ``branch``; return the SHA.

    Refuses (``GitError``) when the branch exists, unless ``force``.
    """
    name = f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(name):
        raise GitError(f"{branch!r} is not a valid branch name")
    if name in repo.references and not force:
        raise GitError(f"branch {branch} exists; pass --force to replace it")
    author = signature(repo, "AUTHOR")
    committer = signature(repo, "COMMITTER")
    parent = pygit2.Oid(hex=base)
    base_tree = repo[parent].peel(pygit2.Tree)
    oid = _write_commit(repo, base_tree, files, message, author, committer, [parent])
    try:
        repo.references.create(name, oid, force=force)
    except (pygit2.GitError, pygit2.AlreadyExistsError, OSError) as e:
        raise GitError(f"cannot create branch {branch}: {e}") from None
    return str(oid)


def commit_files(
    repo: Repo,
    branch: str,
    files: dict[str, bytes],
    message: str,
    expect: str | None = _CURRENT,
    create: bool = True,
) -> str:
    """Commit ``files`` onto ``branch`` without touching any work tree; return the SHA.

    ``expect`` is the tip the files were computed against (None: the branch
    must not exist yet); the branch moves only if it is still there, by
    compare-and-swap, else ``RefMoved``. ``create=False`` refuses a branch
    that does not exist.
    """
    author = signature(repo, "AUTHOR")
    committer = signature(repo, "COMMITTER")
    name = f"refs/heads/{branch}"
    # Looked up before the commit is built: set_target() then moves the branch
    # only if it still points where it did (libgit2 compares and swaps).
    ref = repo.references.get(name)
    if ref is None and not create:
        raise GitError(f"no branch {branch}")
    parent = ref.peel(pygit2.Commit).id if ref is not None else None
    if expect != _CURRENT and (str(parent) if parent is not None else None) != expect:
        raise RefMoved(f"branch {branch} moved")
    base = repo[parent].peel(pygit2.Tree) if parent is not None else None
    oid = _write_commit(repo, base, files, message, author, committer, [parent] if parent else [])
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
    lock = os.path.join(repo.path, *name.split("/")) + ".lock"
    if os.path.exists(lock):
        # another writer holds the branch's lock right now: it is moving
        raise RefMoved(f"branch {branch} is being updated by another process ({lock})") from None
    raise GitError(f"cannot update branch {branch}: {redact(str(e))}") from None


def stage_in_index(repo: Repo, paths: list[str]) -> None:
    """Record ``paths`` in the index as they are in the work tree."""
    index = repo.index
    index.read()
    for path in paths:
        index.add(normalize_path(path))
    index.write()


def create_tag(repo: Repo, name: str, sha: str, message: str) -> None:
    """An annotated tag ``name`` on commit ``sha``."""
    repo.create_tag(name, pygit2.Oid(hex=sha), ObjectType.COMMIT, signature(repo, "COMMITTER"), message)


def checkout_head(repo: Repo) -> None:
    """Make the work tree and index match HEAD (for repositories mr just built)."""
    from pygit2.enums import CheckoutStrategy

    repo.checkout_head(strategy=CheckoutStrategy.FORCE)


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    """Whether commit ``ancestor`` is ``descendant`` or in its history."""
    if ancestor == descendant:
        return True
    return bool(repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))


def update_worktree(repo: Repo, files: dict[str, bytes]) -> None:
    """Make the work tree and index hold ``files`` as HEAD does, as a checkout of them would."""
    from pygit2.enums import CheckoutStrategy

    from mr import safefs

    paths = [normalize_path(p) for p in files]
    root = workdir(repo)
    for path in paths:
        # git checkout replaces a symlink rather than writing through it;
        # libgit2 may not, so such an entry is refused before anything is written
        problem = safefs.path_problem(root or "", path) if root else None
        if problem:
            raise UnsafePath(f"{problem}; the work tree was left alone")
    try:
        repo.checkout_head(strategy=CheckoutStrategy.FORCE, paths=paths)
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


def log(repo: Repo, sha: str, first_parent: bool = True) -> Iterator[CommitInfo]:
    """Commits from ``sha`` back (along first parents only, unless told), newest first."""
    from pygit2.enums import SortMode

    walker = repo.walk(pygit2.Oid(hex=sha), SortMode.TOPOLOGICAL)
    if first_parent:
        walker.simplify_first_parent()
    for c in walker:
        yield CommitInfo(str(c.id), c.message, c.author.name, c.author.email, c.author.time, c.author.offset)


def push(repo: Repo, remote_name: str, branch: str) -> str:
    """Push ``branch`` to ``remote_name`` (a remote's name or a URL), fast-forward only.

    Returns the remote's URL (credentials redacted).
    """
    _configure()
    try:
        remote = repo.remotes[remote_name]
    except (KeyError, ValueError):
        if is_url(remote_name) or os.path.isdir(remote_name):
            remote = repo.remotes.create_anonymous(remote_name)
        else:
            raise GitError(f"no remote {remote_name} (git remote -v lists them)") from None
    url = remote.url or remote_name
    rejected: list[str] = []

    class Callbacks(_Callbacks):
        def push_update_reference(self, refname: str, message: str | None) -> None:
            if message:
                rejected.append(f"{refname}: {message}")

    ref = f"refs/heads/{branch}"
    try:
        remote.push([f"{ref}:{ref}"], callbacks=Callbacks(url))
    except (pygit2.GitError, GitError) as e:
        raise GitError(f"push to {redact(url)} failed: {redact(str(e))}") from None
    if rejected:
        raise GitError(f"{redact(url)} refused the push: {'; '.join(rejected)}")
    return redact(url)


def remote_url(repo: Repo, remote_name: str) -> str:
    """The URL of a remote by name (a URL or path is returned as it is)."""
    try:
        return str(repo.remotes[remote_name].url)
    except (KeyError, ValueError):
        return remote_name


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
