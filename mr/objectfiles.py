"""An object's files at a commit: where each artifact its meta lists is in the source's tree,
what is refused, and the command that fetches what git does not hold.

``mr get`` copies what this plans; ``mr verify --artifacts`` checks it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mr import artifacts, blobs, dvcremote, git
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


@dataclass(frozen=True)
class PlannedDvc:
    """An artifact kept in DVC: its output as ``dvc.lock`` or a ``.dvc`` file records it (None: only the
    meta's ``type: dvc`` says so), and the command that fetches it without mr's DVC support."""

    artifact: Artifact
    output: dvcremote.Output | None
    #: the ``dvc get`` command that writes it where ``mr get`` would (shell-quoted), or NO_COMMAND
    command: str

    @property
    def md5(self) -> str:
        """The object's id in the remote: the md5 DVC records, else the meta's."""
        return self.output.md5 if self.output is not None and self.output.md5 else self.artifact.md5


@dataclass
class _Plan:
    copies: list[_Planned] = field(default_factory=list)
    #: artifacts kept in DVC, not in git
    dvc: list[PlannedDvc] = field(default_factory=list)
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
            output = dvc_output(source, art.path)
            if output is not None or (entry is None and art.kind == "dvc"):
                planned_dvc = _plan_dvc(source, art, output, out)
                if planned_dvc is not None:
                    result.dvc.append(planned_dvc)
                else:
                    assert output is not None
                    result.error(_dvc_disagrees(source, art, output))
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


def _plan_dvc(source: Source, art: Artifact, output: dvcremote.Output | None, out: str) -> PlannedDvc | None:
    """The plan for an artifact kept in DVC; None when what DVC records disagrees with the meta."""
    if output is not None and (
        output.is_dir
        or (output.md5 is not None and output.md5 != art.md5)
        or (output.size is not None and output.size != art.size)
    ):
        return None
    # options first and "--" before the words a meta names: a path like "-x" stays a path
    command = command_line(
        "dvc",
        "get",
        "--rev",
        source.commit,
        "-o",
        posixpath.join(out, posixpath.basename(art.path or art.uri)),
        "--",
        source.url(),
        source.repo_path(art.path or ""),
    )
    return PlannedDvc(art, output, command or NO_COMMAND)


def _dvc_disagrees(source: Source, art: Artifact, output: dvcremote.Output) -> str:
    shown, name, at = safe_text(art.path or ""), safe_text(art.name), source.commit[:SHORT_SHA]
    where = safe_text(output.recorded_in)
    if output.is_dir:
        return f"{shown} (artifact {name}) is a DVC directory output ({where}); mr fetches files, not directories"
    if output.md5 is not None and output.md5 != art.md5:
        return f"{shown} (artifact {name}): {where} records md5 {output.md5} at {at}; the meta records {art.md5}"
    return f"{shown} (artifact {name}): {where} records {output.size} bytes at {at}; the meta records {art.size}"


def dvc_output(source: Source, path: str) -> dvcremote.Output | None:
    """The DVC output ``path`` (project-relative) is, by a ``.dvc`` file beside it or a ``dvc.lock``
    (the project's, or the repository's root one), at the source's commit; None when DVC does not track it."""
    full = source.repo_path(path)
    candidates = [source.repo_path(path + ".dvc")]
    folders = [""] if not source.subdir else [source.subdir, ""]
    candidates += [posixpath.join(folder, "dvc.lock") if folder else "dvc.lock" for folder in folders]
    for file in candidates:
        data = _read_small(source, file)
        if data is None:
            continue
        found = dvcremote.outputs(data, file, posixpath.dirname(file)).get(full)
        if found is not None:
            return found
    return None


def _read_small(source: Source, repo_path: str) -> bytes | None:
    """A regular file of the repository at the source's commit (fetched when a partial cache lacks it)."""
    entry = git.entry_at(source.repo, source.commit, repo_path, source.trees)
    if entry is None or entry.kind != git.ENTRY_FILE or entry.oid is None:
        return None
    try:
        source.ensure([entry.oid], f"{repo_path} at {source.commit[:SHORT_SHA]}")
    except MrError:
        return None
    return git.read_blob(source.repo, entry.oid)


def dvc_remote(source: Source, name: str | None) -> dvcremote.Remote:
    """The DVC remote the project names at the source's commit (``name``, or its default), with the
    user's DVC configuration (credentials, and remotes of their own) under it. DvcError when none."""
    import os

    at = source.commit[:SHORT_SHA]
    folders = [source.subdir, ""] if source.subdir else [""]
    repo: list[tuple[str, dict[str, dict[str, str]]]] = []
    for folder in reversed(folders):  # the root's first: the project's own overrides it
        file = posixpath.join(folder, ".dvc/config") if folder else ".dvc/config"
        data = _read_small(source, file)
        if data is not None:
            repo.append((f"{file} at {at}", dvcremote.parse_config(data.decode("utf-8", "replace"))))
    user: list[tuple[str, dict[str, dict[str, str]]]] = []
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for label, path in (
        ("the system's DVC configuration", "/etc/xdg/dvc/config"),
        ("your DVC configuration", os.path.join(config_home, "dvc", "config")),
    ):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                user.append((label, dvcremote.parse_config(f.read(1024 * 1024))))
        except OSError:
            continue
    if not repo:
        raise dvcremote.DvcError(f"{safe_text(source.display)} has no .dvc/config at {at}: no DVC remote is named")
    return dvcremote.pick_remote(repo, user, name)


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
    out += _dvc_problems(source, planned.dvc, reg)
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


def _dvc_problems(source: Source, planned: list[PlannedDvc], reg: Registry) -> list[tuple[Severity, str]]:
    """With mr's DVC support installed, that each DVC-kept artifact's object is in the remote (nothing is
    downloaded); without it, nothing more than the agreement of the meta and what DVC records."""
    if not planned or not dvcremote.have_extra():
        return []
    try:
        storage = open_dvc(source, None, reg.config)
        missing = [p for p in planned if storage.find(p.md5) is None]
    except dvcremote.DvcError as e:
        names = ", ".join(safe_text(p.artifact.path or "") for p in planned)
        return [(ERROR, f"{names}: {e}")]
    return [
        (
            ERROR,
            f"{safe_text(p.artifact.path or '')} (artifact {safe_text(p.artifact.name)}): object {p.md5} "
            f"is not in DVC remote {safe_text(storage.remote.name)} ({storage.remote.shown})",
        )
        for p in missing
    ]


def open_dvc(source: Source, name: str | None, config: Any) -> dvcremote.Storage:
    """The DVC remote of the source, opened, after ``allowed_sources`` allows its URL (before any contact)."""
    from mr import checks
    from mr.envvars import git_timeout

    remote = dvc_remote(source, name)
    why = dvcremote.remote_problem(remote)
    if why is None:  # a local folder is no URL: under allowed_sources, refused too
        refused = checks.source_refusal(remote.url, config)
        if refused is not None:
            why = refused.replace("project", "its URL", 1)
    if why is not None:
        raise dvcremote.DvcError(f"DVC remote {safe_text(remote.name)} ({remote.shown}) is refused: {why}")
    return dvcremote.open_storage(remote, timeout=git_timeout())
