"""mr.config: ``.mr.yaml`` and stage names, checked on exact values and exact messages."""

from __future__ import annotations

import pytest

from mr.config import (
    MAX_STAGE_LENGTH,
    Config,
    StagePolicy,
    check_stages,
    default_text,
    load_config,
    parse_stages,
    remote_problem,
    stage_problem,
)
from mr.errors import ConfigError, LinkFileError, UsageError

CHARS = "use letters, digits, '.', '_', '-' and '/', starting with a letter or digit"
PART = "not a valid git branch name (a part may not start with '.' or end with '.lock': {})"
REMOTE = "a remote's name (git remote -v lists them): letters, digits, '.', '_', '-' and '/'"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dev", None),
        ("A_b-c.d/e", None),
        ("x/HEAD", None),
        ("a" * MAX_STAGE_LENGTH, None),
        ("a" * (MAX_STAGE_LENGTH + 1), "longer than 100 characters"),
        ("-x", CHARS),
        (".a", CHARS),
        ("a b", CHARS),
        ("", CHARS),
        ("a..b", "not a valid git branch name"),
        ("a//b", "not a valid git branch name"),
        ("a.", "not a valid git branch name"),
        ("a/", "not a valid git branch name"),
        ("a/.b", PART.format(".b")),
        ("a/b.lock", PART.format("b.lock")),
        ("a.lock", PART.format("a.lock")),
        ("head", "head is a name git keeps for itself"),
        ("HEAD/x", "HEAD/x is a name git keeps for itself"),
        *[
            (n, f"{n} is a name git keeps for itself")
            for n in (
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
        ],
    ],
)
def test_stage_problem(name: str, expected: str | None) -> None:
    assert stage_problem(name) == expected


def test_parse_stages_strips_and_drops_empty_names() -> None:
    assert parse_stages("dev, staging ,,production") == ("dev", "staging", "production")
    assert parse_stages("one") == ("one",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" , ", "stages: name at least one stage"),
        ("dev,dev,b,b,c", "stages: b, dev named twice"),
        ("dev,dev/x", "stages dev and dev/x collide: git cannot hold a branch and a folder of one name"),
        ("dev/x,dev", "stages dev and dev/x collide: git cannot hold a branch and a folder of one name"),
        ("Dev,dev", "stages Dev and dev differ only in case: they collide on most file systems"),
        ("dev,Dev", "stages Dev and dev differ only in case: they collide on most file systems"),
        ("ok,a b", "stage 'a b': " + CHARS),
    ],
)
def test_parse_stages_refuses(text: str, message: str) -> None:
    # a command-line value: a usage error (exit 2) naming the option
    with pytest.raises(UsageError) as e:
        parse_stages(text)
    assert str(e.value) == f"--stages: {message}"
    assert e.value.exit_code == 2


def test_check_stages_accepts_names_that_only_share_a_prefix() -> None:
    assert check_stages(("a", "x/b", "ab", "a-b"), "f", 3) is None


def test_check_stages_reports_its_file_and_line() -> None:
    with pytest.raises(ConfigError) as e:
        check_stages(("a", "a"), "f.yaml", 3)
    assert str(e.value) == "f.yaml:3: stages: a named twice"


def test_load_config_defaults() -> None:
    default = Config(
        stages=("dev", "staging", "production"),
        link_format="project",
        policy={},
        allowed_sources=(),
        hosts={},
        remote=None,
    )
    assert Config() == default
    assert load_config(None) == default
    assert load_config(b"") == default
    assert load_config(b"  \n") == default
    assert load_config(b"policy:\nallowed_sources:\nhosts:\nremote:\n") == default


