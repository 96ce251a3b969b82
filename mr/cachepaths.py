"""Where mr keeps its caches: light enough for the completion path."""

from __future__ import annotations

import hashlib
import os
import re

from mr.errors import UsageError
from mr.urls import strip_credentials


def cache_root() -> str:
    base = os.environ.get("MR_CACHE_DIR")
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "mr")


def ensure_cache_root() -> str:
    """The folder of project caches, made if missing; a usage error when it cannot be."""
    root = cache_root()
    projects = os.path.join(root, "projects")
    try:
        os.makedirs(projects, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"MR_CACHE_DIR={root}: not a folder (point it at a folder mr may write)") from None
    except OSError as e:
        raise UsageError(f"cache folder {projects}: {e.strerror}; set MR_CACHE_DIR to a writable folder") from None
    return projects


def cache_path(url: str) -> str:
    """The bare cache of ``url``: readable name, unique by a hash of the URL."""
    url = strip_credentials(url)
    tail = re.sub(r"(\.git)?/*$", "", url.split("@")[-1]).rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip(".-")[:40] or "project"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return os.path.join(cache_root(), "projects", f"{slug}-{digest}.git")
