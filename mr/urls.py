"""Project locations: URL or local path, and redaction of credentials.

Kept free of heavy imports: the CLI uses it to print any URL.
"""

from __future__ import annotations

import functools
import re

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# git's scp-like syntax: [user@]host:path, where host has no slash before the colon
_SCP = re.compile(r"^(?:[^@/\s]+@)?[^@/:\s]+:(?!//)[^\s]")


@functools.lru_cache(maxsize=4096)  # asked for each link; a registry names few projects
def is_url(spec: str) -> bool:
    """Whether a project location is a URL (fetched into the cache) or a local path."""
    if _SCHEME.match(spec):
        return True
    # C:\path or C:/path is a Windows drive, not scp syntax
    if re.match(r"^[A-Za-z]:[\\/]", spec):
        return False
    return _SCP.match(spec) is not None


#: Query parameters that carry a secret (compared case-insensitively).
TOKEN_PARAMS = (
    "access_token",
    "private_token",
    "job_token",
    "oauth_token",
    "auth_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
)
# scheme:// then the authority (up to the first / ? # or space); its userinfo is
# everything before the LAST @, so a password may hold @ and : of its own
_AUTHORITY = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<authority>[^/?#\s]*)")
_TOKEN = re.compile(
    r"(?P<key>[?&;](?:" + "|".join(re.escape(t) for t in TOKEN_PARAMS) + r")=)(?P<value>[^&#\s]*)",
    re.IGNORECASE,
)


def _userinfo(spec: str) -> tuple[str, str, str] | None:
    """``(scheme, userinfo, rest)`` of a URL that carries user information, else None."""
    m = _AUTHORITY.match(spec)
    if not m or "@" not in m.group("authority"):
        return None
    userinfo, _, host = m.group("authority").rpartition("@")
    return m.group("scheme"), userinfo, host + spec[m.end() :]


def credentials_in(spec: str) -> str | None:
    """What kind of credential ``spec`` carries in its URL, or None."""
    if _TOKEN.search(spec) and is_url(spec):
        return "a token in its query string"
    parts = _userinfo(spec)
    if parts is None:
        return None
    scheme, userinfo, _ = parts
    if ":" in userinfo:
        return "a password"
    if scheme.lower().startswith("http") and userinfo:
        # https://TOKEN@host is how tokens are usually passed
        return "a user name or token"
    return None


def _hide(m: re.Match[str]) -> str:
    scheme, authority = m.group("scheme"), m.group("authority")
    if "@" not in authority:
        return m.group(0)
    userinfo, _, host = authority.rpartition("@")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        hidden = f"{user}:***" if user else "***"
    elif scheme.lower().startswith("http"):
        hidden = "***"
    else:
        return m.group(0)  # ssh://git@host: a user name, no secret
    return f"{scheme}{hidden}@{host}"


def redact(text: str | None) -> str:
    """``text`` (a URL, or any text holding URLs) with every password and token replaced by ``***``.

    Understands ``user:password@host`` whatever the password holds (``@``
    and ``:`` included), ``https://TOKEN@host``, and token query parameters
    (``access_token``, ``private_token``, ``token``, ...). The one function
    every URL mr prints goes through.
    """
    if not text:
        return ""
    # each pattern only where it can match: user information needs "://" and an "@", a token "="
    if "@" in text and "://" in text:
        text = _AUTHORITY.sub(_hide, text)
    if "=" in text:
        text = _TOKEN.sub(lambda m: m.group("key") + "***", text)
    return text


def strip_credentials(spec: str) -> str:
    """``spec`` without its secrets: user information (of an http(s) URL) or password, and token parameters."""
    parts = _userinfo(spec)
    if parts is not None:
        scheme, userinfo, rest = parts
        if scheme.lower().startswith("http") or ":" in userinfo:
            spec = f"{scheme}{rest}"
    if _TOKEN.search(spec):
        spec = _TOKEN.sub("", spec)
        if "?" not in spec and "&" in spec:
            spec = spec.replace("&", "?", 1)
    return spec


_DEFAULT_PORTS = {"http": "80", "https": "443", "ssh": "22", "git": "9418", "ftp": "21", "ftps": "990"}
_UNRESERVED_ESCAPE = re.compile(r"%(2[DdEe]|5[Ff]|7[Ee]|[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9])")


def normalize(spec: str) -> str:
    """A canonical form of a project URL, for comparing against ``allowed_sources``.

    Credentials and token parameters are dropped; scheme and host lower-cased;
    default ports dropped; scp syntax (``git@host:org/repo``) read as ssh;
    percent-escapes of plain characters decoded; ``.`` and ``..`` segments
    resolved, duplicate slashes collapsed, trailing ``/`` and ``.git`` removed.
    A local path is normalised as a path.
    """
    import posixpath

    spec = strip_credentials(spec.strip())
    if not is_url(spec):
        return posixpath.normpath(spec.replace("\\", "/")) if spec else spec
    m = re.match(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", spec)
    if m:
        scheme, rest = m.group("scheme").lower(), m.group("rest")
        authority, slash, path = rest.partition("/")
        path = slash + path
    else:  # scp syntax: [user@]host:path
        scheme = "ssh"
        authority, _, path = spec.partition(":")
        path = "/" + path
    path, _, query = path.partition("?")
    path = path.split("#", 1)[0]
    user, at, host = authority.rpartition("@")
    host = host.lower()
    if ":" in host and not host.endswith("]"):
        name, _, port = host.rpartition(":")
        if port == _DEFAULT_PORTS.get(scheme) or port == "":
            host = name
    path = _UNRESERVED_ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), path)
    # slashes collapsed first: normpath keeps a leading "//"; the path is empty or starts
    # with "/", so normpath never gives "."; a lone "/" goes with the trailing slashes
    path = re.sub(r"/{2,}", "/", path)
    if path:
        path = posixpath.normpath(path)
    path = re.sub(r"(\.git)?/*$", "", path)
    out = f"{scheme}://{host}{path}"  # the user name is no part of where the project lives
    return f"{out}?{query}" if query else out


def is_local(spec: str) -> bool:
    """Whether a project location names something on this machine (a path, or a file:// URL)."""
    return not is_url(spec) or spec.lower().startswith("file:")


def allowed(spec: str, prefixes: tuple[str, ...] | list[str]) -> bool:
    """Whether ``spec`` is at or under one of ``prefixes``, compared normalised, on path-segment boundaries."""
    url = normalize(spec)
    for prefix in prefixes:
        p = normalize(prefix)
        if not p:
            continue
        if url == p or url.startswith(p + "/") or (p.endswith("/") and url.startswith(p)):
            return True
    return False
