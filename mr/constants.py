"""Names the CLI needs at start-up, defined once and free of imports (``mr --help`` stays fast)."""

from __future__ import annotations

#: The values ``mr show NAME --field F`` prints (``mr.api.link_field``).
SHOW_FIELDS = ("rev", "sha", "project", "path", "url", "type")

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
