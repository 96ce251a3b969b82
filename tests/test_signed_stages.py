"""Stages that require signed commits: signed where they are written, checked where they are used."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mr import api
from tests.helpers import git, tag
from tests.test_signing import ssh_signing  # noqa: F401 (fixture)


@pytest.fixture
def signed_production(registry: Path, project: Path, ssh_signing: Path) -> Path:  # noqa: F811
    """production requires signed commits, allowing the configured key; a is linked on dev and staging."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), rev="v1", target="a")
    api.link("models/rf", source_project=str(project), rev="main", target="b")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "links")
    api.promote(["a", "b"], "staging")
    git(registry, "checkout", "-q", "production")
    config = (registry / ".mr.yaml").read_text()
    (registry / ".mr.yaml").write_text(
        config.replace("    require_pinned: true", "    require_pinned: true\n    require_signed: true")
    )
    (registry / ".mr").mkdir()
    public = ssh_signing.with_suffix(".pub").read_text()
    (registry / ".mr" / "allowed_signers").write_text(f"release@example.com {public}")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "production requires signed commits")
    git(registry, "checkout", "-q", "dev")
    return registry


def unsigned_commit_on(registry: Path, branch: str, name: str, *config: str) -> str:
    git(registry, "checkout", "-q", branch)
    (registry / name).write_text("x\n")
    git(registry, "add", name)
    git(registry, *config, "commit", "-q", "-m", f"{name} by hand")
    sha = git(registry, "rev-parse", "HEAD")
    git(registry, "checkout", "-q", "dev")
    return sha


def test_a_signed_stage_is_signed_verified_and_got_with_its_signer(signed_production: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("promote", "a", "--to", "production", "--yes")
    assert r.code == 0, r.err
    assert "gpgsig" in git(signed_production, "cat-file", "-p", "production")
    r = mr("verify", "--stage", "production")
    assert r.code == 0, r.out + r.err
    r = mr("get", "a", "--stage", "production", "-o", str(tmp_path / "out"), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["signed_by"] == "release@example.com"
    assert json.loads((tmp_path / "out" / ".mr-get.json").read_text())["signed_by"] == "release@example.com"
    # a stage without the policy records no signer
    r = mr("get", "a", "--stage", "staging", "-o", str(tmp_path / "staging"), "--json")
    assert r.code == 0 and json.loads(r.out)["signed_by"] is None


def test_an_unsigned_commit_is_refused_by_verify_and_get(signed_production: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("promote", "a", "--to", "production", "--yes").code == 0
    sha = unsigned_commit_on(signed_production, "production", "notes.txt", "-c", "commit.gpgSign=false")
    message = f"production requires signed commits: {sha[:12]} is unsigned"
    r = mr("verify", "--stage", "production")
    assert r.code == 1 and f"production: error: {message}" in r.out
    r = mr("get", "a", "--stage", "production", "-o", str(tmp_path / "out"))
    assert (r.code, r.err) == (1, f"mr: error: {message}\n")
    assert not (tmp_path / "out").exists()


def test_a_key_not_allowed_and_a_key_removed_are_refused(signed_production: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    sha = unsigned_commit_on(signed_production, "production", "n1.txt", "-c", f"user.signingKey={other}")
    assert "gpgsig" in git(signed_production, "cat-file", "-p", sha)
    refused = f"production requires signed commits: {sha[:12]} is not signed by a key in .mr/allowed_signers"
    r = mr("get", "a", "--stage", "staging", "-o", str(tmp_path / "ok"))
    assert r.code == 0
    r = mr("verify", "--stage", "production")
    assert r.code == 1 and refused in r.out
    # a commit cannot add the key it is signed with: it is judged by its parent's list
    git(signed_production, "reset", "-q", "--hard")
    git(signed_production, "branch", "-q", "-f", "production", f"{sha}^")
    git(signed_production, "checkout", "-q", "production")
    allowed = signed_production / ".mr" / "allowed_signers"
    allowed.write_text(allowed.read_text() + f"intruder@example.com {other.with_suffix('.pub').read_text()}")
    git(signed_production, "-c", f"user.signingKey={other}", "commit", "-q", "-am", "let me in")
    git(signed_production, "checkout", "-q", "dev")
    r = mr("verify", "--stage", "production")
    assert r.code == 1 and "is not signed by a key in .mr/allowed_signers" in r.out
    # a key removed from the list (by a commit the key signed) no longer signs
    git(signed_production, "branch", "-q", "-f", "production", "production^")
    git(signed_production, "checkout", "-q", "production")
    allowed.write_text("")
    (signed_production / ".mr" / "allowed_signers").write_text(
        f"someone@example.com {other.with_suffix('.pub').read_text()}"
    )
    git(signed_production, "commit", "-q", "-am", "rotate keys")  # signed by the key being removed: allowed
    (signed_production / "n2.txt").write_text("x\n")
    git(signed_production, "add", "n2.txt")
    git(signed_production, "commit", "-q", "-m", "after rotation, old key")
    last = git(signed_production, "rev-parse", "HEAD")
    git(signed_production, "checkout", "-q", "dev")
    r = mr("verify", "--stage", "production")
    assert r.code == 1 and f"{last[:12]} is not signed by a key in .mr/allowed_signers" in r.out


def test_writes_onto_a_signed_stage_always_sign(signed_production: Path, isolated_git: Path, mr) -> None:  # type: ignore[no-untyped-def]
    before = git(signed_production, "rev-parse", "production")
    r = mr("promote", "a", "--to", "production", "--yes", "--no-sign")
    assert r.code == 2 and "production requires signed commits" in r.err
    git(isolated_git, "config", "--global", "commit.gpgSign", "false")
    r = mr("promote", "a", "--to", "production", "--yes")
    assert r.code == 0 and "gpgsig" in git(signed_production, "cat-file", "-p", "production")
    git(isolated_git, "config", "--global", "--unset", "user.signingKey")
    r = mr("promote", "b", "--to", "production", "--yes", "--pin")
    assert r.code == 1 and "sign" in r.err
    assert git(signed_production, "rev-parse", "production") != before
    assert "b.mlem" not in git(signed_production, "ls-tree", "--name-only", "production")
