"""mr get -o DIR [--force]: what it may replace, and the temporary folders it leaves to no one."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mr import api, outfolder
from mr.errors import OutputRefused
from mr.model import RECEIPT
from tests.commands.test_get import leftovers, link_and_commit
from tests.helpers import Result, git

Run = Callable[..., Result]


@pytest.fixture
def linked(registry: Path, tmp_path: Path) -> Path:
    from tests.commands.test_get import model_project

    model_project(tmp_path / "models")
    link_and_commit(registry, "../models")
    return registry


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry below ``folder`` with its bytes (a folder: 'dir'; a symlink: its target)."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def test_a_folder_mr_get_did_not_write_is_never_replaced(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "models-srv"
    out.mkdir()
    (out / "other-model").write_text("someone else's")
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert r.err == (
        f"mr: error: {out} has no {RECEIPT}: mr get did not write it, and --force replaces only a folder mr get wrote\n"
    )
    assert os.listdir(out) == ["other-model"]
    assert leftovers(tmp_path) == []


def test_files_the_receipt_does_not_list_stop_the_replacement(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    (out / "notes.txt").write_text("mine")
    (out / "logs").mkdir()
    before = snapshot(out)
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert f"{out} holds files mr get did not write (logs/, notes.txt)" in r.err
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_a_receipt_that_is_damaged_stops_the_replacement(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    (out / RECEIPT).write_text("{}")
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert f"{out} is not replaced: {out / RECEIPT}: not a version" in r.err
    assert (out / "rf").exists()


def test_a_changed_or_missing_listed_file_is_still_replaced(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    good = (out / "rf").read_bytes()
    (out / "rf").write_bytes(b"tampered")
    (out / "rf.mlem").unlink()
    assert mr("get", "churn", "-o", str(out), "--force").code == 0
    assert (out / "rf").read_bytes() == good
    assert api.check_get(str(out)).ok


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_the_current_folder_is_refused_inside_the_registry(
    linked: Path, tmp_path: Path, mr: Run, force: list[str]
) -> None:
    before = snapshot(linked)
    r = mr("get", "churn", "-o", ".", *force)
    assert r.code == 1
    assert r.err == f"mr: error: {linked} is the current folder; mr get never replaces it\n"
    assert snapshot(linked) == before
    assert git(linked, "log", "--oneline", "-1")


def test_the_current_folder_and_its_parents_are_refused_even_with_a_receipt(
    linked: Path, tmp_path: Path, mr: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "deploy"
    assert mr("get", "churn", "-o", str(out)).code == 0
    (out / "sub").mkdir()
    monkeypatch.chdir(out / "sub")
    for given in (".", "..", "../..", str(out), "/"):
        before = snapshot(out)
        r = api_error(given, registry=str(linked))
        assert "the current folder" in r or "above the current folder" in r or "the root folder" in r, r
        assert snapshot(out) == before


def api_error(out: str, **kwargs: str) -> str:
    with pytest.raises(OutputRefused) as e:
        api.get("churn", out=out, force=True, **kwargs)  # type: ignore[arg-type]
    return e.value.message


def test_the_registry_home_and_root_are_refused(
    linked: Path, tmp_path: Path, isolated_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/")  # above none of them
    reg = str(linked)
    assert api_error(reg, registry=reg) == f"{linked} is the registry's root; mr get never replaces it"
    with monkeypatch.context() as m:
        m.setenv("HOME", "/nonexistent")
        above = api_error(str(tmp_path), registry=reg)
    assert above == (f"{tmp_path} is above the registry's root ({linked}); mr get never replaces it")
    assert api_error(str(isolated_git), registry=reg) == f"{isolated_git} is your home folder; mr get never replaces it"
    assert "is above your home folder" in api_error(str(isolated_git.parent.parent), registry=reg)
    assert api_error("/", registry=reg) == "/ is the current folder; mr get never replaces it"


def test_inside_a_git_folder_is_refused_even_when_new(linked: Path, tmp_path: Path, mr: Run) -> None:
    before = snapshot(linked / ".git")
    for out in (".git/models", ".git/refs/heads/x", str(linked / ".git" / "hooks" / "new")):
        r = mr("get", "churn", "-o", out)
        assert r.code == 1, out
        assert "is inside the git repository folder" in r.err
        assert "mr get never writes there" in r.err
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    r = mr("get", "churn", "-o", str(bare / "objects" / "churn"))
    assert r.code == 1
    assert f"inside the git repository folder {bare}" in r.err
    assert snapshot(linked / ".git") == before


@pytest.mark.parametrize("kind", ["work tree", "bare"])
def test_a_git_repository_is_refused_even_with_a_planted_receipt(
    linked: Path, tmp_path: Path, mr: Run, kind: str
) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    subprocess.run(["git", "init", "-q", *(["--bare"] if kind == "bare" else []), str(out)], check=True)
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert r.err == f"mr: error: {out} is a git repository; mr get never replaces it\n"


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_a_regular_file_is_refused(linked: Path, tmp_path: Path, mr: Run, force: list[str]) -> None:
    target = tmp_path / "model.bin"
    target.write_bytes(b"precious")
    r = mr("get", "churn", "-o", str(target), *force)
    assert r.code == 1
    assert r.err == f"mr: error: {target} is a file, not a folder; mr get replaces only a folder it wrote\n"
    assert target.read_bytes() == b"precious"


def test_a_symlink_is_refused_even_to_a_folder_mr_get_wrote(linked: Path, tmp_path: Path, mr: Run) -> None:
    real = tmp_path / "real"
    assert mr("get", "churn", "-o", str(real)).code == 0
    link = tmp_path / "current"
    link.symlink_to(real)
    r = mr("get", "churn", "-o", str(link), "--force")
    assert r.code == 1
    assert "is a symlink; mr get replaces only a folder it wrote" in r.err
    assert link.is_symlink()


def test_an_empty_out_is_a_usage_error(linked: Path, mr: Run) -> None:
    before = snapshot(linked)
    r = mr("get", "churn", "-o", "", "--force")
    assert r.code == 2
    assert "-o/--out is empty" in r.err
    assert snapshot(linked) == before


def test_the_refusal_comes_before_the_registry_is_read(
    tmp_path: Path, mr: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no registry at all: the target is refused first, so no URL is ever fetched
    monkeypatch.chdir(tmp_path)
    r = mr("get", "churn", "-o", ".", "--force", "--registry", "git://127.0.0.1:9/nothing.git")
    assert r.code == 1
    assert r.err == f"mr: error: {tmp_path} is the current folder; mr get never replaces it\n"


# --- temporary siblings --------------------------------------------------------------------


def age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_siblings_of_a_killed_run_are_removed_by_the_next_get(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "out"
    for name in (".out.mr-get-abcd1234", ".out.mr-old-x_y_z_99"):
        (tmp_path / name / "old").mkdir(parents=True)
        (tmp_path / name / "old" / "weights").write_bytes(b"x" * 1000)
        age(tmp_path / name)
    kept = [
        tmp_path / ".other.mr-get-abcd1234",  # another folder's
        tmp_path / ".out.mr-get-toolongsuffix",  # not a name mkdtemp makes
        tmp_path / ".out.mr-get-new12345",  # too new: its owner may not have locked it yet
    ]
    for p in kept:
        p.mkdir()
    for p in kept[:2]:
        age(p)
    assert mr("get", "churn", "-o", str(out)).code == 0
    assert leftovers(tmp_path) == sorted(p.name for p in kept)
    assert all(p.exists() for p in kept)


def test_a_sibling_a_live_process_holds_is_left_alone(linked: Path, tmp_path: Path, mr: Run) -> None:
    held = tmp_path / ".out.mr-get-live0001"
    held.mkdir()
    age(held)
    fd = os.open(held, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert mr("get", "churn", "-o", str(tmp_path / "out")).code == 0
        assert held.is_dir()
    finally:
        os.close(fd)
    assert outfolder.remove_stale(str(tmp_path / "out")) == [held.name]


def test_a_symlinked_sibling_is_not_followed(linked: Path, tmp_path: Path, mr: Run) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data").write_text("keep")
    (tmp_path / ".out.mr-get-abcd1234").symlink_to(victim)
    assert mr("get", "churn", "-o", str(tmp_path / "out")).code == 0
    assert (victim / "data").read_text() == "keep"


def test_a_file_added_after_the_check_stops_the_swap(linked: Path, tmp_path: Path, mr: Run) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    outfolder.check_target(str(out), str(out), force=True)  # replaceable now
    (out / "late.txt").write_text("written meanwhile")
    before = snapshot(out)
    new = tmp_path / "new"
    new.mkdir()
    with pytest.raises(OutputRefused, match=r"holds files mr get did not write \(late.txt\)"):
        outfolder.move_into_place(str(new), str(out), force=True)
    assert snapshot(out) == before
    assert new.is_dir()
    assert leftovers(tmp_path) == []


def test_a_failed_rename_puts_the_old_folder_back(
    linked: Path,
    tmp_path: Path,
    mr: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    before = snapshot(out)
    rename = os.rename

    def failing(src: str, dst: str) -> None:
        if ".mr-get-" in os.path.basename(src):
            raise OSError(28, "No space left on device")
        rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert "No space left on device" in r.err
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_a_failed_move_aside_leaves_nothing_behind(
    linked: Path,
    tmp_path: Path,
    mr: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    before = snapshot(out)
    rename = os.rename

    def failing(src: str, dst: str) -> None:
        if os.path.basename(dst) == "old":
            raise PermissionError(13, "Permission denied")
        rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []
