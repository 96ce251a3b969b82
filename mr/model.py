"""Frozen dataclasses passed between mr's layers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from mr.errors import file_line

LINK_SUFFIX = ".mlem"
#: ``params`` key where a pin keeps the symbolic rev it was taken from.
PINNED_FROM = "pinned_from"
#: Trailers of the commits mr makes on a stage, read back by ``mr show NAME``.
#: ``Mr-Action`` names what the commit does (absent: a promotion); each
#: ``Mr-Link`` starts the trailers about one link.
TRAILER_ACTION = "Mr-Action"
TRAILER_LINK = "Mr-Link"
TRAILER_FROM = "Mr-From"
TRAILER_REV = "Mr-Rev"
#: A rollback: the stage commit whose content the link was put back to ("-": none, it is removed) ...
TRAILER_ROLLBACK_TO = "Mr-Rollback-To"
#: ... and the stage commits whose changes to the link it undid, newest first.
TRAILER_UNDOES = "Mr-Undoes"
#: Values of ``Mr-Action``.
ACTION_ROLLBACK = "rollback"
ACTION_RETIRE = "retire"

#: What a change to a link on a stage was, as ``mr show NAME`` reports it.
HistoryKind = Literal["promotion", "rollback", "retirement", "direct change"]
FULL_SHA = re.compile(r"[0-9a-f]{40}")

#: Kinds of rev, as ``mr show`` reports them.
RevKind = Literal["branch", "tag", "commit", "pin", "ref"]
BRANCH: Final = "branch"
TAG: Final = "tag"
COMMIT: Final = "commit"
PIN: Final = "pin"
#: A symbolic rev whose project was not consulted (branch or tag, unknown).
REF: Final = "ref"
#: How serious a problem is: an error fails the command, a warning does not.
Severity = Literal["error", "warning"]
#: What ``mr verify`` found for one file.
CheckStatus = Literal["ok", "error", "warning", "skipped"]
#: How a link differs between two stages (``mr show --diff``).
ChangeKind = Literal["added", "removed", "changed"]
#: What kind of rev moved on (``mr show --outdated``).
OutdatedKind = Literal["branch", "pin", "tag"]


#: How a link to the registry itself is named where a project would be.
THIS_REGISTRY = "this registry"
#: How many hex digits of a commit SHA messages and tables show.
SHORT_SHA = 12
#: How many a compact ``name@sha`` shows (a link's history, a pin in the stage matrix), as ``git log --oneline``.
COMPACT_SHA = 7


def is_full_sha(rev: str | None) -> bool:
    # the length first: most revs (main, v1.2.0) are not 40 characters long
    return rev is not None and len(rev) == 40 and FULL_SHA.fullmatch(rev) is not None


@dataclass(frozen=True)
class Link:
    """One MLEM link: the content of a ``*.mlem`` file with ``object_type: link``."""

    link_type: str
    path: str
    project: str | None = None
    rev: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    #: which field names the project in the file: ``project`` (MLEM 0.4) or ``repo`` (MLEM 0.2)
    project_field: str = "project"
    #: registry name (file path without ``.mlem``), when read from a registry
    name: str | None = field(default=None, compare=False)
    #: where the link was read from, for messages
    file: str | None = field(default=None, compare=False)
    #: 1-based line of each top-level key in the file it was read from
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pinned_from(self) -> str | None:
        return self.params.get(PINNED_FROM)

    @property
    def is_pinned(self) -> bool:
        return self.has_full_sha and self.pinned_from is not None

    @property
    def is_alias(self) -> bool:
        """A link to an object in the registry itself (at its own ``rev``, or on the branch holding the link)."""
        return self.project is None

    @property
    def is_stage_alias(self) -> bool:
        """An alias without a rev: the object on whichever stage branch holds the link, so it moves with
        the stage and is never pinned."""
        return self.project is None and self.rev is None

    @property
    def has_full_sha(self) -> bool:
        """The rev is a full commit SHA, which is what a stage's ``require_pinned`` asks for.

        ``is_pinned`` is stricter: a full SHA that also keeps the name it was taken from.
        """
        return is_full_sha(self.rev)

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)

    def to_dict(self) -> dict[str, Any]:
        """The fields as MLEM writes them: sorted keys, empty fields left out."""
        data: dict[str, Any] = {"link_type": self.link_type, "object_type": "link"}
        if self.params:
            data["params"] = dict(sorted(self.params.items()))
        data["path"] = self.path
        if self.project is not None:
            data[self.project_field] = self.project
        if self.rev is not None:
            data["rev"] = self.rev
        return dict(sorted(data.items()))


@dataclass(frozen=True)
class Meta:
    """A MLEM object that is not a link (a model, a dataset, ...)."""

    object_type: str
    #: the meta file inside its project, with ``.mlem``
    path: str
    project: str | None
    rev: str | None
    #: the commit it was read at (None when read from a work tree)
    sha: str | None
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ResolvedRev:
    """A rev of a project resolved to a commit."""

    rev: str
    sha: str
    kind: Literal["branch", "tag", "commit"]


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file, as ``FILE:LINE: error: message``."""

    file: str
    line: int | None
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{file_line(self.file, self.line)}: {self.severity}: {self.message}"


