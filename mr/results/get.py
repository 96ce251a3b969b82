"""What ``mr get`` and ``mr get --check`` return: the files written (or checked) and their receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mr.model import (
    RECEIPT_VERSION,
)


@dataclass(frozen=True)
class GotFile:
    """A file ``mr get`` wrote: its path inside the folder, size and md5."""

    path: str
    size: int
    md5: str
    #: the artifact's name in the meta (None for the meta file itself)
    artifact: str | None = None
    #: where its bytes came from: ``git`` (the source's commit) or ``dvc`` (the project's DVC remote)
    source: str = "git"


@dataclass(frozen=True)
class ExternalArtifact:
    """An artifact git does not hold (``s3://`` ...): named, not fetched."""

    artifact: str
    uri: str
    #: what fetches it
    hint: str


@dataclass(frozen=True)
class GetResult:
    """What ``mr get`` wrote, as its receipt records it."""

    folder: str
    registry: str
    stage: str | None
    #: the stage branch's commit the link was read at (None: the work tree)
    stage_commit: str | None
    name: str
    #: the object's project (redacted; None: the registry itself)
    project: str | None
    rev: str | None
    #: the commit the object and its files were read at
    commit: str
    #: the meta file inside its project
    path: str
    #: the meta file inside ``folder``
    meta: str
    files: tuple[GotFile, ...]
    external: tuple[ExternalArtifact, ...] = ()
    #: the copy of the stage read: ``production`` or ``origin/production`` (None: the work tree)
    read_from: str | None = None
    #: who signed the stage's commit, on a stage that requires signed commits (None: not required)
    signed_by: str | None = None
    #: the link's version (``model.version_of``): v1.1.0 for a link pinned from that tag
    version: str | None = None
    #: warnings about the stage read (a local stage behind its remote)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Always: a ``GetResult`` exists only when every file was written and checked (else an error)."""
        return True

    def receipt(self) -> dict[str, Any]:
        """The receipt document (``.mr-get.json``, and ``mr get --json``)."""
        return {
            "version": RECEIPT_VERSION,
            "registry": self.registry,
            "stage": self.stage,
            "stage_commit": self.stage_commit,
            "read_from": self.read_from,
            "signed_by": self.signed_by,
            "name": self.name,
            "project": self.project,
            "rev": self.rev,
            "link_version": self.version,
            "commit": self.commit,
            "path": self.path,
            "meta": self.meta,
            "files": [
                {"path": f.path, "size": f.size, "md5": f.md5, "artifact": f.artifact, "source": f.source}
                for f in self.files
            ],
            "external": [{"artifact": e.artifact, "uri": e.uri, "hint": e.hint} for e in self.external],
        }


@dataclass(frozen=True)
class CheckResult:
    """``mr get --check``: a folder against its receipt."""

    folder: str
    #: files whose size or md5 differ from the receipt
    changed: tuple[str, ...]
    #: files the receipt lists that are gone
    missing: tuple[str, ...]
    #: files (or links, folders' other entries) the receipt does not list
    extra: tuple[str, ...]
    #: how many files the receipt lists
    checked: int
    commit: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)
