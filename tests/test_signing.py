"""Signed promotions: mr signs its commits whenever git commit would, the same way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mr import api
from mr.errors import SigningError
from tests.helpers import git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "links")
    return registry


@pytest.fixture
def ssh_signing(tmp_path: Path, isolated_git: Path) -> Path:
    """An ssh signing key, configured as git users configure it (commit.gpgSign on)."""
    key = tmp_path / "signing-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed-signers"
    allowed.write_text(f"test@example.com {(key.with_suffix('.pub')).read_text()}")
    for k, v in {
        "gpg.format": "ssh",
        "user.signingKey": str(key),
        "commit.gpgSign": "true",
        "gpg.ssh.allowedSignersFile": str(allowed),
    }.items():
        git(isolated_git, "config", "--global", k, v)
    return key


def verify_commit(root: Path, rev: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "verify-commit", rev], cwd=root, capture_output=True, text=True)


def test_promotion_is_signed_when_git_would_sign(linked: Path, ssh_signing: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("promote", "a", "--to", "staging", "--yes")
    assert r.code == 0, r.err
    checked = verify_commit(linked, "staging")
    assert checked.returncode == 0, checked.stderr
    assert 'Good "git" signature for test@example.com' in checked.stderr
    # the commit is the promotion, trailers and all
    assert git(linked, "log", "-1", "--format=%(trailers:key=Mr-Link,valueonly)", "staging") == "a"


def test_review_branch_commit_is_signed(linked: Path, ssh_signing: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("promote", "a", "--to", "staging", "--branch", "review/a", "--yes")
    assert r.code == 0, r.err
    assert verify_commit(linked, "review/a").returncode == 0


def test_no_sign_overrides_the_config(linked: Path, ssh_signing: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("promote", "a", "--to", "staging", "--no-sign", "--yes").code == 0
    assert verify_commit(linked, "staging").returncode != 0
    assert "gpgsig" not in git(linked, "cat-file", "-p", "staging")


def test_sign_without_the_config(linked: Path, ssh_signing: Path, isolated_git: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(isolated_git, "config", "--global", "commit.gpgSign", "false")
    assert mr("promote", "a", "--to", "staging", "--yes").code == 0
    assert "gpgsig" not in git(linked, "cat-file", "-p", "staging")
    git(linked, "branch", "-f", "staging", "staging^")
    assert mr("promote", "a", "--to", "staging", "--sign", "--yes").code == 0
    assert verify_commit(linked, "staging").returncode == 0


def test_unsigned_by_default(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("promote", "a", "--to", "staging", "--yes").code == 0
    assert "gpgsig" not in git(linked, "cat-file", "-p", "staging")


def test_a_missing_key_refuses_and_leaves_the_stage(
    linked: Path,
    ssh_signing: Path,
    isolated_git: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    git(isolated_git, "config", "--global", "user.signingKey", str(tmp_path / "no-such-key"))
    before = git(linked, "rev-parse", "staging")
    r = mr("promote", "a", "--to", "staging", "--yes")
    assert r.code == 1
    assert r.err.startswith("mr: error: signing the commit failed (") and "--no-sign" in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert git(linked, "rev-parse", "staging") == before
    with pytest.raises(SigningError):
        api.promote(["a"], "staging")
    assert git(linked, "rev-parse", "staging") == before
