"""Environment variables mr reads, checked once before a command runs."""
from __future__ import annotations

import os

from mr.errors import UsageError


def check() -> None:
    """``UsageError`` (exit 2) for a value mr cannot use, naming the variable and what it wants."""
    raw = os.environ.get("MR_GIT_TIMEOUT")
    if raw is not None and raw.strip():
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 0 < value <= 24 * 3600:
            raise UsageError(f"MR_GIT_TIMEOUT={raw!r}: a whole number of seconds, from 1 to 86400")
    cache = os.environ.get("MR_CACHE_DIR")
    if cache:
        here = os.path.abspath(cache)
        while True:
            if os.path.exists(here) or os.path.islink(here):
                if not os.path.isdir(here):
                    raise UsageError(f"MR_CACHE_DIR={cache!r}: {here} is not a folder; point it at a folder (it is created when missing)")
                break
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
