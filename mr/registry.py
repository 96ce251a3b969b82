"""A registry opened for one command: its repository, settings and link files."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from mr import git, linkfile, safefs
from mr.config import CONFIG_FILE, Config, load_config
from mr.errors import LinkFileError, LinkNotFound, RegistryError, RemoteError, UnsafePath, UsageError
from mr.linkcache import LinkCache
from mr.model import BACKSLASH_NAME, LINK_SUFFIX, SHORT_SHA, Link
from mr.terminal import field as safe_text
from mr.terminal import has_control, not_utf8
from mr.urls import redact

if TYPE_CHECKING:
    from mr.reader import Reader


@dataclass(frozen=True)
class StageStatus:
    """A stage's local branch against its remote-tracking branch, as ``git status`` compares them."""

    stage: str
    remote: str | None
    #: the local branch's commit, and the remote-tracking branch's (None: absent)
    local: str | None
    tracking: str | None
    #: commits the remote-tracking branch has that the local one lacks, and the other way round
    behind: int = 0
    ahead: int = 0

    @property
    def reads_tracking(self) -> bool:
        """Whether the stage is read at its remote-tracking branch.

        The one rule for every command: the only copy there is; else the newer
        of two when one holds all the other has (a local branch strictly behind
        is read at the remote-tracking tip); diverged copies, the local branch.
        """
        if self.local is None:
            return self.tracking is not None
        return self.tracking is not None and self.behind > 0 and self.ahead == 0

    @property
    def tip(self) -> str | None:
        """The commit the stage is read at, by the rule of ``reads_tracking``."""
        return self.tracking if self.reads_tracking else self.local

    @property
    def read_from(self) -> str:
        """The copy read: the branch's name, or ``remote/stage`` for the remote-tracking branch."""
        return f"{self.remote}/{self.stage}" if self.reads_tracking else self.stage

    @property
    def other(self) -> str | None:
        """The copy not read, when there are two that differ, and the commit it is at."""
        if self.local is None or self.tracking is None or self.local == self.tracking:
            return None
        return self.stage if self.reads_tracking else f"{self.remote}/{self.stage}"

    @property
    def other_tip(self) -> str | None:
        if self.other is None:
            return None
        return self.local if self.reads_tracking else self.tracking

    @property
    def stale(self) -> bool:
        """The local branch lacks commits of its remote-tracking branch (behind, or diverged)."""
        return self.behind > 0

    @property
    def diverged(self) -> bool:
        return self.behind > 0 and self.ahead > 0

    def note(self) -> str | None:
        """What a read of the stage says about its two copies, or None when they agree."""
        if self.other is None:
            return None
        theirs = f"{self.remote}/{self.stage}"
        if self.diverged:
            return f"{self.state()}; mr reads the local branch"
        if self.behind:
            s = "s" if self.behind != 1 else ""
            return f"reading {theirs}: your {self.stage} is {self.behind} commit{s} behind (mr sync updates it)"
        s = "s" if self.ahead != 1 else ""
        return f"{self.stage} has {self.ahead} commit{s} not on {theirs} (not pushed yet)"

    def state(self) -> str:
        """A ``git status``-like sentence naming both commits."""
        assert self.local is not None and self.tracking is not None
        theirs = f"{self.remote}/{self.stage}"
        both = f"{self.stage} at {self.local[:SHORT_SHA]}, {theirs} at {self.tracking[:SHORT_SHA]}"
        if self.ahead:
            state = (
                f"{self.stage} and {theirs} have diverged ({self.ahead} and {self.behind} different commits; {both})"
            )
        else:
            s = "s" if self.behind != 1 else ""
            state = f"{self.stage} is {self.behind} commit{s} behind {theirs} ({both})"
        return state

    def update_hint(self) -> str:
        """How to bring the local branch up to date."""
        theirs = f"{self.remote}/{self.stage}"
        if self.ahead:
            return (
                f"reconcile them (git checkout {self.stage} && git pull --rebase {self.remote} {self.stage}), then push"
            )
        return (
            f"update it: git fetch {self.remote} && git branch -f {self.stage} {theirs} "
            f"(git pull --ff-only where it is checked out)"
        )


