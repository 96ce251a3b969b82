"""The artifacts a MLEM meta lists, read as untrusted input: data in, plans and problems out.

MLEM 0.4 writes them as::

    artifacts:
      data.pkl:
        hash: d06317b0b45a43cb9179b97c68d79af4   # md5 of the file
        size: 210
        uri: double                              # relative to the meta's folder

A relative ``uri`` names a file of the same project; one with a scheme
(``s3://``, ``gs://`` ...) lives outside git. Anything else (an absolute
path, ``file://``, ``..`` above the project root, control characters) is
refused.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MD5 = re.compile(r"[0-9a-f]{32}")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The start of every git-lfs pointer file.
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
#: A pointer file is a few lines; a blob larger than this is no pointer.
LFS_POINTER_MAX = 1024


@dataclass(frozen=True)
class Artifact:
    """One artifact of a meta, checked for shape."""

    name: str
    uri: str
    size: int
    md5: str
    #: the file inside the project (relative to its root), for an artifact git may hold
    path: str | None = None
    #: the scheme of an artifact outside git (``s3`` ...)
    scheme: str | None = None
    #: the meta's ``type`` of it (``local``, ``dvc`` for an artifact MLEM saved to DVC storage)
    kind: str = "local"


def parse(obj: Mapping[str, Any], meta_path: str) -> tuple[list[Artifact], list[str]]:
    """The artifacts of the meta ``obj`` read from ``meta_path`` (project-relative), and what is wrong.

    Each problem is one line naming the artifact.
    """
    raw = obj.get("artifacts")
    if raw is None:
        return [], []
    if not isinstance(raw, Mapping):
        return [], [f"{meta_path}: artifacts is not a mapping"]
    folder = posixpath.dirname(meta_path)
    out: list[Artifact] = []
    problems: list[str] = []
    for key, value in raw.items():
        name = str(key)
        shown = _shown(name)
        if not isinstance(value, Mapping):
            problems.append(f"artifact {shown}: not a mapping of uri, size and hash")
            continue
        uri, size, md5 = value.get("uri"), value.get("size"), value.get("hash")
        if not isinstance(uri, str) or not uri:
            problems.append(f"artifact {shown}: no uri")
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(f"artifact {shown}: size is not a number of bytes")
            continue
        if not isinstance(md5, str) or not _MD5.fullmatch(md5):
            problems.append(f"artifact {shown}: hash is not an md5")
            continue
        kind = str(value.get("type")) if isinstance(value.get("type"), str) else "local"
        m = _SCHEME.match(uri)
        if m and m.group(1).lower() != "file":
            out.append(Artifact(name, uri, size, md5, scheme=m.group(1).lower(), kind=kind))
            continue
        why = uri_problem(uri)
        if why is None:
            path = posixpath.normpath(posixpath.join(folder, uri.replace("\\", "/")))
            if path == ".." or path.startswith("../"):
                why = "leaves the project with .."
            else:
                out.append(Artifact(name, uri, size, md5, path=path, kind=kind))
                continue
        problems.append(f"artifact {shown}: uri {_shown(uri)} refused: {why}")
    return out, problems


def uri_problem(uri: str) -> str | None:
    """Why a uri that is no URL cannot name a file of the project, or None."""
    if _CONTROL.search(uri):
        return "it holds a control character"
    if uri.lower().startswith("file:") or uri.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:", uri):
        return "an absolute path; mr copies only files inside the project"
    norm = posixpath.normpath(uri.replace("\\", "/"))
    if norm in (".", ""):
        return "it names no file"
    if any(part == ".git" for part in norm.split("/")):
        return "it names git's own files"
    return None


def is_lfs_pointer(head: bytes) -> bool:
    return head.startswith(LFS_POINTER)


def _shown(text: str) -> str:
    from mr.terminal import field as safe_text

    return safe_text(text)


def layout(meta_path: str, paths: list[str]) -> str:
    """The project folder ``mr get`` copies from: the meta's folder, or the folder above it and every artifact."""
    folders = [posixpath.dirname(meta_path)] + [posixpath.dirname(p) for p in paths]
    if any(f == "" for f in folders):
        return ""
    return posixpath.commonpath(folders)


def relative(path: str, base: str) -> str:
    return posixpath.relpath(path, base) if base else path
