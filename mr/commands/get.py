"""``mr get``: copy the object a link resolves to, and its git-held artifacts, into a folder.

The link is followed to its object; the meta's artifacts are looked up in
the commit's tree, the blobs a partial cache lacks are fetched in one
request, and each is streamed to disk with ``git cat-file blob`` while its
size and md5 are checked against the meta. Everything is written into a
temporary folder beside the target and renamed into place at the end, so a
failure (or Ctrl-C) leaves nothing behind. A receipt (``.mr-get.json``)
records where every byte came from; ``check`` re-verifies a folder against it.

Artifacts kept in DVC are read from the project's DVC remote through DVC's
own libraries (``mr-registry[dvc]``); without them each is named with the
``dvc get`` command that fetches it. Artifacts in object stores (``s3://``
...) and git-lfs files are named with the command that fetches them.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from mr import artifacts, blobs, dvcremote, outfolder
from mr.config import Config
from mr.errors import (
    ArtifactsRefused,
    FileSystemError,
    MrError,
    ObjectNotFound,
    ReceiptError,
)
from mr.model import ERROR, RECEIPT, SHORT_SHA, Link, version_of
from mr.objectfiles import PlannedDvc, Source, open_dvc, plan, source_of
from mr.registry import Registry, link_name
from mr.results import CheckResult, GetResult, GotFile
from mr.terminal import NO_COMMAND, command_line
from mr.terminal import field as safe_text
from mr.urls import is_url, redact

if TYPE_CHECKING:
    from mr.reader import Found, Reader


def _version(reader: Reader, item: Link, first: Found) -> str:
    """The link's version (``version_of``), with what the project read says: the kind of its rev,
    the commit, the kind of the name a pin came from, the newest tag at a bare commit."""
    resolved = first.resolved
    project = None
    if item.project is not None:
        try:
            project = reader.projects.cached(item.project)
        except MrError:
            project = None
    pinned_kind = project.kind_of(item.pinned_from) if project is not None and item.pinned_from else None
    tag = project.tag_at(item.rev) if project is not None and item.rev and not item.is_pinned else None
    kind = resolved.kind if resolved is not None else None
    return version_of(item, kind, resolved.sha if resolved is not None else None, pinned_kind, tag)


def get(
    name: str,
    stage: str | None = None,
    out: str | None = None,
    registry: str | None = None,
    force: bool = False,
    allow_local: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    dvc_remote: str | None = None,
) -> GetResult:
    """Write the object link ``name`` resolves to into the folder ``out`` (default: ``./NAME``'s last part).

    The link is read from the work tree, or from ``stage``'s branch, and
    followed to its object. The object's meta and every artifact git holds
    for it are written as they are at the resolved commit, each checked
    against the size and md5 the meta records, with a receipt
    ``.mr-get.json``. All or nothing: ``ArtifactsRefused`` (one line per
    file) and nothing written when any file is missing, differs or is unsafe.
    An existing folder is replaced only with ``force``. Artifacts outside git
    (``s3://`` ...) are listed in ``GetResult.external``, not fetched.
    Artifacts kept in DVC are read from the DVC remote the project names at
    the commit (``dvc_remote``: another of its remotes), with mr's DVC support
    installed (``mr-registry[dvc]``), and checked against the meta and what
    ``dvc.lock`` or the ``.dvc`` file records. The links of a remote registry may not name local projects unless
    ``allow_local``.
    """
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
    view = reg.view(stage)
    stage_commit = view.commit if stage is not None else None
    config = view.config
    _check_policy(item, config)
    signer = None
    if stage is not None and view.commit is not None and config.stage_policy(stage).require_signed:
        from mr import signedstages

        signer = signedstages.check(reg, stage, view.commit)  # before anything is fetched
    # mr get copies committed files only: an alias is read at the commit, never the work tree
    alias_commit = view.committed()
    reader = view.reader(allow_local=allow_local, alias_at=alias_commit)
    # a local project a remote registry names is never opened (not even to say it is missing)
    reader.check_local(item.project, None, item.file or name)
    first = reader.read(item.project, item.rev, item.path)
    found = reader.follow(first)
    version = _version(reader, item, first)
    if isinstance(found.obj, Link):  # follow() ends at an object
        raise ObjectNotFound(f"{name}: the chain of links ends at no object")
    if found.project is not None and found.project != item.project:
        # the end of a chain: files are copied from there
        _check_policy(Link(link_type="model", path=found.path, project=found.project, file=item.file), config)
    source = source_of(reader, reg, found, alias_commit)
    meta = source.read(found.path)
    shown_out = os.path.relpath(folder) if out is None else out
    planned = plan(source, found.path, found.obj, shown_out)
    errors = [line for severity, line in planned.problems if severity == ERROR]
    arts = [p.artifact for p in planned.copies] + [d.artifact for d in planned.dvc]
    base = artifacts.layout(found.path, [a.path or "" for a in arts])
    targets = {a.name: artifacts.relative(a.path or "", base) for a in arts}
    meta_rel = artifacts.relative(found.path, base)
    errors.extend(_collisions(meta_rel, targets))
    storage = None
    if planned.dvc and not errors:
        storage, dvc_errors = _dvc_storage(source, planned.dvc, dvc_remote, config, folder, targets)
        errors.extend(dvc_errors)
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
        retyped = {d.artifact.name for d in planned.dvc if d.artifact.kind == "dvc"}
        if retyped:
            # the file is beside the meta now: MLEM reads it as a local artifact (no DVC needed to load)
            from mr import linkfile

            meta = linkfile.retype_artifacts(meta, retyped, "local", found.path)
        files = [_write_bytes(tmp, meta_rel, meta, folder)]
        total = sum({targets[a.name]: a.size for a in arts}.values())
        done = 0

        def copied(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress("bytes", done, total)

        written: dict[str, GotFile] = {}
        mismatched: list[str] = []
        for p in planned.copies:
            rel = targets[p.artifact.name]
            got = written.get(rel)
            if got is None:
                got = _write_blob(source, p.oid, tmp, rel, folder, copied)
                written[rel] = got
            if got.size != p.artifact.size or got.md5 != p.artifact.md5:
                mismatched.append(
                    f"{safe_text(p.artifact.path or '')} (artifact {safe_text(p.artifact.name)}): "
                    f"{got.size} bytes, md5 {got.md5} at {source.commit[:SHORT_SHA]}; "
                    f"the meta records {p.artifact.size} bytes, md5 {p.artifact.md5}"
                )
            files.append(GotFile(rel, got.size, got.md5, p.artifact.name))
        for d in planned.dvc:
            assert storage is not None
            rel = targets[d.artifact.name]
            try:
                got = _write_dvc(storage, d, tmp, rel, folder, copied)
            except dvcremote.DvcError as e:
                shown = f"{safe_text(d.artifact.path or '')} (artifact {safe_text(d.artifact.name)})"
                raise ArtifactsRefused(f"{name}: nothing written to {folder}", (f"{shown}: {e}",)) from None
            if got.size != d.artifact.size or got.md5 != d.artifact.md5 or got.md5 != d.md5:
                mismatched.append(
                    f"{safe_text(d.artifact.path or '')} (artifact {safe_text(d.artifact.name)}): "
                    f"{got.size} bytes, md5 {got.md5} from DVC remote {safe_text(storage.remote.name)}; "
                    f"the meta records {d.artifact.size} bytes, md5 {d.artifact.md5}"
                )
            files.append(GotFile(rel, got.size, got.md5, d.artifact.name, "dvc"))
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
            read_from=reg.read_from.get(stage) if stage is not None else None,
            signed_by=signer,
            version=version,
            notes=tuple(reg.notes),
            external=tuple(planned.external),
        )
        _write_bytes(tmp, RECEIPT, (json.dumps(result.receipt(), indent=2) + "\n").encode(), folder)
        outfolder.move_into_place(tmp, folder, force)
    except BaseException:
        held.remove()
        raise
    held.release()
    return result


def _dvc_storage(
    source: Source,
    planned: list[PlannedDvc],
    name: str | None,
    config: Config,
    folder: str,
    targets: Mapping[str, str],
) -> tuple[dvcremote.Storage | None, list[str]]:
    """The DVC remote the artifacts kept in DVC are read from, opened after the policy allows it; or,
    without mr's DVC support or with no usable remote, one line per artifact saying what to do."""
    if not dvcremote.have_extra():
        lines = []
        for d in planned:
            target = os.path.join(folder, *targets[d.artifact.name].split("/"))
            lines.append(
                f"{safe_text(d.artifact.path or '')} (artifact {safe_text(d.artifact.name)}) is kept in DVC: "
                f"install mr's DVC support ({dvcremote.EXTRA}) and run mr get again, or fetch it with "
                f"{_dvc_get(source, d, target)}"
            )
        return None, lines
    try:
        return open_dvc(source, name, config), []
    except dvcremote.DvcError as e:
        names = ", ".join(
            f"{safe_text(d.artifact.path or '')} (artifact {safe_text(d.artifact.name)})" for d in planned
        )
        return None, [f"{names}: {e}"]


def _dvc_get(source: Source, d: PlannedDvc, target: str) -> str:
    """The shell-quoted ``dvc get`` that writes the artifact at ``target`` (where mr get would put it)."""
    command = command_line(
        "dvc", "get", "--rev", source.commit, "-o", target, "--", source.url(), source.repo_path(d.artifact.path or "")
    )
    return command or NO_COMMAND


def _write_dvc(
    storage: dvcremote.Storage, d: PlannedDvc, tmp: str, rel: str, folder: str, copied: Callable[[int], None] | None
) -> GotFile:
    """Stream the artifact's object from the DVC remote into the temporary folder, hashed on the way."""
    path = storage.find(d.md5)
    if path is None:
        raise dvcremote.DvcError(
            f"object {d.md5} is not in DVC remote {safe_text(storage.remote.name)} ({storage.remote.shown}); "
            "was it pushed (dvc push)?"
        )
    with _naming(folder, rel), os.fdopen(_open_new(tmp, rel), "wb") as f:
        size, md5 = storage.copy(path, f, d.artifact.size, copied)
    return GotFile(rel, size, md5)


def _check_policy(item: Link, config: Config) -> None:
    """Refuse a project the registry does not allow (allowed_sources), or one whose URL carries credentials."""
    from mr import checks

    problems = [p for p in checks.policy_problems(item, config, None) if p.severity == ERROR]
    if problems:
        raise ArtifactsRefused(f"{item.name or item.file}: nothing fetched", tuple(str(p) for p in problems))


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


def _write_bytes(tmp: str, rel: str, data: bytes, folder: str) -> GotFile:
    import hashlib

    with _naming(folder, rel), os.fdopen(_open_new(tmp, rel), "wb") as f:
        f.write(data)
    return GotFile(rel, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())


def _write_blob(
    source: Source, oid: str, tmp: str, rel: str, folder: str, copied: Callable[[int], None] | None = None
) -> GotFile:
    with _naming(folder, rel), os.fdopen(_open_new(tmp, rel), "wb") as f:
        size, md5 = blobs.copy(source.repo.path, oid, f, copied)
    return GotFile(rel, size, md5)


@contextlib.contextmanager
def _naming(folder: str, rel: str) -> Iterator[None]:
    """A write that fails (a full disk, a read-only file system) names the file it was writing,
    where it was going (the temporary folder it was written in is removed)."""
    try:
        yield
    except OSError as e:
        raise FileSystemError(f"{os.path.join(folder, rel)}: {e.strerror or e}; nothing was written") from None


def check_get(folder: str) -> CheckResult:
    """Re-verify a folder ``mr get`` wrote against its receipt: every file listed, with its size and md5, and nothing else."""
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
        extra=tuple(extra),
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