#: Limits on link names, inside every file system's (255 bytes a name, with .mlem and a temp suffix).
MAX_PART_BYTES = 200
MAX_NAME_BYTES = 1024
MAX_NAME_DEPTH = 32


#: below this many link files to read, they are read rather than looked up among those kept
FEW_FILES = 200


def link_name(name: str) -> str:
    """A registry-relative link name without ``.mlem``; UsageError when it is no name."""
    raw = name
    name = name.replace("\\", "/").strip()
    if name.endswith(LINK_SUFFIX):
        name = name[: -len(LINK_SUFFIX)]
    norm = posixpath.normpath(name) if name else ""
    if not norm or norm in (".", "..") or name.endswith("/"):
        raise UsageError(f"{raw!r} is not a link name")
    if norm.startswith("/") or norm.startswith("../"):
        raise UsageError(f"{raw}: a link name is a path inside the registry")
    if any(part in (".git", "") for part in norm.split("/")):
        raise UsageError(f"{raw}: a link cannot live under .git")
    if len(norm.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES or norm.count("/") >= MAX_NAME_DEPTH:
        raise UsageError(
            f"{raw[:60]}...: a link name is at most {MAX_NAME_BYTES} bytes and {MAX_NAME_DEPTH} folders deep"
        )
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_PART_BYTES for part in norm.split("/")):
        raise UsageError(
            f"{raw[:60]}...: each part of a link name is at most {MAX_PART_BYTES} bytes (a file-system limit)"
        )
    if not_utf8(norm):
        raise UsageError(f"{safe_text(raw)}: a link name must be valid UTF-8 (rename the file)")
    if has_control(norm):
        raise UsageError(f"{raw!r}: a link name cannot hold control characters")
    return norm


