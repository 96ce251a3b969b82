"""mr.urls: what counts as a URL, which credentials a URL carries, and how it is redacted,
stripped, normalised and compared against ``allowed_sources`` (exact values)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mr.urls import allowed, credentials_in, is_local, is_url, normalize, redact, strip_credentials
from tests.helpers import examples


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("https://h/x", True),
        ("git+ssh://h/x", True),
        ("a1+.-://x", True),
        ("host://x", True),
        ("1a://x", False),
        ("C:\\x", False),
        ("C:/x", False),
        ("c:/x", False),
        ("git@host:org/r", True),
        ("host:org/r", True),
        ("h:p", True),
        ("u@h:p", True),
        ("host:", False),
        ("a/b:c", False),
        ("@h:p", False),
        ("u@@h:p", False),
        (" h:p", False),
        ("h: p", False),
        ("h:/abs", False),
        ("x@y/z:p", False),
        ("", False),
    ],
)
def test_is_url(spec: str, expected: bool) -> None:
    assert is_url(spec) is expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("https://u:p@h/x", "a password"),
        ("https://u:@h/x", "a password"),
        ("ssh://:p@h/x", "a password"),
        ("https://tok@h/x", "a user name or token"),
        ("HTTPS://t@h/x", "a user name or token"),
        ("http://h/x?token=1", "a token in its query string"),
        ("https://h/x?a=1&Access_Token=1", "a token in its query string"),
        ("git@h:x?token=1", "a token in its query string"),
        ("git://h/x&key=1", "a token in its query string"),
        ("ssh://git@h/x", None),
        ("ftp://u@h/x", None),
        ("https://@h/x", None),
        ("/p?token=1", None),
        ("https://h/x", None),
        ("https://h/x?mytoken=1", None),
        ("https://h/x#a@b", None),
        # the user information ends at the LAST @ of the authority
        ("https://u@a:b@h/x", "a password"),
        ("git@h:x", None),
    ],
)
def test_credentials_in(spec: str, expected: str | None) -> None:
    assert credentials_in(spec) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:p@h/x", "https://u:***@h/x"),
        ("https://u:p:q@r@h/x", "https://u:***@h/x"),
        ("https://:p@h/x", "https://***@h/x"),
        ("https://tok@h/x", "https://***@h/x"),
        ("HTTP://t@h", "HTTP://***@h"),
        ("ftp://u:p@h/x", "ftp://u:***@h/x"),
        ("ssh://git@h/x", "ssh://git@h/x"),
        ("https://h/x", "https://h/x"),
        ("https://h/x?Token=abc", "https://h/x?Token=***"),
        ("https://h/x?access_token=a b", "https://h/x?access_token=*** b"),
        (
            "see https://u:p@h/x and http://t@g/y?token=abc&b=1;sig=2#f",
            "see https://u:***@h/x and http://***@g/y?token=***&b=1;sig=***#f",
        ),
        (None, ""),
        ("", ""),
    ],
)
def test_redact(text: str | None, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("https://u:p@h/x", "https://h/x"),
        ("https://tok@h/x", "https://h/x"),
        ("HTTP://t@h/x", "HTTP://h/x"),
        ("ssh://git@h/x", "ssh://git@h/x"),
        ("ssh://git:pw@h/x", "ssh://h/x"),
        ("https://h/x?token=1", "https://h/x"),
        ("https://h/x?token=1&a=2", "https://h/x?a=2"),
        ("https://h/x?a=2&token=1", "https://h/x?a=2"),
        ("https://h/x?a=1&b=2", "https://h/x?a=1&b=2"),
        ("https://h/x&token=1&a=2", "https://h/x?a=2"),
        ("https://h/x?token=1&a=2&b=3", "https://h/x?a=2&b=3"),
        ("https://h/x?a=1&token=2&b=3", "https://h/x?a=1&b=3"),
        ("ssh://u@p:w@h/x", "ssh://h/x"),
        ("git@h:x", "git@h:x"),
    ],
)
def test_strip_credentials(spec: str, expected: str) -> None:
    assert strip_credentials(spec) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("https://GitHub.COM/Org/Repo.git/", "https://github.com/Org/Repo"),
        ("HTTPS://h/x", "https://h/x"),
        ("https://h:443/x", "https://h/x"),
        ("http://h:80/x", "http://h/x"),
        ("https://h:80/x", "https://h:80/x"),
        ("ssh://h:22/x", "ssh://h/x"),
        ("git://h:9418/x", "git://h/x"),
        ("ftp://h:21/x", "ftp://h/x"),
        ("ftps://h:990/x", "ftps://h/x"),
        ("http://h:/x", "http://h/x"),
        ("https://[::1]:443/x", "https://[::1]/x"),
        ("https://u:p@h/x", "https://h/x"),
        ("ssh://git@h/x", "ssh://h/x"),
        ("git@h:org/repo.git", "ssh://h/org/repo"),
        ("git@h:22/x", "ssh://h/22/x"),
        ("git@h:a:b", "ssh://h/a:b"),
        ("https://443/x", "https://443/x"),
        ("https://[::443]/x", "https://[::443]/x"),
        ("https://h/a/./b/../c", "https://h/a/c"),
        ("https://h//a///b", "https://h/a/b"),
        ("https://h/a//..//b", "https://h/b"),
        ("https://h/%7Euser/%41%2f", "https://h/~user/A%2f"),
        ("https://h/%2D%2E%5F%7E%61%7A%30%39%5A%40", "https://h/-._~az09Z%40"),
        ("https://h/", "https://h"),
        ("https://h", "https://h"),
        ("https://h/.", "https://h"),
        ("https://h/..", "https://h"),
        ("https://h/x/", "https://h/x"),
        ("https://h/x.git", "https://h/x"),
        ("https://h/x.gitx", "https://h/x.gitx"),
        ("https://h/x#f", "https://h/x"),
        ("https://h/x#a#b", "https://h/x"),
        ("https://h/x/?b=2", "https://h/x?b=2"),
        ("https://h/x.git?b=2", "https://h/x?b=2"),
        ("https://h/x?b=2", "https://h/x?b=2"),
        ("https://h/x?token=1&b=2", "https://h/x?b=2"),
        ("file:///a/b", "file:///a/b"),
        ("file:////a", "file:///a"),
        ("  https://h/x  ", "https://h/x"),
        (" /a/../b/ ", "/b"),
        ("a\\b", "a/b"),
        ("", ""),
    ],
)
def test_normalize(spec: str, expected: str) -> None:
    assert normalize(spec) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("file:///x", True), ("FILE:///x", True), ("/x", True), ("https://h/x", False), ("git@h:x", False)],
)
def test_is_local(spec: str, expected: bool) -> None:
    assert is_local(spec) is expected


@pytest.mark.parametrize(
    ("spec", "prefixes", "expected"),
    [
        ("https://h/org/repo", ["https://h/org"], True),
        ("https://h/org", ["https://h/org"], True),
        ("https://h/orgx/repo", ["https://h/org"], False),
        ("https://h/org", ["https://h/org/"], True),
        ("https://h/org/x", ["https://h/"], True),
        ("https://h/x", ["https://h"], True),
        ("https://h2/x", ["https://h"], False),
        ("https://h/org", [""], False),
        ("https://h/org", ["", "https://h/org"], True),
        ("https://h/x", ["https://h/y", "https://h/x"], True),
        ("https://h/x", [], False),
        # a local prefix that ends with "/" after normalising
        ("/a", ["/"], True),
        ("https://u:p@H:443/org/repo.git", ("https://h/org",), True),
    ],
)
def test_allowed(spec: str, prefixes: list[str], expected: bool) -> None:
    assert allowed(spec, prefixes) is expected


_URLISH = st.text(alphabet="htps:/@=?&;#u.xk_ \t\nAéT0", max_size=40) | st.sampled_from(
    ["https://u:p@h/x?token=1", "ssh://git@h/r", "a=b", "http://t@g", "x@y", "?sig=", "://@"]
)


@given(st.lists(_URLISH, max_size=4).map("".join))
@settings(max_examples=examples(400), deadline=None)
def test_redact_skips_only_text_no_pattern_can_match(text: str) -> None:
    """The shortcuts (no "://" and "@": no user information; no "=": no token) change nothing."""
    from mr.urls import _AUTHORITY, _TOKEN, _hide

    full = _TOKEN.sub(lambda m: m.group("key") + "***", _AUTHORITY.sub(_hide, text))
    assert redact(text) == full