def pinned(link: Link, sha: str, symbolic: str) -> Link:
    """``link`` pinned to ``sha``, remembering the symbolic rev it came from."""
    from dataclasses import replace

    params = dict(link.params)
    params[PINNED_FROM] = symbolic
    return replace(link, rev=sha, params=params)


# Outcomes of ``mr verify`` for one file.
OK: Final = "ok"
ERROR: Final = "error"
WARNING: Final = "warning"
SKIPPED: Final = "skipped"


#: The receipt ``mr get`` leaves in the folder it writes.
RECEIPT = ".mr-get.json"
#: Version of the receipt's JSON document.
RECEIPT_VERSION = 1


# --- names the CLI needs at start-up (this module imports nothing heavy) ---------------

#: The values ``mr show NAME --field F`` prints (``mr.api.link_field``).
SHOW_FIELDS = ("rev", "sha", "project", "path", "url", "type", "version", "pinned_from")

#: Refs git keeps for itself: never a stage (as refs/heads/HEAD they confuse
#: every git command) nor a rev a link can record.
GIT_SPECIAL_REFS = frozenset(
    (
        "HEAD",
        "FETCH_HEAD",
        "ORIG_HEAD",
        "MERGE_HEAD",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "BISECT_HEAD",
        "REBASE_HEAD",
        "AUTO_MERGE",
    )
)

#: what a link file whose name holds a backslash is: link names read "\\" as "/", so it would
#: stand for another file; it is reported, never read
BACKSLASH_NAME = "a name with a backslash, which mr reads as a folder separator"


#: a name that reads as a release version (v1.2.0, 2.0, model@v3): offline, a pin from such a name is taken for a tag
_VERSION_NAME = re.compile(r"(?:[\w.-]+@)?v?\d+(?:\.\d+)*(?:[-+.][\w.-]+)?")


def version_of(
    link: Link,
    kind: str | None = None,
    sha: str | None = None,
    pinned_kind: str | None = None,
    tag: str | None = None,
) -> str:
    """A link's version, as release engineers name it: the one rule every view follows.

    - pinned from a tag: that tag (``v1.1.0``); pinned from a branch: ``BRANCH@SHA12``;
      pinned from a name whose kind is not known here: the name when it reads as a version,
      else ``NAME@SHA12``;
    - a tag: the tag;
    - a branch: ``BRANCH@SHA12``, with the commit recorded or resolved (``sha``), else the branch;
    - a bare commit: ``tag`` (the newest tag of the project at it) when known, else ``SHA12``;
    - no rev: ``(default branch)`` (``@SHA12`` when resolved); an alias without one: ``(stage)``.

    ``kind`` is the rev's (``branch``, ``tag``, ``commit``, ``pin``, ``ref``: not known here);
    ``pinned_kind`` the kind of the name a pin was taken from.
    """
    rev = link.rev
    if link.is_pinned:
        assert rev is not None and link.pinned_from is not None
        name = link.pinned_from
        if pinned_kind == "tag" or (pinned_kind is None and _VERSION_NAME.fullmatch(name)):
            return name
        return f"{name}@{rev[:SHORT_SHA]}"
    if rev is None:
        if link.project is None:
            return "(stage)"
        return f"(default branch)@{sha[:SHORT_SHA]}" if sha else "(default branch)"
    if is_full_sha(rev):
        return tag or rev[:SHORT_SHA]
    if kind == "branch" and sha:
        return f"{rev}@{sha[:SHORT_SHA]}"
    return rev


_VERSION = re.compile(r"^(?P<prefix>.*?)v?(?P<nums>\d+(?:\.\d+){0,3})(?P<pre>-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def version_key(tag: str) -> tuple[str, tuple[int, ...], int, str] | None:
    """A sort key in semantic-version order, or None when ``tag`` is no version.

    Tags compare only with tags of the same prefix (``model@v1.2.0`` with
    ``model@v1.3.0``); a pre-release sorts before its release.
    """
    m = _VERSION.match(tag)
    if not m:
        return None
    nums = tuple(int(n) for n in m.group("nums").split("."))
    nums = nums + (0,) * (4 - len(nums))
    pre = m.group("pre")
    return (m.group("prefix"), nums, 0 if pre else 1, pre or "")
