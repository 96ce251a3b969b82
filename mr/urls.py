"""Project locations: URL or local path, and redaction of credentials.

Kept free of heavy imports: the CLI uses it to print any URL.
"""
from __future__ import annotations

import re

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# git's scp-like syntax: [user@]host:path, where host has no slash before the colon
_SCP = re.compile(r"^(?:[^@/\s]+@)?[^@/:\s]+:(?!//)[^\s]")
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^@/?#]*)@")


def is_url(spec: str) -> bool:
    """Whether a project location is a URL (fetched into the cache) or a local path."""
    if _SCHEME.match(spec):
        return True
    # C:\path or C:/path is a Windows drive, not scp syntax
    if re.match(r"^[A-Za-z]:[\\/]", spec):
        return False
    return _SCP.match(spec) is not None


def credentials_in(spec: str) -> str | None:
    """What kind of credential ``spec`` carries in its URL, or None."""
    m = _USERINFO.match(spec)
    if not m:
        return None
    scheme = m.group("scheme").lower()
    userinfo = m.group("userinfo")
    if ":" in userinfo:
        return "a password"
    if scheme.startswith("http") and userinfo:
        # https://TOKEN@host is how tokens are usually passed
        return "a user name or token"
    return None


def redact(spec: str | None) -> str:
    """``spec`` with any password or token replaced by ``***``."""
    if spec is None:
        return ""
    m = _USERINFO.match(spec)
    if not m:
        return spec
    scheme, userinfo = m.group("scheme"), m.group("userinfo")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        hidden = f"{user}:***" if user else "***"
    elif scheme.lower().startswith("http"):
        hidden = "***"
    else:
        return spec
    return f"{scheme}{hidden}@{spec[m.end():]}"


def strip_credentials(spec: str) -> str:
    """``spec`` with its user information removed (for an http(s) URL) or its password."""
    m = _USERINFO.match(spec)
    if not m:
        return spec
    scheme, userinfo = m.group("scheme"), m.group("userinfo")
    if scheme.lower().startswith("http") or ":" in userinfo:
        return f"{scheme}{spec[m.end():]}"
    return spec


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def safe_text(text: str) -> str:
    """``text`` with control characters escaped, safe to print on a terminal."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1] if m.group(0) not in "\t" else "\\t", text)
