"""Names the CLI needs at start-up, defined once and free of imports (``mr --help`` stays fast)."""

from __future__ import annotations

#: The values ``mr show NAME --field F`` prints (``mr.api.link_field``).
SHOW_FIELDS = ("rev", "sha", "project", "path", "url", "type")