def test_load_config_reads_every_setting() -> None:
    data = (
        b"stages: [a, b]\n"
        b"link_format: repo\n"
        b"policy:\n  b:\n    require_pinned: true\n  a:\n  c: {}\n  d:\n    require_pinned: false\n"
        b"allowed_sources: [https://h/x, 'git@h:y']\n"
        b"hosts:\n  Git.Example.com: gitlab\n  h:8080: github\n  b.org: bitbucket\n"
        b"remote: up/stream\n"
    )
    assert load_config(data) == Config(
        stages=("a", "b"),
        link_format="repo",
        policy={
            "b": StagePolicy(require_pinned=True),
            "a": StagePolicy(),
            "c": StagePolicy(),
            "d": StagePolicy(require_pinned=False),
        },
        allowed_sources=("https://h/x", "git@h:y"),
        hosts={"git.example.com": "gitlab", "h:8080": "github", "b.org": "bitbucket"},
        remote="up/stream",
    )
    assert load_config(b"link_format: project\n").link_format == "project"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"stages: [a]\nx: 1\n",
            ".mr.yaml:2: unknown setting x: known are stages, link_format, policy, allowed_sources, hosts, remote",
        ),
        (b"\nstages: a\n", ".mr.yaml:2: stages must be a list of branch names"),
        (b"\nstages: [a, 1]\n", ".mr.yaml:2: stages must be a list of branch names"),
        (b"\nstages: []\n", ".mr.yaml:2: stages: name at least one stage"),
        (b"\nstages: [a, a]\n", ".mr.yaml:2: stages: a named twice"),
        (b"\nstages: [a, 'b c']\n", ".mr.yaml:2: stage 'b c': " + CHARS),
        (
            b"\nstages: [a, a/b]\n",
            ".mr.yaml:2: stages a and a/b collide: git cannot hold a branch and a folder of one name",
        ),
        (b"\nstages: [A, a]\n", ".mr.yaml:2: stages A and a differ only in case: they collide on most file systems"),
        (b"[1]\n", ".mr.yaml:1: the document is a list; .mr.yaml is a YAML mapping"),
        (b"x\n", ".mr.yaml:1: the document is a single value; .mr.yaml is a YAML mapping"),
        (b"a: [\n", ".mr.yaml:2: invalid YAML: expected the node content, but found '<stream end>'"),
        (b"\n\nlink_format: foo\n", ".mr.yaml:3: link_format must be project or repo, not 'foo'"),
        (b"\npolicy: 1\n", ".mr.yaml:2: policy must map stage names to settings"),
        (b"\npolicy: [a]\n", ".mr.yaml:2: policy must map stage names to settings"),
        (b"policy:\n  dev:\n  prod: 1\n", ".mr.yaml:3: policy.prod must be a mapping"),
        (
            b"policy:\n  prod:\n    foo: 1\n",
            ".mr.yaml:3: unknown policy setting foo: known are require_pinned, require_signed, from",
        ),
        (
            b"policy:\n  prod:\n    require_pinned: 1\n",
            ".mr.yaml:3: policy.prod.require_pinned must be true or false",
        ),
        (b"policy: {prod: {require_pinned: 1}}\n", ".mr.yaml:1: policy.prod.require_pinned must be true or false"),
        (
            b"policy: {prod: {foo: 1}}\n",
            ".mr.yaml:1: unknown policy setting foo: known are require_pinned, require_signed, from",
        ),
        (b"policy: {prod: 1}\n", ".mr.yaml:1: policy.prod must be a mapping"),
        (b"\nallowed_sources: x\n", ".mr.yaml:2: allowed_sources must be a list of URL prefixes"),
        (b"allowed_sources: ['']\n", ".mr.yaml:1: allowed_sources must be a list of URL prefixes"),
        (b"allowed_sources: [a, 1]\n", ".mr.yaml:1: allowed_sources must be a list of URL prefixes"),
        (b"\nhosts: 1\n", ".mr.yaml:2: hosts must map host names to github, gitlab or bitbucket"),
        (b"hosts:\n  h: github\n  'a b': github\n", ".mr.yaml:3: hosts: 'a b' is not a host name"),
        (b"hosts:\n  'h:x': github\n", ".mr.yaml:2: hosts: 'h:x' is not a host name"),
        (b"hosts:\n  h: foo\n", ".mr.yaml:2: hosts.h must be github, gitlab or bitbucket, not 'foo'"),
        (b"hosts:\n  1: github\n", ".mr.yaml:2: hosts: 1 is not a host name"),
        (b"hosts: {h: foo}\n", ".mr.yaml:1: hosts.h must be github, gitlab or bitbucket, not 'foo'"),
        (b"\nremote: 1\n", ".mr.yaml:2: remote must be the name of a git remote, such as origin"),
        (b"\nremote: a..b\n", ".mr.yaml:2: remote 'a..b': " + REMOTE),
    ],
)
def test_load_config_refuses(data: bytes, message: str) -> None:
    with pytest.raises(LinkFileError) as e:
        load_config(data)
    assert str(e.value) == message


def test_load_config_names_the_file_it_reads() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(b"link_format: foo\n", "other.yaml")
    assert str(e.value) == "other.yaml:1: link_format must be project or repo, not 'foo'"
    with pytest.raises(LinkFileError) as f:
        load_config(b"[1]\n", "other.yaml")
    assert str(f.value) == "other.yaml:1: the document is a list; .mr.yaml is a YAML mapping"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("origin", None),
        ("a/b", None),
        ("a_b-c.d", None),
        ("a..b", REMOTE),
        ("a.", REMOTE),
        ("a.lock", REMOTE),
        ("a/.b", REMOTE),
        ("-a", REMOTE),
        ("a b", REMOTE),
    ],
)
def test_remote_problem(name: str, expected: str | None) -> None:
    assert remote_problem(name) == expected


def test_stage_order_and_policy() -> None:
    config = Config(stages=("a", "b", "c"), policy={"c": StagePolicy(require_pinned=True)})
    assert [config.previous_stage(s) for s in ("a", "b", "c", "z")] == [None, "a", "b", None]
    assert config.stage_policy("c") == StagePolicy(require_pinned=True)
    assert config.stage_policy("a") == StagePolicy(require_pinned=False)


def test_default_text() -> None:
    assert default_text(("dev", "prod")) == (
        "# mr registry settings (man mr)\n"
        "stages: [dev, prod]   # branches, in promotion order\n"
        "link_format: project                 # field written for the source repo: project | repo\n"
        "policy:\n"
        "  prod:\n"
        "    require_pinned: true             # links here must pin a full commit SHA\n"
        "    # from: [dev]  # promotions onto prod only from these stages (default: any)\n"
        "allowed_sources: []                  # URL prefixes links may point to; empty = any\n"
    )
    assert "from" not in default_text(("prod",))
    assert load_config(default_text(("dev", "prod")).encode()) == Config(
        stages=("dev", "prod"), policy={"prod": StagePolicy(require_pinned=True)}
    )
