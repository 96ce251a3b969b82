"""``mr show``: the links of the work tree or a stage, one field of one link, and the views across stages
(the matrix, the diff between two stages, a link's history)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from mr import git, linkfile, when
from mr.errors import LinkFileError, LinkNotFound, MrError, RegistryError, UsageError
from mr.model import (
    BRANCH,
    COMMIT,
    COMPACT_SHA,
    LINK_SUFFIX,
    PIN,
    REF,
    SHORT_SHA,
    SHOW_FIELDS,
    Link,
    Problem,
    RevKind,
    is_full_sha,
    version_key,
    version_of,
)
from mr.registry import FEW_FILES, Registry, link_name
from mr.results import (
    HistoryEntry,
    LinkAt,
    LinkChange,
    LinkEntry,
    LinkHistory,
    Matrix,
    RecordedLink,
    RegistryRecord,
    ShowResult,
    StageAt,
    StageCell,
    StageDiff,
    StageState,
)
from mr.terminal import field as safe_text
from mr.trailers import Recorded, recorded, rev_of
from mr.urls import is_url, strip_credentials

if TYPE_CHECKING:
    from collections.abc import Callable

    from mr.reader import Reader


def show(
    registry: str | None = None,
    stage: str | None = None,
    resolve: bool = False,
    offline: bool = False,
    allow_local: bool = False,
    remote: str | None = None,
    at: str | None = None,
) -> ShowResult:
    """The links of the work tree (or of a stage's branch) with the kind of each rev.

    Without ``resolve`` nothing is fetched: kinds come from local projects and
    the cache, and are ``ref`` where neither knows. With ``resolve`` each
    project is fetched once and every rev resolved to its commit. The links
    of a remote registry may not name local projects unless ``allow_local``.
    A stage without a local branch is read from ``remote``'s tracking branch
    (default: ``remote:`` in ``.mr.yaml``, the upstream, else origin).
    """

    reg = Registry.open(registry, remote_ok=True, remote=remote)
    moment = commit = commit_time = None
    if at is not None:
        if stage is None:
            raise UsageError("--at goes with --stage (or NAME): the work tree has no past")
        moment = when.parse(at)
        commit, commit_time = _tip_at(reg, stage, moment, at)
        links, bad = reg.links_at(commit, f"{stage}@{commit[:SHORT_SHA]}")
        reader = reg.view(stage).reader(fetch=resolve and not offline, allow_local=allow_local, alias_at=commit)
    else:
        links, bad = reg.links(stage)
        # a stage's links are read as that stage's own .mr.yaml says (hosts:)
        reader = reg.view(stage).reader(fetch=resolve and not offline, allow_local=allow_local)
    problems = [Problem(e.file, e.line, e.detail) for e in bad]
    entries: list[LinkEntry] = []
    # without resolve, a kind depends on the project and rev alone: asked once for each
    kinds: dict[tuple[str | None, str | None, str | None], tuple[RevKind, str | None, str]] = {}
    for item in links:
        key = (item.project, item.rev, item.pinned_from)
        found = None if resolve else kinds.get(key)
        if found is None:
            kind, sha = _kind(reader, reg, item, stage, resolve, problems)
            found = kinds[key] = (kind, sha, _version(reader, item, kind, sha))
        kind, sha, version = found
        entries.append(LinkEntry(name=item.name or "", link=item, kind=kind, sha=sha, version=version))
    return ShowResult(
        registry=reg.display,
        # a bare registry has no work tree: what was shown is HEAD's branch
        stage=stage if stage is not None or not reg.bare else git.head_branch(reg.repo),
        entries=tuple(sorted(entries, key=lambda e: e.name)),
        problems=tuple(problems),
        notes=tuple(reg.notes),
        read_from=reg.copies(),
        at=moment,
        commit=commit,
        commit_time=commit_time,
    )


def _tip_at(reg: Registry, stage: str, moment: int, asked: str) -> tuple[str, int]:
    """The commit that was ``stage``'s tip at ``moment``, by its first-parent history; one clear
    line when the stage did not exist yet."""
    found, first = git.tip_at(reg.repo, reg.stage_tip(stage), moment)
    if found is None:
        raise RegistryError(
            f"{stage} did not exist yet at {when.text(moment)} (--at {safe_text(asked)}): "
            f"its first commit is of {when.text(first)}"
        )
    return found, first


def link_at(name: str, at: str, registry: str | None = None, remote: str | None = None) -> LinkAt:
    """The link ``name`` on every stage as it was at the moment ``at`` (``mr.when`` reads it), with
    the commit each stage's tip was then (None: the stage did not exist yet)."""
    reg = Registry.open(registry, remote_ok=True, remote=remote)
    name = link_name(name)
    path = name + LINK_SUFFIX
    moment = when.parse(at)
    stages: list[StageAt] = []
    problems: list[Problem] = []
    for stage in reg.config.stages:
        tip = reg.find_stage(stage)
        commit, time = git.tip_at(reg.repo, tip, moment) if tip is not None else (None, None)
        link = None
        if commit is not None:
            data = git.read_at(reg.repo, commit, path, where=stage)
            shown = f"{stage}@{commit[:SHORT_SHA]}:{path}"
            if data is not None:
                try:
                    link = linkfile.load_link(data, shown, name=name)
                except LinkFileError as e:
                    problems.append(Problem(e.file, e.line, e.detail))
        stages.append(StageAt(stage, commit, time if commit is not None else None, link))
    if all(s.commit is None for s in stages):
        raise RegistryError(f"no stage existed yet at {when.text(moment)} (--at {safe_text(at)})")
    return LinkAt(name, moment, tuple(stages), tuple(problems), tuple(reg.notes), reg.copies())


def _version(reader: Reader, item: Link, kind: RevKind, sha: str | None) -> str:
    """``version_of`` the link, with what the project at hand (local, or cached) says: the kind of
    the name a pin came from, the newest tag at a bare commit. Nothing is fetched."""
    project = None
    if item.project is not None and (item.is_pinned or is_full_sha(item.rev)):
        try:
            reader.check_local(item.project, None, item.file or item.name or "")
            project = reader.projects.cached(item.project)
        except MrError:
            project = None
    pinned_kind = project.kind_of(item.pinned_from) if project and item.pinned_from else None
    tag = project.tag_at(item.rev) if project and item.rev and not item.is_pinned else None
    return version_of(item, kind, sha, pinned_kind, tag)


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
    """One value of a link, for scripts: rev, sha (the resolved commit), project, path, url, type,
    version (``model.version_of``: v1.1.0 for a link pinned from that tag) or pinned_from.

    ``url`` is the project's URL with credentials removed (``file://`` and an
    absolute path for a local project). Raises ``MrError`` when the link or
    the stage is missing, or (for ``sha``) the rev does not resolve. A
    project is read with the ``hosts:`` of the stage's own ``.mr.yaml``; a
    remote registry's link may not name a local project unless ``allow_local``.
    """

    if field not in FIELDS:
        raise UsageError(f"--field {field}: one of {', '.join(FIELDS)}")
    reg = Registry.open(registry, remote_ok=True, remote=remote)
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
    if field == "pinned_from":
        if item.pinned_from is None:
            raise RegistryError(f"{item.file or name}: not pinned (no params.pinned_from)")
        return item.pinned_from
    view = reg.view(stage)
    alias_rev = view.commit
    reader = view.reader(allow_local=allow_local)
    reader.check_local(item.project, None, item.file or name)
    if field == "version":
        problems: list[Problem] = []
        kind, sha = _kind(reader, reg, item, stage, False, problems)
        return _version(reader, item, kind, sha)
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


def stage_matrix(registry: str | None = None, remote: str | None = None) -> Matrix:
    """Every link against every stage: the link each stage branch holds, or None."""
    return _matrix(Registry.open(registry, remote_ok=True, remote=remote))


def stage_diff(source: str, target: str, registry: str | None = None, remote: str | None = None) -> StageDiff:
    """Links added, removed and changed from ``source`` to ``target``, field by field.

    Each side is a stage (read by the one rule for stages) or any revision of
    the registry: ``production~1``, ``production@{1}``, a SHA,
    ``origin/production`` (what a push changed, for a deploy job).
    """
    return _stage_diff(Registry.open(registry, remote_ok=True, remote=remote), source, target)


def link_history(
    name: str, registry: str | None = None, remote: str | None = None, resolve: bool = False
) -> LinkHistory:
    """A link on each stage, and every commit that changed it on a stage branch, newest first.

    Each entry says what kind of change it was (promotion, rollback,
    retirement, from the commit's trailers; direct change without them) and
    the link's rev before and after.
    """
    reg = Registry.open(registry, remote_ok=True, remote=remote)
    history = _history(reg, name)
    return _with_latest(reg, history) if resolve else history


def _with_latest(reg: Registry, history: LinkHistory) -> LinkHistory:
    """``history`` with the newest version tag of the link's project (fetched once), and the stages
    at it: GTO's ``latest`` column. Tags compare with tags of the same prefix as the link's own."""
    links = [link for _, link in history.stages if link is not None]
    source = next((link for link in links if link.project is not None), None)
    if source is None or source.project is None:
        return history
    reader = reg.view(None).reader()
    project = reader.projects.open(source.project)
    mine = next((version_key(v) for v in (version_of(link) for link in links) if version_key(v)), None)
    keyed = [(key, tag) for tag in git.tags(project.repo) if (key := version_key(tag)) is not None]
    if mine is not None:
        keyed = [(key, tag) for key, tag in keyed if key[0] == mine[0]]
    if not keyed:
        return history
    latest = max(keyed)[1]
    on = tuple(stage for stage, link in history.stages if link is not None and version_of(link) == latest)
    return replace(history, latest=latest, latest_on=on, notes=(*history.notes, *reader.projects.notes))


def _matrix(reg: Registry) -> Matrix:
    """Every link on every stage branch."""
    stages = reg.config.stages
    per_stage: list[dict[str, Link]] = []
    problems: list[Problem] = []
    for stage in stages:
        if reg.find_stage(stage) is None:
            per_stage.append({})
            problems.append(Problem(stage, None, f"no branch {stage} (mr init creates it)", "warning"))
            continue
        links, bad = reg.links(stage)
        problems += [Problem(e.file, e.line, e.detail) for e in bad]
        per_stage.append({link.name or "": link for link in links})
    names = sorted({n for s in per_stage for n in s})
    rows = {n: tuple(s.get(n) for s in per_stage) for n in names}
    retired = {}
    for i, stage in enumerate(stages):
        missing = {n for n in names if n not in per_stage[i]}
        tip = reg.find_stage(stage)
        if missing and tip is not None:
            retired[stage] = frozenset(missing & _retired_on(reg, tip))
    return Matrix(stages, rows, tuple(problems), tuple(reg.notes), reg.copies(), retired)


def _retired_on(reg: Registry, tip: str) -> set[str]:
    """The links a retirement commit took off the stage at ``tip`` (by its trailers), along its first parents."""
    from mr.model import ACTION_RETIRE, TRAILER_ACTION, TRAILER_LINK
    from mr.trailers import parse_trailers

    out: set[str] = set()
    for c in git.log(reg.repo, tip):
        if f"{TRAILER_ACTION}: {ACTION_RETIRE}" not in c.message:
            continue  # most commits: no trailers to parse
        trailers = parse_trailers(c.message)
        if (TRAILER_ACTION, ACTION_RETIRE) in trailers:
            out.update(value for key, value in trailers if key == TRAILER_LINK)
    return out


def _stage_diff(reg: Registry, source: str, target: str) -> StageDiff:
    """Links added, removed and changed going from stage ``source`` to stage ``target``.

    Only the files that differ are read (git compares the trees), so the
    cost is that of the change, not of the registry. A file both sides share
    is no difference, even one that cannot be read (``mr verify`` says so).
    """
    source_commit, source_tip = _side(reg, source)
    target_commit, target_tip = _side(reg, target)
    changed = git.changed_blobs(reg.repo, source_tip, target_tip, LINK_SUFFIX)
    sides = []
    for i, label in ((1, source), (2, target)):
        blobs: list[tuple[str, bytes]] = []
        unsafe: list[tuple[str, str]] = []
        for change in changed:
            side = change[i]
            if isinstance(side, bytes):
                blobs.append((change[0], side))
            elif isinstance(side, str):
                unsafe.append((change[0], side))
        sides.append(reg.links_in(blobs, unsafe, label))
    (a, bad_a), (b, bad_b) = sides
    old = {link.name: link for link in a}
    new = {link.name: link for link in b}
    changes = []
    for name in sorted(set(old) | set(new), key=str):
        before, after = old.get(name), new.get(name)
        if before is None or after is None or before != after:
            changes.append(LinkChange(name or "", before, after))
    problems = tuple(Problem(e.file, e.line, e.detail) for e in (*bad_a, *bad_b))
    return StageDiff(
        source, target, tuple(changes), problems, tuple(reg.notes), reg.copies(), source_commit, target_commit
    )


def _side(reg: Registry, rev: str) -> tuple[str | None, str]:
    """One side of a diff, a stage or else any revision of the registry: the commit it names, twice
    (the commit reported, the commit read)."""
    if rev in reg.config.stages:
        tip = reg.stage_tip(rev)
        return tip, tip
    commit = git.commit_of(reg.repo, rev)
    if commit is None or rev.startswith("-"):
        stages = ", ".join(reg.config.stages)
        raise RegistryError(
            f"{safe_text(rev)}: neither a stage ({stages}) nor a revision of {reg.display} "
            "(a branch, tag, SHA, or production~1, production@{1})"
        )
    return commit, commit


def _history(reg: Registry, name: str) -> LinkHistory:
    """The link on each stage, and every commit that changed it on a stage branch, newest first."""
    name = link_name(name)
    path = name + LINK_SUFFIX
    per_stage: list[tuple[str, Link | None]] = []
    problems: list[Problem] = []
    tips: list[tuple[str, str]] = []
    for stage in reg.config.stages:
        tip = reg.find_stage(stage)
        if tip is None:
            per_stage.append((stage, None))
            continue
        tips.append((stage, tip))
        try:
            per_stage.append((stage, reg.read_link(name, stage)))
        except LinkNotFound:
            per_stage.append((stage, None))
        except LinkFileError as e:
            per_stage.append((stage, None))
            problems.append(Problem(e.file, e.line, e.detail))
    ancestry = _Ancestry(reg)
    changes = list(git.path_changes(reg.repo, [t for _, t in tips], path, ancestry.blobs(path)))
    entries = _entries(reg, ancestry, name, path, changes, [s for s, _ in tips])
    ancestry.keep()
    if any(change.signed for change in changes):
        entries = _with_signatures(reg, entries)
    if all(link is None for _, link in per_stage) and not entries:
        raise LinkNotFound(f"no link {name} on any stage ({', '.join(reg.config.stages)})")
    return LinkHistory(name, tuple(per_stage), tuple(entries), tuple(problems), tuple(reg.notes), reg.copies())


def _with_signatures(reg: Registry, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """Where commits are signed, each one's signature as git checks it (the user's allowed signers)."""
    verdicts = git.signatures(reg.repo, sorted({e.commit for e in entries}))
    return [replace(e, signature=verdicts.get(e.commit)) for e in entries]


def _entries(
    reg: Registry, ancestry: _Ancestry, name: str, path: str, changes: list[git.PathChange], tips: list[str]
) -> list[HistoryEntry]:
    """The history entries of the link ``name`` from the changes of its file ``path`` (a walk from the
    tips of the stages ``tips``), newest first."""
    order = {s: i for i, s in enumerate(reg.config.stages)}
    keyed: list[tuple[tuple[int, int, int], HistoryEntry]] = []
    # Every parent is followed, so changes merged from review branches count.
    # A commit on several stage branches (a fast-forward back) counts for the
    # latest stage that holds it.
    stage_of: dict[int, str] = {}  # which tips reach a commit -> the latest of their stages
    for i, change in enumerate(changes):
        c = change.commit
        stage = stage_of.get(change.reached_by)
        if stage is None:
            mask = change.reached_by
            stage = stage_of[mask] = next(s for j, s in reversed(list(enumerate(tips))) if mask >> j & 1)
        # newest first; within one second (git's resolution), a later stage
        # first (links flow that way), then the walk's order (children first)
        key = (-c.commit_time, -order[stage], i)
        what, note = _believed(reg, ancestry, recorded(c.message, name), change, path)
        rev_before, version_before = ancestry.described(change.before_id, change)
        rev_after, version_after = ancestry.described(change.after_id, change)
        keyed.append(
            (
                key,
                HistoryEntry(
                    stage,
                    c.sha,
                    c.author,
                    c.email,
                    c.time,
                    c.offset,
                    what.kind,
                    rev_before,
                    rev_after,
                    what.source,
                    what.source_commit,
                    what.rev,
                    what.sha,
                    what.rollback_to,
                    note,
                    None,
                    version_before,
                    version_after,
                ),
            )
        )
    return [e for _, e in sorted(keyed, key=lambda k: k[0])]


def _believed(
    reg: Registry, ancestry: _Ancestry, what: Recorded | None, change: git.PathChange, path: str
) -> tuple[Recorded, str | None]:
    """What a commit did to a link: what its trailers record, when the repository bears it out.

    Anyone who can commit on a stage can write trailers, so a claim is checked:
    a promotion's ``Mr-From`` commit exists, is in the history of that stage
    (its local or remote-tracking branch) and holds the same link (project,
    path, and the rev, or its pin); a rollback's link is the one the stage
    held at the commit it names; a retirement removes the file. Otherwise the
    commit is a direct change, with a note saying what it claimed.
    """
    if what is None:
        return Recorded("direct change"), None
    if what.kind == "promotion":
        source, at = what.source or "?", what.source_commit or "?"
        claim = f"claims a promotion from {source}@{at[:COMPACT_SHA]}"
        if is_full_sha(at) and not git.has_object(reg.repo, at):
            # a shallow or single-branch clone: nothing to check against, so nothing is believed
            return Recorded("direct change"), f"{claim} that cannot be checked: that commit is not in this clone"
        if _promotion_holds(reg, ancestry, what, change, path):
            return what, None
        return Recorded("direct change"), f"{claim} that does not match"
    if what.kind == "rollback":
        if _rollback_holds(reg, ancestry, what, change, path):
            return what, None
        to = (what.rollback_to or "the start")[:COMPACT_SHA]
        return Recorded("direct change"), f"claims a rollback to {to} that does not match"
    if what.kind == "retirement" and change.after is not None:
        return Recorded("direct change"), "claims a retirement but keeps the link"
    return what, None


class _Ancestry:
    """What a history asks again and again, each answered once: whose history holds a commit,
    the tips of a stage's copies, what a link file at some commit holds.

    A stage's history of N changes asks N times; answering each from scratch
    (walking the history, reading the same file again) made the view quadratic.
    """

    def __init__(self, reg: Registry) -> None:
        self.commits = git.Ancestry(reg.repo)
        self._reg = reg
        self._tips = [t for t in (reg.find_stage(s) for s in reg.config.stages) if t is not None]
        self._lines: list[dict[str, int]] | None = None
        self._copies: dict[str, list[str]] = {}
        self._blobs: dict[bytes, Link | None] = {}
        self._kept = reg.kept_links()
        self._paths: dict[str, git.PathBlobs] = {}
        self._described: dict[bytes, tuple[str | None, str | None]] = {}

    def holds(self, commit: str, tip: str, path: str) -> bool:
        """Whether ``commit`` is in the history of ``tip``: from the walk of ``path``'s history when
        ``tip`` was one of its tips, else from git."""
        blobs = self._paths.get(path)
        if blobs is not None and tip in blobs.tips:
            mask = blobs.reached_by(commit)
            if mask is not None:
                return bool(mask >> blobs.tips.index(tip) & 1)
        return self.commits.holds(commit, tip)

    def blobs(self, path: str) -> git.PathBlobs:
        """The blob of ``path`` at each commit asked about (the walk's answers kept)."""
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = git.PathBlobs(self._reg.repo, path)
        return found

    def link_at(self, commit: str, path: str) -> Link | None:
        """The link in ``path`` at ``commit`` (None: absent, unreadable, or no such commit)."""
        oid = self.blobs(path).of(commit)
        return None if oid is None else self._link_of_blob(oid, lambda o: git.read_blob_id(self._reg.repo, o))

    def keep(self) -> None:
        """Keep the links read for the next run, when there were enough to be worth it."""
        if len(self._blobs) >= FEW_FILES:
            self._kept.save()

    def copies(self, stage: str) -> list[str]:
        """The tips of ``stage``'s local and remote-tracking branches."""
        tips = self._copies.get(stage)
        if tips is None:
            repo, ref = self._reg.repo, self._reg.tracking_ref(stage)
            found = (git.branch_tip(repo, stage), git.ref_tip(repo, ref) if ref else None)
            tips = self._copies[stage] = [t for t in found if t]
        return tips

    def link_in(self, oid: bytes, change: git.PathChange) -> Link | None:
        """The link in the blob ``oid`` of ``change`` (None: unreadable), each blob read once, and not
        even read when an earlier run read it (the links kept)."""
        return self._link_of_blob(oid, change.blob)

    def _link_of_blob(self, oid: bytes, read: Callable[[bytes], bytes]) -> Link | None:
        if oid not in self._blobs:
            try:
                found = self._kept.load_blob(oid, read, "")
            except LinkFileError:
                found = None
            self._blobs[oid] = found if isinstance(found, Link) else None
        return self._blobs[oid]

    def described(self, oid: bytes | None, change: git.PathChange) -> tuple[str | None, str | None]:
        """What a history says of the blob ``oid`` of ``change``: its rev (``rev_of``; None: absent)
        and its version (``version_of``; None: absent or unreadable), each blob described once."""
        if oid is None:
            return None, None
        found = self._described.get(oid)
        if found is None:
            link = self.link_in(oid, change)
            found = self._described[oid] = (rev_of(link), None if link is None else version_of(link))
        return found

    def before(self, ancestor: str, commit: str) -> bool:
        """Whether ``ancestor`` is ``commit`` or in its history.

        Both on one stage's first-parent line (as rollbacks written by mr are):
        their places on it answer. Otherwise git walks.
        """
        if self._lines is None:
            self._lines = [git.first_parents(self.commits.repo, t) for t in self._tips]
        for line in self._lines:
            here, there = line.get(commit), line.get(ancestor)
            if here is not None and there is not None:
                return there >= here
        return git.is_ancestor(self.commits.repo, ancestor, commit)


def _promotion_holds(reg: Registry, ancestry: _Ancestry, what: Recorded, change: git.PathChange, path: str) -> bool:
    source, at = what.source, what.source_commit
    if source is None or at is None or not is_full_sha(at):
        return False
    # in a stage's history: a commit (not a tree or blob that happens to exist)
    if not any(ancestry.holds(at, t, path) for t in ancestry.copies(source)):
        return False
    theirs = ancestry.link_at(at, path)
    mine = None if change.after_id is None else ancestry.link_in(change.after_id, change)
    if theirs is None or mine is None or (theirs.project, theirs.path) != (mine.project, mine.path):
        return False
    if mine.rev == theirs.rev and mine.pinned_from == theirs.pinned_from:
        return True
    # pinned on the way: the SHA the trailer records, from the source's rev
    return mine.is_pinned and mine.rev == what.sha and mine.pinned_from == (theirs.rev or mine.pinned_from)


def _rollback_holds(reg: Registry, ancestry: _Ancestry, what: Recorded, change: git.PathChange, path: str) -> bool:
    if what.rollback_to is None:
        return change.after is None  # back to before the link existed: removed
    to = git.commit_of(reg.repo, what.rollback_to) if is_full_sha(what.rollback_to) else None
    if to is None or change.parent is None or not ancestry.before(to, change.parent):
        return False
    then = ancestry.link_at(to, path)
    now = None if change.after_id is None else ancestry.link_in(change.after_id, change)
    if then is None or now is None:
        return then is None and now is None
    return (then.project, then.path, then.rev, then.pinned_from) == (now.project, now.path, now.rev, now.pinned_from)


def registry_record(registry: str | None = None, remote: str | None = None, resolve: bool = False) -> RegistryRecord:
    """Every link on every stage, with its whole history, from one walk of the stages' history.

    What ``link_history`` gives one link, for all of them at the cost of one
    walk: each commit is compared with its parents once, whatever the number
    of links. ``resolve`` adds each link's newest version tag (a fetch of each
    project, once).
    """
    return record_of(Registry.open(registry, remote_ok=True, remote=remote), resolve)


def record_of(reg: Registry, resolve: bool = False) -> RegistryRecord:
    """``registry_record`` of a registry already open."""
    stages = reg.config.stages
    states: list[StageState] = []
    tips: list[tuple[str, str]] = []
    per_stage: dict[str, dict[str, Link]] = {}
    problems: list[Problem] = []
    for stage in stages:
        status = reg.stage_status(stage)
        tip = reg.read_by_rule(status)  # the one rule, on the status already compared (no second count)
        states.append(
            StageState(
                stage,
                tip,
                git.commit_time(reg.repo, tip) if tip else None,
                status.read_from if tip else None,
                status.note(),
                status.diverged,
                status.stale,
            )
        )
        if tip is None:
            problems.append(Problem(stage, None, f"no branch {stage} (mr init creates it)", "warning"))
            continue
        tips.append((stage, tip))
        links, bad = reg.links(stage)
        problems += [Problem(e.file, e.line, e.detail) for e in bad]
        per_stage[stage] = {link.name or "": link for link in links}
    changes: dict[str, list[git.PathChange]] = {}
    for path, change in git.every_path_change(reg.repo, [t for _, t in tips], LINK_SUFFIX):
        changes.setdefault(path, []).append(change)
    names = {n for links in per_stage.values() for n in links}
    for path in changes:
        try:
            names.add(link_name(path))
        except UsageError:
            continue  # no name a link can have (under .git, say): never a link
    ancestry = _Ancestry(reg)
    walked = [s for s, _ in tips]
    histories: list[tuple[LinkHistory, list[git.PathChange]]] = []
    signed = False
    for name in sorted(names):
        path = name + LINK_SUFFIX
        mine = changes.get(path, [])
        signed = signed or any(c.signed for c in mine)
        on = tuple((stage, per_stage.get(stage, {}).get(name)) for stage in stages)
        entries = _entries(reg, ancestry, name, path, mine, walked)
        histories.append((LinkHistory(name, on, tuple(entries)), mine))
    ancestry.keep()
    if signed:
        verdicts = git.signatures(reg.repo, sorted({e.commit for h, _ in histories for e in h.history}))
        histories = [
            (replace(h, history=tuple(replace(e, signature=verdicts.get(e.commit)) for e in h.history)), mine)
            for h, mine in histories
        ]
    if resolve:
        histories = [(_with_latest(reg, h), mine) for h, mine in histories]
    recorded_links = tuple(RecordedLink(h, _cells(h, mine, walked, stages)) for h, mine in histories)
    messages = {c.commit.sha: c.commit.message for mine in changes.values() for c in mine}
    return RegistryRecord(
        reg.display, tuple(states), recorded_links, tuple(problems), tuple(reg.notes), reg.copies(), messages
    )


def _cells(
    history: LinkHistory, changes: list[git.PathChange], walked: list[str], stages: tuple[str, ...]
) -> tuple[StageCell, ...]:
    """Each stage's cell of a link: the change that last touched it on that stage's history (the first
    of the walk's changes that stage reaches: the walk goes newest first)."""
    kinds = {e.commit: e.kind for e in history.history}
    cells = []
    for stage, link in history.stages:
        bit = walked.index(stage) if stage in walked else None
        last = next((c for c in changes if bit is not None and c.reached_by >> bit & 1), None)
        if last is None:
            cells.append(StageCell(stage, link, "on" if link is not None else "never"))
            continue
        commit, since = last.commit.sha, last.commit.commit_time
        if link is not None:
            cells.append(StageCell(stage, link, "on", commit, since))
        else:
            if kinds.get(commit) == "retirement":
                cells.append(StageCell(stage, None, "retired", commit, since))
            else:
                cells.append(StageCell(stage, None, "removed", commit, since))
    assert [c.stage for c in cells] == list(stages)
    return tuple(cells)