@dataclass
class Registry:
    repo: git.Repo
    #: the work tree, or the git dir of a bare registry
    root: str
    bare: bool
    _config: Config | None = field(default=None, repr=False)
    #: the URL it was fetched from, for a registry read through the cache
    url: str | None = None
    #: the remote named with ``--remote``, which wins over ``.mr.yaml`` and the upstream
    remote_option: str | None = None
    #: warnings about stages read here (a local stage behind its remote), once per stage
    notes: list[str] = field(default_factory=list, repr=False)
    _noted: set[str] = field(default_factory=set, repr=False)
    #: stage -> the ref it was fetched into by this command (``stagecommit.fetch``)
    fetched: dict[str, str] = field(default_factory=dict, repr=False)
    #: stage -> the commit this command reads it at: the fetched tip a commit is built on
    at: dict[str, str] = field(default_factory=dict, repr=False)
    #: stage -> the copy of it this command read: ``staging``, or ``origin/staging``
    read_from: dict[str, str] = field(default_factory=dict, repr=False)
    #: stage -> the commit whose ``.mr.yaml`` is its policy, when not its tip's (``judge_by``)
    policy_at: dict[str, str] = field(default_factory=dict, repr=False)
    _read: LinkCache | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        """How messages and reports name the registry: its URL (redacted), else its folder."""
        return redact(self.url) if self.url is not None else self.root

    @property
    def untrusted(self) -> bool:
        """Opened from a URL (--registry URL): its content is a remote's, untrusted."""
        return self.url is not None

    @classmethod
    def open(cls, path: str | None = None, remote_ok: bool = False, remote: str | None = None) -> Registry:
        """The registry at ``path`` (a folder inside it), or around the current directory.

        With ``remote_ok`` a URL opens a bare cache of that registry, fetched
        (not cloned again) on each call. ``remote`` (``--remote``) must name a
        configured remote; it is used for the stages the registry lacks locally.
        """
        reg = cls._open(path, remote_ok)
        reg.remote_option = remote
        reg.check_remote()
        return reg

    @classmethod
    def _open(cls, path: str | None, remote_ok: bool) -> Registry:
        from mr.urls import is_url

        if path is not None and is_url(path):
            if not remote_ok:
                raise RegistryError(
                    f"--registry {redact(path)}: a URL works with show and verify; clone the registry to change it"
                )
            from mr import cache

            try:
                fetched = cache.fetch(path, partial=False)
            except RemoteError as e:
                raise RegistryError(f"cannot fetch the registry {e.message}") from None
            repo = git.open_exact(fetched)
            if repo is None:
                raise RegistryError(f"--registry {redact(path)}: the cache cannot be opened after fetching it")
            return cls(repo=repo, root=git.root(repo), bare=True, url=path)
        start = os.path.abspath(path or os.getcwd())
        if path is not None and not os.path.exists(start):
            raise RegistryError(f"{path}: no such folder")
        return cls.of(git.discover(start))

    @classmethod
    def of(cls, repo: git.Repo) -> Registry:
        """The registry held by an opened repository (``mr init`` opens or creates it first)."""
        return cls(repo=repo, root=git.root(repo), bare=git.workdir(repo) is None)

    @property
    def config(self) -> Config:
        """The work tree's ``.mr.yaml`` (HEAD's in a bare registry)."""
        if self._config is None:
            self._config = load_config(self.read_current(CONFIG_FILE), CONFIG_FILE)
        return self._config

    def view(self, stage: str | None = None, *, policy_of: str | None = None) -> StageView:
        """The registry as ``stage``'s branch has it (None: as the work tree has it).

        The one place that decides which copy of a stage is read (the local
        branch, the remote-tracking one, or the tip this command fetched and
        builds on), which ``.mr.yaml`` applies (the stage's own; ``policy_of``
        names the stage whose policy judges a work tree headed there), and
        where an alias link is read. Every command reads a stage through one.
        """
        if stage is not None:
            commit: str | None = self.stage_tip(stage)
            config = self.stage_config(stage)
        else:
            # a bare registry has no work tree: it is read at HEAD's branch
            branch = git.head_branch(self.repo) if self.bare else None
            commit = git.branch_tip(self.repo, branch) if branch else None
            config = self.config
        if policy_of is not None and policy_of != stage:
            config = self.stage_config(policy_of)
        return StageView(self, stage, commit, config)

    def head_commit(self) -> str | None:
        """The tip of the checked-out branch; None at a detached HEAD or on an unborn branch."""
        branch = git.head_branch(self.repo)
        return git.branch_tip(self.repo, branch) if branch else None

    def fetched_into(self, stage: str, ref: str) -> None:
        """Record that this command fetched ``stage`` into ``ref``: commits on it are built on that tip."""
        self.fetched[stage] = ref

    def read_stage_at(self, stage: str, commit: str, copy: str | None = None) -> None:
        """From now on this command reads ``stage`` at ``commit`` (the fetched tip it builds on), named ``copy``."""
        self.at[stage] = commit
        self.read_from[stage] = copy or stage

    def copies(self) -> tuple[tuple[str, str], ...]:
        """Each stage this command read, with the copy of it read (``read_from`` in JSON)."""
        return tuple(self.read_from.items())

    def stage_config(self, stage: str) -> Config:
        """``.mr.yaml`` as the stage's own branch has it (or the commit ``judge_by`` names for it)."""
        sha = self.policy_at.get(stage) or self.stage_tip(stage)
        return load_config(git.read_at(self.repo, sha, CONFIG_FILE, where=stage), f"{stage}:{CONFIG_FILE}")

    def judge_by(self, stage: str, commit: str) -> None:
        """From now on ``stage``'s policy is the ``.mr.yaml`` of ``commit`` (a push is judged by the stage it changes)."""
        self.policy_at[stage] = commit

    def read_current(self, path: str) -> bytes | None:
        """``path`` as the work tree has it now (HEAD's in a bare registry); None when absent."""
        if not self.bare:
            return safefs.read_in(self.root, path)
        branch = git.head_branch(self.repo)
        sha = git.branch_tip(self.repo, branch) if branch else None
        return git.read_at(self.repo, sha, path, where=branch) if sha else None

    @property
    def remote(self) -> str | None:
        """The remote whose tracking branches stand in for stages without a local branch.

        ``--remote``, else ``remote:`` in ``.mr.yaml``, else the upstream of the
        current branch, else ``origin``; None for a registry read by URL.
        """
        if self.url is not None:
            return None
        if self.remote_option is not None:
            return self.remote_option
        return self.config.remote or git.upstream_remote(self.repo) or "origin"

    def check_remote(self) -> None:
        """Refuse a ``--remote`` that names no configured remote."""
        name = self.remote_option
        if name is None:
            return
        if self.url is not None:
            raise UsageError(f"--remote {safe_text(name)}: a registry read by URL has no remotes")
        known = git.remotes(self.repo)
        if name not in known:
            listed = ", ".join(known) or "none"
            raise RegistryError(
                f"--remote {safe_text(name)}: no such remote (remotes: {listed}; git remote -v lists them)"
            )

    def tracking_ref(self, stage: str, remote: str | None = None) -> str | None:
        """``refs/remotes/<remote>/<stage>`` for the registry's remote (or ``remote``)."""
        remote = remote or self.remote
        return f"refs/remotes/{remote}/{stage}" if remote else None

    def stage_status(self, stage: str) -> StageStatus:
        """Where a stage can be read: its local branch, its remote-tracking branch, both or neither."""
        ref = self.tracking_ref(stage)
        return self._compare(stage, self.remote, git.ref_tip(self.repo, ref) if ref else None)

    def _compare(self, stage: str, remote: str | None, tracking: str | None) -> StageStatus:
        local = git.branch_tip(self.repo, stage)
        behind = ahead = 0
        if local is not None and tracking is not None and local != tracking:
            behind = git.count_between(self.repo, local, tracking)
            ahead = git.count_between(self.repo, tracking, local)
        return StageStatus(stage, remote, local, tracking, behind, ahead)

    def fetched_source(self, stage: str, ref: str, remote: str) -> None:
        """Record that this command fetched ``stage``, which it reads, into ``ref`` from ``remote``.

        From now on the stage is read at the newer of its local branch and
        that ref, by ``StageStatus``'s rule (noted once when they differ).
        """
        status = self._compare(stage, remote, git.ref_tip(self.repo, ref))
        self.at.pop(stage, None)
        note = status.note()
        if note is not None and note not in self.notes:
            self.notes.append(note)
        self._noted.add(stage)
        if status.tip is not None:
            self.read_stage_at(stage, status.tip, status.read_from)

    def find_stage(self, stage: str) -> str | None:
        """The commit a stage is read at (its local branch, else its remote-tracking branch), or None.

        A local branch behind or diverged from its remote-tracking branch is
        noted once, in ``notes``.
        """
        if stage in self.at:
            return self.at[stage]
        return self.read_by_rule(self.stage_status(stage))

    def read_by_rule(self, status: StageStatus) -> str | None:
        """The tip ``status`` says the stage is read at; noted once, and recorded in ``read_from``."""
        stage = status.stage
        if stage not in self._noted:
            self._noted.add(stage)
            note = status.note()
            if note is not None:
                self.notes.append(note)
        if status.tip is not None:
            self.read_from.setdefault(stage, status.read_from)
        return status.tip

    def stage_tip(self, stage: str) -> str:
        sha = self.find_stage(stage)
        if sha is None:
            raise RegistryError(self.missing_stage(stage))
        return sha

    def elsewhere(self, stage: str, rel: str) -> str:
        """`` (origin/staging has it)`` when the copy of ``stage`` not read has ``rel``; else ``""``."""
        status = self.stage_status(stage)
        other = status.other_tip
        if other is None or git.entry_at(self.repo, other, rel) is None:
            return ""
        return f" ({status.other} has it)"

    def missing_stage(self, stage: str) -> str:
        """Why a stage cannot be read, and what to fetch."""
        known = ", ".join(git.branches(self.repo)) or "none"
        remote = self.remote
        if remote is None or remote not in git.remotes(self.repo):
            return f"no branch {stage} in {self.display} (branches: {known})"
        return (
            f"no branch {stage} in {self.display}, nor {remote}/{stage} (branches: {known}); "
            f"fetch it: git fetch {remote} {stage}:refs/remotes/{remote}/{stage}"
        )

    def path_of(self, name: str) -> str:
        return os.path.join(self.root, *name.split("/")) + LINK_SUFFIX

    def entries(self, stage: str | None = None) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
        """Every regular ``.mlem`` file with its content, and every ``.mlem`` entry that is
        neither a regular file nor a real folder (a symlink, a FIFO, a submodule) with what it
        is; on a stage, or in the work tree. The unsafe ones are never read or followed."""
        if stage is not None or self.bare:
            if stage is None:
                stage = git.head_branch(self.repo)
                if stage is None or git.branch_tip(self.repo, stage) is None:
                    return [], []
            return git.tree_files(self.repo, self.stage_tip(stage), LINK_SUFFIX)
        found: list[tuple[str, bytes]] = []
        unsafe: list[tuple[str, str]] = []
        # os.walk never descends into a symlinked folder (followlinks=False)
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            names = sorted(filenames) + [d for d in dirnames if d.endswith(LINK_SUFFIX)]
            for filename in names:
                if not filename.endswith(LINK_SUFFIX):
                    continue
                full = os.path.join(dirpath, filename)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                if "\\" in rel:
                    unsafe.append((rel, BACKSLASH_NAME))
                    continue
                try:
                    found.append((rel, safefs.read_file(self.root, rel)))
                except UnsafePath as e:
                    unsafe.append((rel, e.what if e.path == rel and e.what is not None else e.message))
                except (IsADirectoryError, FileNotFoundError):
                    continue  # a real folder (walked in turn), or removed while walking
        return found, unsafe

    def links(self, stage: str | None = None) -> tuple[list[Link], list[LinkFileError]]:
        """Every link (files that are other MLEM objects are left out) and every unreadable file."""
        if stage is None and self.bare:
            stage = git.head_branch(self.repo)
            if stage is None or git.branch_tip(self.repo, stage) is None:
                return [], []
        if stage is None:
            return self._parse(self.entries(), None)
        return self._parse_blobs(git.tree_blobs(self.repo, self.stage_tip(stage), LINK_SUFFIX), stage)

    def links_at(self, commit: str, label: str) -> tuple[list[Link], list[LinkFileError]]:
        """Every link at ``commit`` (any revision of the registry, named ``label`` in messages)."""
        return self._parse_blobs(git.tree_blobs(self.repo, commit, LINK_SUFFIX), label)

    def links_in(
        self, blobs: list[tuple[str, bytes]], unsafe: list[tuple[str, str]], label: str
    ) -> tuple[list[Link], list[LinkFileError]]:
        """The links in ``blobs`` (``(path, raw blob id)``, as ``git.tree_blobs`` gives them); what
        ``unsafe`` names is reported, never read. ``label`` names where they were read."""
        return self._parse_blobs((blobs, unsafe), label)

    def _parse(
        self, found: tuple[list[tuple[str, bytes]], list[tuple[str, str]]], stage: str | None
    ) -> tuple[list[Link], list[LinkFileError]]:
        regular, unsafe = found
        kept = self.kept_links(len(regular))
        return self._read_all(regular, unsafe, stage, lambda data, shown, name: kept.load_file(data, shown, name))

    def _parse_blobs(
        self, found: tuple[list[tuple[str, bytes]], list[tuple[str, str]]], stage: str | None
    ) -> tuple[list[Link], list[LinkFileError]]:
        """Files named by blob id: a blob whose link was read before is not read again."""
        regular, unsafe = found
        kept, read = self.kept_links(len(regular)), partial(git.read_blob_id, self.repo)
        return self._read_all(regular, unsafe, stage, lambda oid, shown, name: kept.load_blob(oid, read, shown, name))

    def _read_all(
        self,
        files: list[tuple[str, bytes]],
        unsafe: list[tuple[str, str]],
        stage: str | None,
        load: Callable[[bytes, str, str], Link | dict[str, Any]],
    ) -> tuple[list[Link], list[LinkFileError]]:
        """Each file ``(path, its content or blob id)``, read by ``load`` as a link."""
        links: list[Link] = []
        problems: list[LinkFileError] = []
        for rel, what in unsafe:
            shown = f"{stage}:{rel}" if stage else rel
            problems.append(LinkFileError(shown, f"{what}; mr never reads or writes through it"))
        for rel, source in files:
            shown = f"{stage}:{rel}" if stage else rel
            try:
                obj = load(source, shown, rel[: -len(LINK_SUFFIX)])
            except LinkFileError as e:
                problems.append(e)
                continue
            if isinstance(obj, Link):
                links.append(obj)
        if self._read is not None:
            self._read.save()
        return links, problems

    def kept_links(self, files: int | None = None) -> LinkCache:
        """The link files this registry has read before (``linkcache``); ``save()`` keeps this run's.

        For fewer than ``FEW_FILES`` files (a diff, one link) reading them beats loading what was kept.
        """
        if files is not None and files < FEW_FILES:
            return self._read or LinkCache(None)
        if self._read is None:
            self._read = LinkCache(self.repo.path)
        return self._read

    def read_link(self, name: str, stage: str | None = None) -> Link:
        rel = link_name(name) + LINK_SUFFIX
        if stage is not None:
            data = git.read_at(self.repo, self.stage_tip(stage), rel, where=stage)
            shown = f"{stage}:{rel}"
        else:
            data = self.read_current(rel)
            shown = rel
        if data is None:
            raise LinkNotFound(f"{shown}: no such link{self.elsewhere(stage, rel) if stage else ''}")
        return linkfile.load_link(data, shown, name=rel[: -len(LINK_SUFFIX)])


