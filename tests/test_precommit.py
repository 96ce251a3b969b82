"""The real pre-commit tool running this repository's mr-verify hook."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git

#: slow (installs the hook environment with pre-commit): left out of the everyday loop, run by CI
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout as it is now (uncommitted changes too), committed in a repo of its own."""
    snap = tmp_path_factory.mktemp("mr-hook-repo")
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (snap / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, snap / name)
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e"
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=snap, check=True, env=env, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=snap, check=True, capture_output=True, text=True
    ).stdout.strip()
    return snap, sha


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # shared by the tests below, so the hook's environment is built once
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")
    assert exe, "pre-commit is part of the test extra"
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


BROKEN = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: no-such-rev\n"


def test_try_repo_fails_on_broken_link_and_passes_when_fixed(
    registry: Path, project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    snap, sha = hook_repo
    (registry / "churn.mlem").write_text(BROKEN)
    git(registry, "add", "churn.mlem")
    r = pre_commit(registry, pre_commit_home, "try-repo", str(snap), "mr-verify", "--ref", sha, "--files", "churn.mlem")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "churn.mlem:5: error: rev no-such-rev not found" in r.stdout
    (registry / "churn.mlem").write_text(BROKEN.replace("no-such-rev", "main"))
    r = pre_commit(registry, pre_commit_home, "try-repo", str(snap), "mr-verify", "--ref", sha, "--files", "churn.mlem")
    assert r.returncode == 0, r.stdout + r.stderr


def test_installed_hook_blocks_a_commit_with_a_broken_link(
    registry: Path, project: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    snap, sha = hook_repo
    (registry / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {snap}\n    rev: {sha}\n    hooks:\n      - id: mr-verify\n"
    )
    git(registry, "add", ".pre-commit-config.yaml")
    git(registry, "commit", "-q", "-m", "hook")
    r = pre_commit(registry, pre_commit_home, "install")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, PRE_COMMIT_HOME=str(pre_commit_home), PRE_COMMIT_COLOR="never")
    (registry / "churn.mlem").write_text(BROKEN)
    git(registry, "add", "churn.mlem")
    blocked = subprocess.run(["git", "commit", "-m", "broken"], cwd=registry, capture_output=True, text=True, env=env)
    assert blocked.returncode != 0
    assert "churn.mlem:5: error" in blocked.stdout + blocked.stderr
    (registry / "churn.mlem").write_text(BROKEN.replace("no-such-rev", "main"))
    git(registry, "add", "churn.mlem")
    ok = subprocess.run(["git", "commit", "-m", "fixed"], cwd=registry, capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert git(registry, "log", "-1", "--format=%s") == "fixed"
