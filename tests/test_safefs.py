"""Atomic writes inside the registry: a crash never leaves a half-written file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from mr import safefs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder (tmp_path itself holds the isolated HOME)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_write_atomic_writes_new_file_in_new_folder(folder: Path) -> None:
    target = folder / "a" / "b" / "x.mlem"
    safefs.write_atomic(str(target), b"content\n")
    assert target.read_bytes() == b"content\n"
    assert os.listdir(target.parent) == ["x.mlem"]


def test_write_atomic_new_file_follows_umask(folder: Path) -> None:
    target = folder / "x.mlem"
    old = os.umask(0o027)
    try:
        safefs.write_atomic(str(target), b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o755])
def test_write_atomic_keeps_existing_mode(folder: Path, mode: int) -> None:
    target = folder / "x.mlem"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    safefs.write_atomic(str(target), b"new\n")
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
    with pytest.raises(OSError):
        safefs.write_atomic(str(target), b"new\n")
    monkeypatch.undo()
    assert target.read_bytes() == b"old\n"
    assert os.listdir(folder) == ["x.mlem"]


def test_interrupted_write_leaves_no_temp_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        safefs.write_atomic(str(folder / "x.mlem"), b"new\n")
    monkeypatch.undo()
    assert os.listdir(folder) == []
