"""Signed promotions: mr signs its commits whenever git commit would, the same way."""

from __future__ import annotations

import json
import os
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


@pytest.mark.parametrize("signed", [False, True])
def test_author_and_committer_are_each_their_own(
    linked: Path, ssh_signing: Path, monkeypatch: pytest.MonkeyPatch, signed: bool
) -> None:
    for role, who in (("AUTHOR", "ann"), ("COMMITTER", "carl")):
        monkeypatch.setenv(f"GIT_{role}_NAME", who.title())
        monkeypatch.setenv(f"GIT_{role}_EMAIL", f"{who}@example.com")
    done = api.promote(["a"], "staging", sign=signed)
    assert git(linked, "log", "-1", "--format=%an <%ae> | %cn <%ce>", done.commit or "") == (
        "Ann <ann@example.com> | Carl <carl@example.com>"
    )
    assert (verify_commit(linked, "staging").returncode == 0) is signed


def test_identity_from_the_registrys_own_config(linked: Path, isolated_git: Path) -> None:
    (isolated_git / ".gitconfig").write_text("")
    git(linked, "config", "user.name", "Reg Istry")
    git(linked, "config", "user.email", "reg@example.com")
    done = api.promote(["a"], "staging")
    assert git(linked, "log", "-1", "--format=%an <%ae> | %cn <%ce>", done.commit or "") == (
        "Reg Istry <reg@example.com> | Reg Istry <reg@example.com>"
    )


def test_signing_inside_a_git_hook_writes_to_the_registry(
    linked: Path, ssh_signing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a hook runs with GIT_DIR set to the repository that ran it, not the registry
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    done = api.promote(["a"], "staging")
    monkeypatch.delenv("GIT_DIR")
    assert done.commit == git(linked, "rev-parse", "staging")
    assert verify_commit(linked, "staging").returncode == 0
    assert subprocess.run(["git", "cat-file", "-e", done.commit or ""], cwd=other).returncode != 0


def test_a_signing_program_that_hangs_is_stopped_at_the_deadline(
    linked: Path, isolated_git: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = tmp_path / "waits-for-a-passphrase"
    waits.write_text("#!/bin/sh\nexec sleep 30\n")
    waits.chmod(0o755)
    git(isolated_git, "config", "--global", "gpg.program", str(waits))
    git(isolated_git, "config", "--global", "user.signingKey", "ABCDEF")
    before = git(linked, "rev-parse", "staging")
    monkeypatch.setenv("MR_GIT_TIMEOUT", "1")
    with pytest.raises(SigningError) as e:
        api.promote(["a"], "staging", sign=True)
    assert e.value.message == (
        "signing the commit took over 1 s (MR_GIT_TIMEOUT) and was stopped; "
        "check that the signing key needs no passphrase typed, or pass --no-sign"
    )
    assert git(linked, "rev-parse", "staging") == before


@pytest.mark.parametrize("signed", [False, True])
def test_author_and_committer_settings_count_as_git_counts_them(
    linked: Path, ssh_signing: Path, isolated_git: Path, monkeypatch: pytest.MonkeyPatch, signed: bool
) -> None:
    git(isolated_git, "config", "--global", "committer.name", "Release Bot")
    git(isolated_git, "config", "--global", "committer.email", "bot@example.com")
    monkeypatch.setenv("EMAIL", "ignored@example.com")  # the address of last resort only
    done = api.promote(["a"], "staging", sign=signed)
    user = (
        git(isolated_git, "config", "--global", "user.name")
        + " <"
        + git(isolated_git, "config", "--global", "user.email")
        + ">"
    )
    assert git(linked, "log", "-1", "--format=%an <%ae> | %cn <%ce>", done.commit or "") == (
        f"{user} | Release Bot <bot@example.com>"
    )


def test_a_signing_failure_is_one_line_with_gits_last_word(
    linked: Path, isolated_git: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fails = tmp_path / "no-secret-key"
    fails.write_text('#!/bin/sh\necho "gpg: signing failed: No secret key" >&2\nexit 2\n')
    fails.chmod(0o755)
    git(isolated_git, "config", "--global", "gpg.program", str(fails))
    git(isolated_git, "config", "--global", "user.signingKey", "ABCDEF")
    before = git(linked, "rev-parse", "staging")
    with pytest.raises(SigningError) as e:
        api.promote(["a"], "staging", sign=True)
    said = (
        subprocess.run(
            ["git", "-c", f"gpg.program={fails}", "commit-tree", "-S", git(linked, "rev-parse", "staging^{tree}")],
            cwd=linked,
            input="m",
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        .stderr.strip()
        .splitlines()[-1]
    )
    last = said.removeprefix("error: ").removeprefix("fatal: ")
    assert e.value.message == (
        f"signing the commit failed ({last}); check user.signingKey and gpg.format, or pass --no-sign"
    )
    # git itself missing from PATH
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SigningError) as e:
        api.promote(["a"], "staging", sign=True)
    monkeypatch.setenv("PATH", path)
    assert (
        e.value.message == "signing the commit failed: git is not installed (mr uses it to sign commits); install git"
    )
    assert git(linked, "rev-parse", "staging") == before


def test_history_shows_each_commits_signature_as_git_checks_it(  # type: ignore[no-untyped-def]
    linked: Path, ssh_signing: Path, isolated_git: Path, tmp_path: Path, mr
) -> None:
    r = mr("promote", "a", "--to", "staging", "--yes")
    assert r.code == 0, r.err
    signed = git(linked, "rev-parse", "staging")
    data = json.loads(mr("show", "a", "--json").out)
    by_commit = {e["commit"]: e["signature"] for e in data["history"]}
    assert by_commit[signed] == "signed by test@example.com"
    # the links commit on dev was made before signing was configured
    assert by_commit[git(linked, "rev-parse", "dev")] == "unsigned"
    r = mr("show", "a")
    assert "[signed by test@example.com]" in r.out and "[unsigned]" in r.out
    # a key no longer among the allowed signers: git no longer vouches for it
    (tmp_path / "allowed-signers").write_text("")
    data = json.loads(mr("show", "a", "--json").out)
    verdict = {e["commit"]: e["signature"] for e in data["history"]}[signed]
    assert verdict is not None and not verdict.startswith("signed by test@example.com")


def test_history_without_signed_commits_says_nothing_of_signatures(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("promote", "a", "--to", "staging", "--yes").code == 0
    data = json.loads(mr("show", "a", "--json").out)
    assert {e["signature"] for e in data["history"]} == {None}
    assert "[" not in mr("show", "a").out.split("history, newest first:")[1]
