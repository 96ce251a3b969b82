"""``mr get``: copy the object a link resolves to, and its git-held artifacts, into a folder.

The link is followed to its object; the meta's artifacts are looked up in
the commit's tree, the blobs a partial cache lacks are fetched in one
request, and each is streamed to disk with ``git cat-file blob`` while its
size and md5 are checked against the meta. Everything is written into a
temporary folder beside the target and renamed into place at the end, so a
failure (or Ctrl-C) leaves nothing behind. A receipt (``.mr-get.json``)
records where every byte came from; ``check`` re-verifies a folder against it.

mr copies only what git holds. Artifacts in object stores (``s3://`` ...),
DVC outputs and git-lfs files are named with the command that fetches them.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mr import artifacts, blobs, git, outfolder
from mr.artifacts import Artifact
from mr.config import Config
from mr.errors import (
    ArtifactsRefused,
    MrError,
    ObjectNotFound,
    ProjectNotFound,
    ReceiptError,
)
from mr.model import (
    ERROR,
    RECEIPT,
    SHORT_SHA,
    THIS_REGISTRY,
    WARNING,
    CheckResult,
    ExternalArtifact,
    GetResult,
    GotFile,
    Link,
    Severity,
)
from mr.projects import Project
from mr.reader import Found, Reader
from mr.registry import Registry, link_name
from mr.text import field as safe_text
from mr.urls import is_url, redact


@dataclass
class Source:
    """Where an object's files are read: a repository at a commit, and the project's folder in it."""

    repo: git.Repo
    commit: str
    #: the project (None: the registry itself)
    project: Project | None
    display: str
    trees: dict[str, Any] = field(default_factory=dict)

    @property
    def subdir(self) -> str:
        return self.project.subdir if self.project is not None else ""

    def repo_path(self, path: str) -> str:
        return self.project.repo_path(path) if self.project is not None else git.normalize_path(path)

    def entry(self, path: str) -> git.TreeEntry | None:
        return git.entry_at(self.repo, self.commit, self.repo_path(path), self.trees)

    def ensure(self, oids: list[str], what: str) -> list[str]:
        """Fetch the blobs among ``oids`` the repository lacks, in one request; return those that were fetched."""
        lacking = [oid for oid in dict.fromkeys(oids) if not git.has_object(self.repo, oid)]
        if not lacking:
            return []
        if self.project is None:
            raise ObjectNotFound(f"this registry lacks the blobs of {what} (a partial clone?); run git fetch")
        self.project.fetch_blobs(lacking, what)
        return lacking

    def url(self) -> str:
        """How a command given to the user names the repository."""
        if self.project is not None and self.project.url is not None:
            return redact(self.project.url)
        return git.root(self.repo)


@dataclass(frozen=True)
class _Planned:
    artifact: Artifact
    #: the blob to copy
    oid: str


@dataclass
class _Plan:
    copies: list[_Planned] = field(default_factory=list)
    external: list[ExternalArtifact] = field(default_factory=list)
    #: (severity, line) of everything wrong; "error" stops a get
    problems: list[tuple[Severity, str]] = field(default_factory=list)

    def error(self, line: str) -> None:
        self.problems.append((ERROR, line))

    def warning(self, line: str) -> None:
        self.problems.append((WARNING, line))


def source_of(reader: Reader, reg: Registry, found: Found, alias_commit: str | None) -> Source:
    """The repository and commit the object ``found`` was read at."""
    if found.project is None:
        commit = found.resolved.sha if found.resolved is not None else alias_commit
        if commit is None:
            raise ObjectNotFound(f"{found.path}: read from the work tree, which has no commit to copy files from")
        return Source(reg.repo, commit, None, THIS_REGISTRY)
    assert found.resolved is not None
    project = reader.projects.open(found.project)
    return Source(project.repo, found.resolved.sha, project, project.display)


def plan(source: Source, meta_path: str, obj: Mapping[str, Any], out: str = "DIR") -> _Plan:
    """Look every artifact of the meta up in the source's tree; fetch nothing but what the checks need.

    The blobs of the git-held artifacts are fetched (one request) so their
    sizes can be read and LFS pointers told apart; their contents are not read.
    """
    result = _Plan()
    listed, problems = artifacts.parse(obj, meta_path)
    for line in problems:
        result.error(line)
    at = source.commit[:SHORT_SHA]
    found: list[tuple[Artifact, str]] = []
    for art in listed:
        name = safe_text(art.name)
        if art.path is None:
            result.external.append(ExternalArtifact(art.name, art.uri, _external_hint(art, out)))
            continue
        entry = source.entry(art.path)
        shown = safe_text(art.path)
        if entry is None or entry.kind == git.ENTRY_FOLDER:
            dvc = _dvc_tracked(source, art.path)
            if dvc:
                result.error(
                    f"{shown} (artifact {name}) is a DVC output, not in git: fetch it with "
                    f"dvc get {source.url()} {source.repo_path(art.path)} --rev {source.commit} "
                    f"-o {posixpath.join(out, posixpath.basename(art.path))}"
                )
            elif entry is None:
                result.error(f"{shown} (artifact {name}) is missing at {at}")
            else:
                result.error(f"{shown} (artifact {name}) is a folder at {at}, not a file")
            continue
        if entry.kind != git.ENTRY_FILE:
            what = "a symlink" if entry.kind == git.ENTRY_SYMLINK else "a submodule"
            below = "" if entry.path == source.repo_path(art.path) else f" (under {safe_text(entry.path)})"
            result.error(f"{shown} (artifact {name}) is refused: {safe_text(entry.path)} is {what}{below} at {at}")
            continue
        assert entry.oid is not None
        found.append((art, entry.oid))
    oids = [oid for _, oid in found]
    if oids:
        source.ensure(oids, f"{len(set(oids))} artifact(s) at {at}")
    for art, oid in found:
        shown, name = safe_text(art.path or ""), safe_text(art.name)
        size = git.blob_size(source.repo, oid)
        if size is None:
            result.error(f"{shown} (artifact {name}): its blob {oid[:SHORT_SHA]} is not in the repository")
            continue
        if size <= artifacts.LFS_POINTER_MAX and artifacts.is_lfs_pointer(git.read_blob(source.repo, oid)):
            result.error(
                f"{shown} (artifact {name}) is a git-lfs pointer, not the file: in a clone of "
                f"{source.url()} at {source.commit} run: git lfs pull --include '{source.repo_path(art.path or '')}'"
            )
            continue
        if size != art.size:
            result.error(f"{shown} (artifact {name}) is {size} bytes at {at}; the meta records {art.size}")
            continue
        result.copies.append(_Planned(art, oid))
    return result


def _external_hint(art: Artifact, out: str) -> str:
    target = posixpath.join(out, posixpath.basename(art.uri.rstrip("/")) or art.name)
    tools = {
        "s3": f"aws s3 cp {art.uri} {target}",
        "gs": f"gsutil cp {art.uri} {target}",
        "gcs": f"gsutil cp {art.uri} {target}",
        "az": f"az storage blob download --blob-url {art.uri} -f {target}",
        "azure": f"az storage blob download --blob-url {art.uri} -f {target}",
        "http": f"curl -fLo {target} {art.uri}",
        "https": f"curl -fLo {target} {art.uri}",
    }
    fetch = tools.get(art.scheme or "", "the storage's own client, or dvc get")
    return f"MLEM loads it from {safe_text(redact(art.uri))} as the meta says; to copy it: {safe_text(redact(fetch))}"


def _dvc_tracked(source: Source, path: str) -> bool:
    """Whether DVC tracks ``path``: a ``.dvc`` file beside it, or an output of ``dvc.lock``."""
    entry = source.entry(path + ".dvc")
    if entry is not None and entry.kind == git.ENTRY_FILE:
        return True
    full = source.repo_path(path)
    folders = [""] if not source.subdir else [source.subdir, ""]
    for folder in folders:
        lock = posixpath.join(folder, "dvc.lock") if folder else "dvc.lock"
        entry = git.entry_at(source.repo, source.commit, lock, source.trees)
        if entry is None or entry.kind != git.ENTRY_FILE or entry.oid is None:
            continue
        try:
            source.ensure([entry.oid], f"{lock} at {source.commit[:SHORT_SHA]}")
        except MrError:
            continue
        if full in _dvc_outputs(git.read_blob(source.repo, entry.oid), folder):
            return True
    return False


def _dvc_outputs(data: bytes, folder: str) -> set[str]:
    from mr import linkfile
    from mr.errors import LinkFileError

    try:
        doc = linkfile.parse_mapping(data, "dvc.lock", "dvc.lock")
    except LinkFileError:
        return set()
    out: set[str] = set()
    stages = doc.get("stages") if isinstance(doc, Mapping) else None
    for stage in (stages or {}).values() if isinstance(stages, Mapping) else ():
        if not isinstance(stage, Mapping):
            continue
        wdir = stage.get("wdir") if isinstance(stage.get("wdir"), str) else "."
        for item in stage.get("outs") or ():
            path = item.get("path") if isinstance(item, Mapping) else None
            if isinstance(path, str):
                out.add(posixpath.normpath(posixpath.join(folder, str(wdir), path)))
    return out


# --- mr get -------------------------------------------------------------------------


def get(
    name: str,
    stage: str | None = None,
    out: str | None = None,
    registry: str | None = None,
    force: bool = False,
    allow_local: bool = False,
) -> GetResult:
    """Write the object link ``name`` resolves to, with its git-held artifacts, into ``out``; see the module doc."""
    name = link_name(name)
    folder = os.path.abspath(out if out else posixpath.basename(name))
    # the target is checked before anything is read, here or over the network
    if registry is not None and is_url(registry):
        outfolder.check_target(out, folder, force)
        reg = Registry.open(registry, remote_ok=True)
    else:
        reg = Registry.open(registry)
        outfolder.check_target(out, folder, force, [(reg.root, "the registry's root")])
    item = reg.read_link(name, stage)
    if stage is not None:
        stage_commit: str | None = reg.stage_tip(stage)
        alias_commit = stage_commit
        config = reg.stage_config(stage)
    else:
        stage_commit = None
        branch = git.head_branch(reg.repo)
        alias_commit = git.branch_tip(reg.repo, branch) if branch else None
        config = reg.config
    _check_policy(item, config)
    reader = Reader(
        reg.root,
        alias_rev=alias_commit,
        alias_label=stage,
        hosts=config.hosts,
        policy=config,
        untrusted_root=reg.untrusted,
        allow_local=allow_local,
    )
    # a local project a remote registry names is never opened (not even to say it is missing)
    reader.check_local(item.project, None, item.file or name)
    found = reader.follow(reader.read(item.project, item.rev, item.path))
    if isinstance(found.obj, Link):  # follow() ends at an object
        raise ObjectNotFound(f"{name}: the chain of links ends at no object")
    if found.project is not None and found.project != item.project:
        # the end of a chain: files are copied from there
        _check_policy(Link(link_type="model", path=found.path, project=found.project, file=item.file), config)
    source = source_of(reader, reg, found, alias_commit)
    meta = _read(source, found.path)
    shown_out = os.path.relpath(folder) if out is None else out
    planned = plan(source, found.path, found.obj, shown_out)
    errors = [line for severity, line in planned.problems if severity == ERROR]
    paths = [p.artifact.path or "" for p in planned.copies]
    base = artifacts.layout(found.path, paths)
    targets = {p.artifact.name: artifacts.relative(p.artifact.path or "", base) for p in planned.copies}
    meta_rel = artifacts.relative(found.path, base)
    errors.extend(_collisions(meta_rel, targets))
    if errors:
        raise ArtifactsRefused(f"{name}: nothing written to {folder}", tuple(errors))

    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    outfolder.remove_stale(folder)
    held = outfolder.Held(folder, outfolder.WRITING)
    tmp = held.path
    try:
        umask = os.umask(0o22)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 is for the temporary name only
        files = [_write_bytes(tmp, meta_rel, meta)]
        written: dict[str, GotFile] = {}
        mismatched: list[str] = []
        for p in planned.copies:
            rel = targets[p.artifact.name]
            got = written.get(rel)
            if got is None:
                got = _write_blob(source, p.oid, tmp, rel)
                written[rel] = got
            if got.size != p.artifact.size or got.md5 != p.artifact.md5:
                mismatched.append(
                    f"{safe_text(p.artifact.path or '')} (artifact {safe_text(p.artifact.name)}): "
                    f"{got.size} bytes, md5 {got.md5} at {source.commit[:SHORT_SHA]}; "
                    f"the meta records {p.artifact.size} bytes, md5 {p.artifact.md5}"
                )
            files.append(GotFile(rel, got.size, got.md5, p.artifact.name))
        if mismatched:
            raise ArtifactsRefused(f"{name}: nothing written to {folder}", tuple(mismatched))
        result = GetResult(
            folder=folder,
            registry=reg.display,
            stage=stage,
            stage_commit=stage_commit,
            name=name,
            project=redact(found.project) if found.project is not None else None,
            rev=found.rev,
            commit=source.commit,
            path=found.path,
            meta=meta_rel,
            files=tuple(files),
            external=tuple(planned.external),
        )
        _write_bytes(tmp, RECEIPT, (json.dumps(result.receipt(), indent=2) + "\n").encode())
        outfolder.move_into_place(tmp, folder, force)
    except BaseException:
        held.remove()
        raise
    held.release()
    return result


def _check_policy(item: Link, config: Config) -> None:
    """Refuse a project the registry does not allow (allowed_sources), or one whose URL carries credentials."""
    from mr import checks

    problems = [p for p in checks.policy_problems(item, config, None) if p.severity == ERROR]
    if problems:
        raise ArtifactsRefused(f"{item.name or item.file}: nothing fetched", tuple(str(p) for p in problems))


def _read(source: Source, path: str) -> bytes:
    if source.project is not None:
        data = source.project.read(source.commit, path)
    else:
        data = git.read_at(source.repo, source.commit, path, source.trees)
    if data is None:
        raise ObjectNotFound(f"{path} not found in {source.display} at {source.commit[:SHORT_SHA]}")
    return data


def _collisions(meta_rel: str, targets: Mapping[str, str]) -> list[str]:
    """Artifacts that would land on the meta, the receipt, or on each other as file and folder."""
    out: list[str] = []
    taken = {meta_rel: "the meta", RECEIPT: "the receipt"}
    for name, rel in targets.items():
        clash = taken.get(rel)
        if clash is not None and clash in ("the meta", "the receipt"):
            out.append(f"artifact {safe_text(name)}: {safe_text(rel)} would overwrite {clash}")
        taken.setdefault(rel, name)
    files = set(taken)
    for rel in files:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            above = "/".join(parts[:i])
            if above in files:
                out.append(f"{safe_text(above)} is both a file and the folder of {safe_text(rel)}")
    return out


def _open_new(tmp: str, rel: str) -> int:
    full = os.path.join(tmp, *rel.split("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def _write_bytes(tmp: str, rel: str, data: bytes) -> GotFile:
    import hashlib

    with os.fdopen(_open_new(tmp, rel), "wb") as f:
        f.write(data)
    return GotFile(rel, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())


def _write_blob(source: Source, oid: str, tmp: str, rel: str) -> GotFile:
    with os.fdopen(_open_new(tmp, rel), "wb") as f:
        size, md5 = blobs.copy(source.repo.path, oid, f)
    return GotFile(rel, size, md5)


# --- mr get --check ---------------------------------------------------------------------


def check(folder: str) -> CheckResult:
    """Compare ``folder`` with its receipt: every file listed, with its size and md5, and nothing else."""
    folder = os.path.abspath(folder)
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise ReceiptError(f"{folder}: no such folder") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ReceiptError(f"{folder}: not a folder")
    receipt = outfolder.load_receipt(folder)
    listed: dict[str, tuple[int, str]] = {}
    for entry in receipt["files"]:
        listed[entry[0]] = (entry[1], entry[2])
    changed: list[str] = []
    missing: list[str] = []
    for rel, (size, md5) in sorted(listed.items()):
        state = _file_state(folder, rel)
        if state is None:
            missing.append(rel)
        elif state != (size, md5):
            changed.append(rel)
    extra = sorted(set(_walk(folder)) - set(listed) - {RECEIPT})
    return CheckResult(
        folder=folder,
        changed=tuple(changed),
        missing=tuple(missing),
        extra=tuple(safe_text(e) for e in extra),
        checked=len(listed),
        commit=receipt.get("commit"),
    )


def _file_state(folder: str, rel: str) -> tuple[int, str] | None:
    """Size and md5 of ``rel`` under ``folder``, reached without following a symlink; None when absent.

    A symlink or non-regular file on the way counts as a changed file: (-1, '').
    """
    parts = rel.split("/")
    here = folder
    for part in parts[:-1]:
        here = os.path.join(here, part)
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(st.st_mode):
            return (-1, "")
    full = os.path.join(here, parts[-1])
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return (-1, "")  # a symlink (ELOOP) or unreadable
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return (-1, "")
        return blobs.hash_file(fd)
    finally:
        os.close(fd)


def _walk(folder: str) -> Iterator[str]:
    """Every entry under ``folder`` that is not a folder (files, symlinks ...), as relative paths; symlinks not followed."""
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        rel_dir = os.path.relpath(dirpath, folder)
        keep = []
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                filenames.append(d)
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rel = f if rel_dir == os.curdir else f"{rel_dir}/{f}"
            yield rel.replace(os.sep, "/")


# --- mr verify --artifacts ---------------------------------------------------------------


def verify_problems(
    reader: Reader, reg: Registry, found: Found, alias_commit: str | None
) -> list[tuple[Severity, str]]:
    """``(severity, message)`` for the git-held artifacts of the object ``found`` leads to.

    Sizes come from the blobs' headers. A partial cache has to fetch a blob
    to know its size (git cannot ask a server for a size alone), so for a
    remote source the bytes are at hand and their md5 is checked too, the
    same on every run; a local repository's blobs are only sized.
    """
    final = reader.follow(found)
    if not isinstance(final.obj, Mapping):
        return []
    try:
        source = source_of(reader, reg, final, alias_commit)
    except ObjectNotFound as e:
        return [(WARNING, f"artifacts not checked: {e.message}")]
    try:
        planned = plan(source, final.path, final.obj)
    except (ProjectNotFound, ObjectNotFound) as e:
        return [(ERROR, f"artifacts not checked: {e.message}")]
    out = list(planned.problems)
    remote = source.project is not None and source.project.remote
    for p in planned.copies:
        if not remote:
            continue
        size, md5 = blobs.copy(source.repo.path, p.oid, None)
        if md5 != p.artifact.md5 or size != p.artifact.size:
            out.append(
                (
                    ERROR,
                    f"{safe_text(p.artifact.path or '')} (artifact {safe_text(p.artifact.name)}): md5 {md5} at "
                    f"{source.commit[:SHORT_SHA]}; the meta records {p.artifact.md5}",
                )
            )
    return out
