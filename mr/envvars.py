"""Environment variables mr reads, checked once before a command runs."""

from __future__ import annotations

import math
import os

from mr.errors import UsageError

#: Seconds one network operation may take in all, unless MR_GIT_TIMEOUT says otherwise.
DEFAULT_GIT_TIMEOUT = 300.0
_MAX_GIT_TIMEOUT = 24 * 3600.0


def git_timeout() -> float:
    """``MR_GIT_TIMEOUT`` in seconds; a usage error (exit 2) for a value that is no such number."""
    raw = os.environ.get("MR_GIT_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_GIT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 < value <= _MAX_GIT_TIMEOUT):  # NaN fails every comparison
        from mr.terminal import field

        raise UsageError(f"MR_GIT_TIMEOUT={field(raw)}: give a number of seconds above 0 (at most 86400)")
    return value


def check() -> None:
    """``UsageError`` (exit 2) for a value mr cannot use, naming the variable and what it wants."""
    git_timeout()
    cache = os.environ.get("MR_CACHE_DIR")
    if cache:
        from mr.terminal import field

        full = os.path.abspath(cache)
        here = full
        while True:
            if os.path.exists(here) or os.path.islink(here):
                if not os.path.isdir(here):
                    where = "" if here == full else f" ({field(here)} is a file)"
                    raise UsageError(
                        f"MR_CACHE_DIR={field(cache)}: not a folder{where}; "
                        "point it at a folder (it is created when missing)"
                    )
                break
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
