"""An object's files at a commit: where each artifact its meta lists is in the source's tree,
what is refused, and the command that fetches what git does not hold.

``mr get`` copies what this plans; ``mr verify --artifacts`` checks it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mr import artifacts, blobs, git
from mr.artifacts import Artifact
from mr.errors import (
    MrError,
    ObjectNotFound,
    ProjectNotFound,
)
from mr.model import ERROR, SHORT_SHA, THIS_REGISTRY, WARNING, Severity
from mr.projects import Project
from mr.reader import Found, Reader
from mr.registry import Registry
from mr.results import ExternalArtifact
from mr.terminal import NO_COMMAND, command_line
from mr.terminal import field as safe_text
from mr.urls import redact


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

    def read(self, path: str) -> bytes:
        """The file ``path`` (relative to the project) at the commit; ``ObjectNotFound`` when absent."""
        if self.project is not None:
            data = self.project.read(self.commit, path)
        else:
            data = git.read_at(self.repo, self.commit, path, self.trees)
        if data is None:
            raise ObjectNotFound(f"{path} not found in {self.display} at {self.commit[:SHORT_SHA]}")
        return data

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
                # options first and "--" before the words a meta names: a path like "-x" stays a path
                command = command_line(
                    "dvc",
                    "get",
                    "--rev",
                    source.commit,
                    "-o",
                    posixpath.join(out, posixpath.basename(art.path)),
                    "--",
                    source.url(),
                    source.repo_path(art.path),
                )
                result.error(
                    f"{shown} (artifact {name}) is a DVC output, not in git: fetch it with {command or NO_COMMAND}"
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
            command = command_line("git", "lfs", "pull", "--include", source.repo_path(art.path or ""))
            result.error(
                f"{shown} (artifact {name}) is a git-lfs pointer, not the file: in a clone of "
                f"{safe_text(source.url())} at {source.commit} run: {command or NO_COMMAND}"
            )
            continue
        if size != art.size:
            result.error(f"{shown} (artifact {name}) is {size} bytes at {at}; the meta records {art.size}")
            continue
        result.copies.append(_Planned(art, oid))
    return result


def _external_hint(art: Artifact, out: str) -> str:
    """Where MLEM loads an artifact outside git from, and the command that copies it (quoted for a shell)."""
    uri = redact(art.uri)
    target = posixpath.join(out, posixpath.basename(art.uri.rstrip("/")) or art.name)
    tools = {
        "s3": ["aws", "s3", "cp", uri, target],
        "gs": ["gsutil", "cp", uri, target],
        "gcs": ["gsutil", "cp", uri, target],
        "az": ["az", "storage", "blob", "download", "--blob-url", uri, "-f", target],
        "azure": ["az", "storage", "blob", "download", "--blob-url", uri, "-f", target],
        "http": ["curl", "-fLo", target, uri],
        "https": ["curl", "-fLo", target, uri],
    }
    argv = tools.get(art.scheme or "")
    fetch = (command_line(*argv) or NO_COMMAND) if argv else "the storage's own client, or dvc get"
    return f"MLEM loads it from {safe_text(uri)} as the meta says; to copy it: {fetch}"


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


def verify_problems(
    reader: Reader,
    reg: Registry,
    found: Found,
    alias_commit: str | None,
    on_chunk: Callable[[int], None] | None = None,
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
        size, md5 = blobs.copy(source.repo.path, p.oid, None, on_chunk)
        if md5 != p.artifact.md5 or size != p.artifact.size:
            out.append(
                (
                    ERROR,
                    f"{safe_text(p.artifact.path or '')} (artifact {safe_text(p.artifact.name)}): md5 {md5} at "
                    f"{source.commit[:SHORT_SHA]}; the meta records {p.artifact.md5}",
                )
            )
    return out
