"""What a commit on a stage records in its trailers (``Mr-Link``, ``Mr-Rev`` ...): promotions, rollbacks, retirements."""

from __future__ import annotations

from dataclasses import dataclass

from mr import linkfile
from mr.errors import LinkFileError
from mr.model import (
    ACTION_RETIRE,
    ACTION_ROLLBACK,
    TRAILER_ACTION,
    TRAILER_FROM,
    TRAILER_LINK,
    TRAILER_REV,
    TRAILER_ROLLBACK_TO,
    HistoryKind,
    Link,
)


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """``(key, value)`` of the trailers in a commit message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    out = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or " " in key:
            return []
        out.append((key, value.strip()))
    return out


def promotions_of(message: str, name: str) -> list[tuple[str | None, str | None, str | None, str | None]]:
    """``(from stage, from commit, rev, sha)`` for each time ``name`` is promoted in ``message``."""
    return _promotions(parse_trailers(message), name)


def _promotions(
    trailers: list[tuple[str, str]], name: str
) -> list[tuple[str | None, str | None, str | None, str | None]]:
    source = source_commit = None
    found = []
    current: str | None = None
    for key, value in trailers:
        if key == TRAILER_ACTION:
            return []  # a rollback or retirement, not a promotion
        if key == TRAILER_FROM:
            parts = value.split()
            source = parts[0] if parts else None
            source_commit = parts[1] if len(parts) > 1 else None
        elif key == TRAILER_LINK:
            current = value
        elif key == TRAILER_REV and current == name:
            rev, _, sha = value.rpartition(" ")
            found.append((rev or None, sha or None))
            current = None
    return [(source, source_commit, rev, sha) for rev, sha in found]


@dataclass(frozen=True)
class Recorded:
    """What a commit's trailers say it did to one link."""

    kind: HistoryKind
    source: str | None = None
    source_commit: str | None = None
    rev: str | None = None
    sha: str | None = None
    rollback_to: str | None = None


def recorded(message: str, name: str) -> Recorded | None:
    """What the trailers of ``message`` record for link ``name``; None when they do not name it."""
    trailers = parse_trailers(message)
    actions = [v for k, v in trailers if k == TRAILER_ACTION]
    named = any(k == TRAILER_LINK and v == name for k, v in trailers)
    if not named:
        return None
    if not actions:
        found = _promotions(trailers, name)
        source, source_commit, rev, sha = found[-1] if found else (None, None, None, None)
        return Recorded("promotion", source, source_commit, rev, sha)
    if actions[0] == ACTION_RETIRE:
        return Recorded("retirement")
    if actions[0] == ACTION_ROLLBACK:
        current = None
        for key, value in trailers:
            if key == TRAILER_LINK:
                current = value
            elif key == TRAILER_ROLLBACK_TO and current == name:
                return Recorded("rollback", rollback_to=None if value == "-" else value)
        return Recorded("rollback")
    return None  # an action this version does not know: shown as what the file shows


def rev_in(data: bytes | None, file: str) -> str | None:
    """A link file's rev for history: ``main``, ``v1@<sha>`` for a pin, None when absent."""
    if data is None:
        return None
    try:
        link = linkfile.load_link(data, file)
    except LinkFileError:
        return "(unreadable)"
    return rev_of(link)


def rev_of(link: Link | None) -> str:
    """``rev_in`` of a file already read (None: unreadable)."""
    if link is None:
        return "(unreadable)"
    if link.is_pinned:
        return f"{link.pinned_from}@{link.rev}"
    if link.rev is None:
        return "(default branch)" if link.project is not None else "(registry)"
    return link.rev
