"""Stage branches, work trees and sources are untrusted input (issue 11).

Each test is one way a hostile commit, source or work tree once made mr
write outside the registry, skip a check, or print something it should not.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import api, git as mrgit
from mr.errors import UnsafePath
from tests.helpers import git, tag
from tests.plumbing import commit_on


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    """dev holds churn and sub/x (links to the project); staging has churn."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="churn")
    api.link("models/rf", source_project=str(project), target="sub/x")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    return registry


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the registry that must never change."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "authorized_keys").write_text("ssh-ed25519 AAAA precious\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


# --- symlinks on a stage and in the work tree ---------------------------------------------


def test_promote_never_writes_through_a_committed_symlink(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(linked, "staging", {"churn.mlem": ("link", str(elsewhere / "authorized_keys"))})
    git(linked, "checkout", "-q", "staging")
    before, tip = snapshot(elsewhere), git(linked, "rev-parse", "staging")
    r = mr("promote", "churn", "--to", "staging", "--from", "dev", "--yes")
    assert r.code == 1, r.out + r.err
    assert "staging:churn.mlem is a symlink" in r.err and "Traceback" not in r.err
    assert snapshot(elsewhere) == before
    assert git(linked, "rev-parse", "staging") == tip
    assert os.path.islink(linked / "churn.mlem")


def test_promote_never_descends_into_a_symlinked_folder_on_the_stage(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(linked, "staging", {"sub": ("link", str(elsewhere))})
    tip = git(linked, "rev-parse", "staging")
    for checked_out in (False, True):
        if checked_out:
            git(linked, "checkout", "-q", "staging")
        before = snapshot(elsewhere)
        r = mr("promote", "sub/x", "--to", "staging", "--from", "dev", "--yes")
        assert r.code == 1, r.out + r.err
        assert "sub is a symlinked folder" in r.err
        assert snapshot(elsewhere) == before and not (elsewhere / "x.mlem").exists()
        assert git(linked, "rev-parse", "staging") == tip  # the symlink entry was not replaced


def test_tree_with_refuses_non_tree_entries_and_changes_only_what_it_names(linked: Path) -> None:
    commit_on(linked, "staging", {"sub": ("link", "/tmp"), "notes.txt": b"keep me\n", "churn.mlem": ("link", "/etc/passwd")})
    repo = mrgit.open_exact(str(linked))
    assert repo is not None
    base = git(linked, "rev-parse", "staging")
    with pytest.raises(UnsafePath, match="sub is a symlinked folder"):
        mrgit.commit_files(repo, "staging", {"sub/x.mlem": b"x"}, "m", expect=base)
    with pytest.raises(UnsafePath, match="churn.mlem is a symlink"):
        mrgit.commit_files(repo, "staging", {"churn.mlem": b"x"}, "m", expect=base)
    with pytest.raises(UnsafePath, match="notes.txt is a file, not a folder"):
        mrgit.commit_files(repo, "staging", {"notes.txt/y.mlem": b"x"}, "m", expect=base)
    assert git(linked, "rev-parse", "staging") == base
    sha = mrgit.commit_files(repo, "staging", {"deep/new.mlem": b"x"}, "m", expect=base)
    changed = git(linked, "diff-tree", "-r", "--name-status", base, sha)
    assert changed.splitlines() == ["A\tdeep/new.mlem"]


def test_link_never_writes_through_a_symlinked_folder(linked: Path, project: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    os.symlink(elsewhere, linked / "evil")
    before = snapshot(elsewhere)
    r = mr("link", "--sp", str(project), "models/rf", "evil/x")
    assert r.code == 1 and "evil is a symlinked folder" in r.err, r.err
    os.symlink(elsewhere / "authorized_keys", linked / "key.mlem")
    r = mr("link", "--sp", str(project), "models/rf", "key", "--force")
    assert r.code == 1 and "key.mlem is a symlink" in r.err, r.err
    assert snapshot(elsewhere) == before


def test_a_symlinked_link_file_fails_verify_and_is_never_followed(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (elsewhere / "x.mlem").write_text("link_type: model\nobject_type: link\npath: secret/outside.mlem\n")
    os.symlink(elsewhere / "x.mlem", linked / "sneaky.mlem")
    r = mr("verify")
    assert r.code == 1 and "sneaky.mlem: error: a symlink" in r.out, r.out
    r = mr("verify", "sneaky.mlem")
    assert r.code == 1 and "symlink" in r.out, r.out
    r = mr("show", "sneaky", "--field", "path")
    assert r.code == 1 and "secret/outside" not in r.out and "symlink" in r.err
    r = mr("show")
    assert r.code == 1 and "sneaky.mlem" in r.err and "secret" not in r.out
    # the same, committed as mode 120000 on a stage
    commit_on(linked, "staging", {"sneaky.mlem": ("link", str(elsewhere / "x.mlem"))})
    r = mr("verify", "--stage", "staging")
    assert r.code == 1 and "staging:sneaky.mlem: error: a symlink" in r.out, r.out
    r = mr("show", "sneaky", "--field", "path", "--stage", "staging")
    assert r.code == 1 and "symlink" in r.err


def test_a_symlinked_mr_yaml_on_a_stage_is_refused_not_defaulted(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    # production requires pins; a symlinked .mr.yaml must not quietly drop that policy
    api.promote(["churn"], "staging")
    commit_on(linked, "production", {".mr.yaml": ("link", "/dev/null")})
    r = mr("promote", "churn", "--to", "production", "--no-pin", "--yes")
    assert r.code == 1 and "production:.mr.yaml is a symlink" in r.err, r.err


def test_verify_of_a_fifo_does_not_hang(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(linked / "fifo.mlem")
    r = mr("verify", "fifo.mlem")
    assert r.code == 1 and "FIFO" in r.out, r.out
    r = mr("verify")
    assert r.code == 1 and "fifo.mlem: error: a FIFO" in r.out, r.out
