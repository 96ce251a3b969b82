"""Hostile refs, bytes and identities end in one line and exit 1 or 2, never an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import commit_all, git

LINK = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {project}\nrev: main\n"

COMMANDS = [
    ("show", "--stage", "staging"),
    ("show", "--all-stages"),
    ("verify", "--stage", "staging"),
    ("get", "a", "--stage", "staging", "-o", "out"),
    ("rollback", "a", "--stage", "staging", "--yes"),
    ("retire", "a", "--stage", "staging", "--yes"),
    ("promote", "a", "--to", "staging", "--yes"),
]


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    (registry / "a.mlem").write_text(LINK.format(project=project))
    commit_all(registry, "a")
    return registry


def point(registry: Path, ref: str, target: str) -> None:
    """Write a ref as a hostile clone or a broken disk leaves it: git itself refuses to."""
    path = registry / ".git" / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(target + "\n")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("kind", ["tree", "blob", "missing"])
def test_a_stage_ref_that_is_no_commit_is_one_line(linked: Path, mr, args: tuple[str, ...], kind: str) -> None:  # type: ignore[no-untyped-def]
    target = {
        "tree": git(linked, "rev-parse", "dev^{tree}"),
        "blob": git(linked, "rev-parse", "dev:a.mlem"),
        "missing": "1" * 40,
    }[kind]
    point(linked, "refs/heads/staging", target)
    r = mr(*args)
    assert r.code == 1, r.out + r.err
    what = {"tree": "a tree", "blob": "a blob", "missing": "a missing object"}[kind]
    assert r.err.strip().splitlines()[-1] == (
        f"mr: error: staging points at {what} ({target[:12]}), not a commit; "
        "point it at a commit (git update-ref) or delete it, and fetch again"
    )
    assert "internal error" not in r.err


def test_a_remote_tracking_stage_that_is_no_commit_is_named(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(linked, "branch", "-D", "staging")
    git(linked, "remote", "add", "origin", str(linked))
    point(linked, "refs/remotes/origin/staging", git(linked, "rev-parse", "dev^{tree}"))
    r = mr("show", "--stage", "staging")
    assert r.code == 1
    assert r.err.startswith("mr: error: origin/staging points at a tree (")


def _run(registry: Path, *args: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"mr", *args], cwd=registry, capture_output=True, env=dict(os.environ)
    )


def test_a_message_that_is_not_utf8_is_refused(linked: Path) -> None:
    before = git(linked, "rev-parse", "staging")
    r = _run(linked, b"promote", b"a", b"--to", b"staging", b"--yes", b"-m", b"rel\xff")
    assert r.returncode == 2, r.stderr
    assert r.stderr == b"mr: error: --message must be valid UTF-8: it holds bytes that are not\n"
    assert git(linked, "rev-parse", "staging") == before


def test_a_link_name_that_is_not_utf8_is_refused(linked: Path, project: Path) -> None:
    (linked / os.fsdecode(b"b\xff.mlem")).write_text(LINK.format(project=project))
    git(linked, "add", "-A")
    git(linked, "commit", "-qm", "a name that is not UTF-8")
    before = git(linked, "rev-parse", "staging")
    r = _run(linked, b"promote", b"b\xff", b"--to", b"staging", b"--yes")
    assert r.returncode == 2, r.stderr
    assert r.stderr == b"mr: error: b\\xff: a link name must be valid UTF-8 (rename the file)\n"
    assert git(linked, "rev-parse", "staging") == before
    shown = _run(linked, b"show")
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr


@pytest.mark.parametrize("name", ["Eve <evil>", "<Eve>", "Eve\nEvil"])
def test_an_identity_with_angle_brackets_commits_as_git_would(linked: Path, mr, name: str) -> None:  # type: ignore[no-untyped-def]
    git(linked, "config", "user.name", name)
    r = mr("promote", "a", "--to", "staging", "--yes")
    assert r.code == 0, r.err
    expected = "".join(c for c in name if c not in "<>\n").strip()
    assert git(linked, "log", "-1", "--format=%an", "staging") == expected


def test_an_identity_of_angle_brackets_only_says_how_to_set_one(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(linked, "config", "user.name", "<>")
    r = mr("promote", "a", "--to", "staging", "--yes")
    assert r.code == 1
    assert "no git identity to commit with" in r.err


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "a", "--to", "staging", "--push=-oops", "--yes"),
        ("promote", "a", "--to", "staging", "--remote=--upload-pack=x", "--yes"),
        ("rollback", "a", "--stage", "staging", "--push=-oops", "--yes"),
        ("show", "--remote=-x"),
    ],
)
def test_an_option_like_remote_is_reported_under_its_own_option(linked: Path, mr, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    before = git(linked, "rev-parse", "staging")
    r = mr(*args)
    option = next(a.split("=")[0] for a in args if a.startswith(("--push", "--remote")))
    assert r.code == 2
    assert f"Invalid value for '{option}': " in r.err and "not a remote name or URL" in r.err
    assert git(linked, "rev-parse", "staging") == before


@pytest.mark.parametrize(
    "args",
    [
        ("show", "--stage", "x" * 5000),
        ("promote", "a", "--to", "x" * 5000, "--yes"),
        ("show", "\udcff\udcfe"),
        ("verify", "--policy-stage", "\udcff"),
    ],
    ids=["long stage", "long target", "non-UTF-8 name", "non-UTF-8 stage"],
)
def test_names_no_ref_can_have_and_bytes_no_terminal_can_show_are_one_line(  # type: ignore[no-untyped-def]
    linked: Path, mr, args: tuple[str, ...]
) -> None:
    r = mr(*args)
    assert r.code in (1, 2) and "internal error" not in r.err and len(r.err.splitlines()) == 1
    assert "\udcff" not in r.err  # shown as the byte it stands for
    if "\udcff" in "".join(args):
        assert "\\xff" in r.err