@dataclass(frozen=True)
class StageView:
    """One stage of the registry as a command reads it (``Registry.view``)."""

    registry: Registry
    #: the stage read; None: the work tree
    stage: str | None
    #: the commit read; None: the work tree (a bare registry is read at HEAD's branch)
    commit: str | None
    #: the ``.mr.yaml`` whose policy and hosts apply
    config: Config

    def committed(self) -> str | None:
        """The commit files are copied from: the stage's, else the checked-out branch's tip."""
        return self.commit if self.commit is not None else self.registry.head_commit()

    def reader(
        self,
        *,
        fetch: bool = True,
        allow_local: bool = False,
        overlay: dict[str, bytes] | None = None,
        alias_at: str | None = None,
    ) -> Reader:
        """A reader of this view: its hosts and policy, the registry's trust, aliases read here.

        ``overlay`` holds files an alias sees first (a plan not committed yet);
        ``alias_at`` reads aliases at that commit instead of the view's.
        """
        from mr.reader import Reader

        return Reader(
            self.registry.root,
            fetch=fetch,
            alias_rev=alias_at if alias_at is not None else self.commit,
            overlay=overlay,
            alias_label=self.stage,
            hosts=self.config.hosts,
            policy=self.config,
            untrusted_root=self.registry.untrusted,
            allow_local=allow_local,
        )
