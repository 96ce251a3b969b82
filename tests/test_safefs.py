"""Atomic writes inside the registry: a crash never leaves a half-written file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from mr import safefs
from mr.errors import FileSystemError, UnsafePath


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder (tmp_path itself holds the isolated HOME)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_write_in_writes_new_file_in_new_folder(folder: Path) -> None:
    target = folder / "a" / "b" / "x.mlem"
    safefs.write_in(str(folder), "a/b/x.mlem", b"content\n")
    assert target.read_bytes() == b"content\n"
    assert os.listdir(target.parent) == ["x.mlem"]


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_write_in_keeps_existing_mode(folder: Path, mode: int) -> None:
    target = folder / "x.mlem"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    safefs.write_in(str(folder), "x.mlem", b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.listdir(folder) == ["x.mlem"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_old_file_and_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = folder / "x.mlem"
    target.write_bytes(b"old\n")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(FileSystemError) as e:
        safefs.write_in(str(folder), "x.mlem", b"new\n")
    assert e.value.message == "x.mlem: No space left on device"
    monkeypatch.undo()
    assert target.read_bytes() == b"old\n"
    assert os.listdir(folder) == ["x.mlem"]


def test_interrupted_write_leaves_no_temp_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        safefs.write_in(str(folder), "x.mlem", b"new\n")
    monkeypatch.undo()
    assert os.listdir(folder) == []


# --- a path swapped for a symlink while mr works (check, then act) ----------------------
#
# Two seams put the swap where another process could: ``flip`` wraps the check
# so that every check sees the real folder and a symlink stands there right
# after it (an attacker flipping the entry back and forth); ``safefs._between``
# runs after each folder of the walk was opened and just before the rename.

SYMLINKED = "models is a symlinked folder; mr never reads or writes through symlinks"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the registry that must never change."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


def _swap(entry: Path, target: Path) -> None:
    """``entry`` moved aside to ``entry.orig`` and a symlink to ``target`` put in its place."""
    entry.rename(entry.with_name(entry.name + ".orig"))
    entry.symlink_to(target)


def _restore(entry: Path) -> None:
    if entry.is_symlink():
        entry.unlink()
        entry.with_name(entry.name + ".orig").rename(entry)


def flip(monkeypatch: pytest.MonkeyPatch, entry: Path, target: Path) -> None:
    """Each check of the registry sees ``entry`` real; right after it, ``entry`` is a symlink to ``target``."""
    real = safefs._unsafe

    def checked_then_swapped(root: str, rel: str) -> Any:
        _restore(entry)
        problem = real(root, rel)
        _swap(entry, target)
        return problem

    monkeypatch.setattr(safefs, "_unsafe", checked_then_swapped)


def after_opening(monkeypatch: pytest.MonkeyPatch, when: str, entry: Path, target: Path) -> list[str]:
    """Swap ``entry`` for a symlink to ``target`` once ``safefs`` reports ``when``; every report is listed."""
    seen: list[str] = []

    def between(rel: str) -> None:
        seen.append(rel)
        if rel == when:
            _swap(entry, target)

    monkeypatch.setattr(safefs, "_between", between)
    return seen


def test_a_folder_swapped_after_the_check_is_not_written_through(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "models").mkdir()
    flip(monkeypatch, folder / "models", outside)
    with pytest.raises(UnsafePath) as e:
        safefs.write_in(str(folder), "models/x.mlem", b"new\n")
    assert str(e.value) == SYMLINKED
    assert list(outside.iterdir()) == []
    assert list((folder / "models.orig").iterdir()) == []


def test_a_folder_swapped_after_it_was_opened_is_written_in_the_folder_opened(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "models").mkdir()
    seen = after_opening(monkeypatch, "models", folder / "models", outside)
    safefs.write_in(str(folder), "models/x.mlem", b"new\n")
    # the descriptor still names the folder that was opened, now moved aside
    assert list(outside.iterdir()) == []
    assert os.listdir(folder / "models.orig") == ["x.mlem"]
    assert (folder / "models.orig" / "x.mlem").read_bytes() == b"new\n"
    assert seen == ["models", "models/x.mlem"]


def test_a_folder_swapped_back_before_the_message_is_still_refused(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # read_in asks what is there only after the read refused it: a real folder by then changes nothing
    (folder / "models").mkdir()
    (folder / "models" / "x.mlem").write_bytes(b"mine\n")
    (outside / "x.mlem").write_bytes(b"secret\n")
    _swap(folder / "models", outside)
    real = safefs._unsafe
    asked: list[str] = []

    def restored_then_checked(root: str, rel: str) -> Any:
        _restore(folder / "models")
        asked.append(rel)
        return real(root, rel)

    monkeypatch.setattr(safefs, "_unsafe", restored_then_checked)
    with pytest.raises(UnsafePath) as e:
        safefs.read_in(str(folder), "models/x.mlem")
    assert str(e.value) == SYMLINKED
    assert asked == ["models/x.mlem"]


def test_a_regular_file_is_read_with_one_walk(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the usual case asks nothing before reading: the walk itself refuses what is unsafe
    (folder / "models").mkdir()
    (folder / "models" / "x.mlem").write_bytes(b"mine\n")
    monkeypatch.setattr(safefs, "_unsafe", lambda root, rel: pytest.fail("checked before reading"))
    assert safefs.read_in(str(folder), "models/x.mlem") == b"mine\n"
    assert safefs.read_in(str(folder), "models/y.mlem") is None


def test_a_folder_swapped_after_it_was_opened_is_read_from_the_folder_opened(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "models").mkdir()
    (folder / "models" / "x.mlem").write_bytes(b"mine\n")
    (outside / "x.mlem").write_bytes(b"secret\n")
    after_opening(monkeypatch, "models", folder / "models", outside)
    assert safefs.read_in(str(folder), "models/x.mlem") == b"mine\n"
    assert (folder / "models").is_symlink()


def test_link_never_writes_through_a_folder_swapped_after_its_checks(
    registry: Path, project: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr import api

    (registry / "sub").mkdir()
    flip(monkeypatch, registry / "sub", outside)
    with pytest.raises(UnsafePath, match="^sub is a symlinked folder; mr never reads or writes through symlinks$"):
        api.link("models/rf", source_project=str(project), target="sub/x")
    assert list(outside.iterdir()) == []
    assert list((registry / "sub.orig").iterdir()) == []


def test_a_file_swapped_for_a_symlink_after_the_check_is_refused(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "x.mlem").write_bytes(b"old\n")
    (outside / "authorized_keys").write_bytes(b"precious\n")
    flip(monkeypatch, folder / "x.mlem", outside / "authorized_keys")
    with pytest.raises(UnsafePath) as e:
        safefs.write_in(str(folder), "x.mlem", b"new\n")
    assert str(e.value) == "x.mlem is a symlink; mr never reads or writes through symlinks"
    assert (outside / "authorized_keys").read_bytes() == b"precious\n"
    assert sorted(os.listdir(folder)) == ["x.mlem", "x.mlem.orig"]


def test_a_file_swapped_for_a_symlink_before_the_rename_is_replaced_not_written_through(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "x.mlem").write_bytes(b"old\n")
    (outside / "authorized_keys").write_bytes(b"precious\n")
    after_opening(monkeypatch, "x.mlem", folder / "x.mlem", outside / "authorized_keys")
    safefs.write_in(str(folder), "x.mlem", b"new\n")
    assert (outside / "authorized_keys").read_bytes() == b"precious\n"
    assert not (folder / "x.mlem").is_symlink()  # the rename replaced the link itself
    assert (folder / "x.mlem").read_bytes() == b"new\n"
    assert sorted(os.listdir(folder)) == ["x.mlem", "x.mlem.orig"]


def test_a_file_swapped_for_a_folder_before_the_rename_fails_in_one_line_and_leaves_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "x.mlem").write_bytes(b"old\n")

    def folder_instead(rel: str) -> None:
        (folder / "x.mlem").unlink()
        (folder / "x.mlem").mkdir()
        (folder / "x.mlem" / "keep").write_bytes(b"")

    monkeypatch.setattr(safefs, "_between", folder_instead)
    with pytest.raises(FileSystemError) as e:
        safefs.write_in(str(folder), "x.mlem", b"new\n")
    assert str(e.value) == "x.mlem: Is a directory"
    assert os.listdir(folder) == ["x.mlem"] and os.listdir(folder / "x.mlem") == ["keep"]


def test_write_in_makes_missing_folders(folder: Path) -> None:
    safefs.write_in(str(folder), "a/b/x.mlem", b"new\n")
    assert (folder / "a" / "b" / "x.mlem").read_bytes() == b"new\n"
    assert os.listdir(folder / "a" / "b") == ["x.mlem"]


@pytest.mark.parametrize("made", ["folder", "symlink"])
def test_a_folder_made_meanwhile_by_someone_else(
    folder: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, made: str
) -> None:
    real_mkdir = os.mkdir

    def beaten_to_it(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        if made == "folder":
            real_mkdir(path, mode, dir_fd=dir_fd)
        else:
            os.symlink(outside, path, dir_fd=dir_fd)
        raise FileExistsError(17, "File exists", path)

    monkeypatch.setattr(os, "mkdir", beaten_to_it)
    if made == "folder":
        safefs.write_in(str(folder), "models/x.mlem", b"new\n")
        assert (folder / "models" / "x.mlem").read_bytes() == b"new\n"
    else:
        with pytest.raises(UnsafePath) as e:
            safefs.write_in(str(folder), "models/x.mlem", b"new\n")
        assert str(e.value) == SYMLINKED
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_write_in_keeps_the_mode(folder: Path, mode: int) -> None:
    target = folder / "models" / "x.mlem"
    target.parent.mkdir()
    target.write_bytes(b"old\n")
    target.chmod(mode)
    safefs.write_in(str(folder), "models/x.mlem", b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert os.listdir(target.parent) == ["x.mlem"]


def test_write_in_new_file_follows_umask(folder: Path) -> None:
    old = os.umask(0o077)
    try:
        safefs.write_in(str(folder), "x.mlem", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((folder / "x.mlem").stat().st_mode) == 0o600


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_failed_write_in_is_one_line_and_leaves_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    (folder / "x.mlem").write_bytes(b"old\n")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(FileSystemError) as e:
        safefs.write_in(str(folder), "x.mlem", b"new\n")
    monkeypatch.undo()
    assert str(e.value) == "x.mlem: No space left on device"
    assert (folder / "x.mlem").read_bytes() == b"old\n"
    assert os.listdir(folder) == ["x.mlem"]
