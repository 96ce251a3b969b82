"""Every command, given hostile argument bytes and hostile environment values, ends in exit 0, 1, 2 or 130
with at most a one-line error: never a traceback or an internal error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mr import api
from tests.helpers import commit_all

pytestmark = pytest.mark.slow

H = "\x00HOSTILE"  # where the hostile value goes

TEMPLATES = [
    ("show", H),
    ("show", "--stage", H),
    ("show", "--diff", H, "dev"),
    ("show", "--diff", "dev", H, "--json"),
    ("show", H, "--field", "rev"),
    ("show", "--outdated", "--stage", H),
    ("show", "--remote", H, "--stage", "staging"),
    ("verify", H),
    ("verify", "--stage", H, "--offline"),
    ("verify", "--policy-stage", H, "--offline"),
    ("promote", H, "--to", "staging", "--yes", "--no-verify"),
    ("promote", "a", "--to", H, "--yes"),
    ("promote", "a", "--from", H, "--to", "staging", "--yes"),
    ("promote", "a", "--to", "staging", "-m", H, "--yes", "--dry-run", "--no-verify"),
    ("promote", "a", "--to", "staging", "--branch", H, "--yes", "--dry-run", "--no-verify"),
    ("rollback", H, "--stage", "staging", "--yes"),
    ("rollback", "a", "--stage", "staging", "--to", H, "--yes"),
    ("retire", H, "--stage", "staging", "--yes"),
    ("get", H, "-o", "out"),
    ("get", "a", "--stage", H, "-o", "out"),
    ("get", "--check", H),
    ("link", "models/rf", H),
    ("link", H, "x", "--sp", "../models"),
    ("sync", "--remote", H),
    ("init", "fresh", "--stages", H),
]

#: Values of the kind an attacker or a broken environment hands over.
SPECIAL = [
    "",
    "-",
    "--",
    "-x",
    "--help",
    "..",
    "../..",
    "/",
    "~",
    ".git",
    "a\nb",
    "a\rb",
    "\x1b[31mred\x1b[0m",
    "\u202egnp.exe",
    "x" * 5000,
    "$(touch PWNED)",
    "`id`",
    "a;b",
    "HEAD~1",
    "@{1}",
    "dev@{-1}",
    "refs/heads/dev",
    "origin/..",
    "staging.lock",
    "a//b",
    "ext::sh -c touch% PWNED",
    "file:///etc",
    "https://user:secret@127.0.0.1:1/x.git",
    "\udcff\udcfe",  # bytes that are not UTF-8, as Python hands argv over
]

HOSTILE = st.one_of(
    st.sampled_from(SPECIAL),
    st.binary(max_size=40).map(lambda b: b.replace(b"\0", b"").decode("utf-8", "surrogateescape")),
    st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=40),
)

ENVIRONMENT = [
    "MR_GIT_TIMEOUT",
    "MR_CACHE_DIR",
    "GIT_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALLOW_PROTOCOL",
    "CI_COMMIT_BRANCH",
    "GITHUB_BASE_REF",
    "GITHUB_REF_NAME",
    "COLUMNS",
    "FORCE_COLOR",
]


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    api.link("models/rf", source_project="../models", target="a")
    commit_all(registry, "a")
    api.promote(["a"], "staging")
    return registry


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    template=st.sampled_from(TEMPLATES),
    value=HOSTILE,
    variable=st.sampled_from(ENVIRONMENT),
    env_value=HOSTILE,
)
def test_hostile_arguments_and_environment_end_in_an_exit_status_never_a_crash(  # type: ignore[no-untyped-def]
    linked: Path, mr, template: tuple[str, ...], value: str, variable: str, env_value: str
) -> None:
    args = [value if a == H else a for a in template]
    saved = os.environ.get(variable)
    os.environ["MR_GIT_TIMEOUT"] = "5"  # a hostile URL that resolves must not hold the run
    try:
        os.environ[variable] = env_value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        r = mr(*args)
    finally:
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved
        os.environ.pop("MR_GIT_TIMEOUT", None)
    assert r.code in (0, 1, 2, 130), (args, variable, r)
    assert "Traceback" not in r.err and "internal error" not in r.err, (args, variable, env_value, r.err)
    assert not (linked / "PWNED").exists() and not Path("PWNED").exists()
