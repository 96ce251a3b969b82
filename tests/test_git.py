from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mr import git
from mr.errors import ProjectNotFound, RevNotFound, UnsafePath
from mr.paths import cache_path
from mr.projects import Projects
from mr.urls import credentials_in, is_url, redact, strip_credentials
from tests.conftest import GitDaemon
from tests.helpers import MODEL, commit, make_project, tag
from tests.helpers import git as run_git


@pytest.mark.parametrize(
    "spec, url",
    [
        ("https://github.com/org/repo", True),
        ("git://127.0.0.1:9418/x", True),
        ("ssh://git@host/org/repo.git", True),
        ("file:///srv/repo", True),
        ("git@github.com:org/repo.git", True),
        ("host:repo", True),
        ("../models", False),
        ("/abs/path", False),
        ("models", False),
        ("C:/models", False),
        ("./a:b", False),
    ],
)
def test_is_url(spec: str, url: bool) -> None:
    assert is_url(spec) is url


def test_redaction() -> None:
    assert redact("https://user:tok@host/r") == "https://user:***@host/r"
    assert redact("https://ghp_abc@host/r") == "https://***@host/r"
    assert redact("git@host:org/r") == "git@host:org/r"
    assert redact("ssh://git@host/r") == "ssh://git@host/r"
    assert redact("ssh://git:pw@host/r") == "ssh://git:***@host/r"
    assert strip_credentials("https://user:tok@host/r") == "https://host/r"
    assert credentials_in("https://user:tok@host/r") == "a password"
    assert credentials_in("https://tok@host/r") == "a user name or token"
    assert credentials_in("ssh://git@host/r") is None


def test_cache_path_is_readable_unique_and_has_no_secret(tmp_path: Path) -> None:
    a = cache_path("https://github.com/org/churn-model.git")
    b = cache_path("https://gitlab.com/org/churn-model.git")
    assert os.path.basename(a).startswith("churn-model-") and a != b
    assert a.startswith(str(tmp_path / "cache"))
    assert cache_path("https://u:secret@github.com/org/churn-model.git") == a
    assert "secret" not in cache_path("https://u:secret@github.com/org/x.git")


def test_resolve_kinds_including_remote_tracking(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    sha = tag(src, "v1")
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(src), str(clone))
    run_git(src, "branch", "feature")
    run_git(clone, "fetch", "-q")
    repo = git.open_exact(str(clone))
    assert git.resolve(repo, "v1", "clone").kind == "tag"
    assert git.resolve(repo, "main", "clone").kind == "branch"
    assert git.resolve(repo, "origin/feature", "clone").kind == "branch"
    assert git.resolve(repo, sha, "clone").kind == "commit"
    assert git.resolve(repo, sha[:10], "clone").sha == sha
    with pytest.raises(RevNotFound):
        git.resolve(repo, "nope", "clone")
    for bad in ["main~1", "HEAD^", "main:models", "@{-1}", "-x", "a b", "a..b"]:
        with pytest.raises(RevNotFound, match="not a branch, tag or commit"):
            git.resolve(repo, bad, "clone")


def test_read_at_refuses_symlinks_and_folders(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    os.symlink("/etc/passwd", src / "evil.mlem")
    sha = commit(src, {}, "symlink")
    repo = git.open_exact(str(src))
    assert git.read_at(repo, sha, "models/rf.mlem") == MODEL.encode()
    with pytest.raises(UnsafePath, match="evil.mlem is a symlink"):
        git.read_at(repo, sha, "evil.mlem")
    with pytest.raises(UnsafePath, match="models is a folder"):
        git.read_at(repo, sha, "models")
    assert git.read_at(repo, sha, "nope.mlem") is None


def test_remote_fetched_once_per_command_then_cached(served: tuple[Path, str]) -> None:
    path, url = served
    projects = Projects("/")
    first = projects.open(url)
    assert projects.open(url) is first  # one open, one fetch per command
    assert first.default_branch() == "main"
    sha = tag(path, "v2")
    # a new command fetches again and sees the new tag, in the same cache
    again = Projects("/").open(url)
    assert again.resolve("v2").sha == sha
    assert again.repo.path == first.repo.path


def test_offline_uses_only_the_cache(served: tuple[Path, str]) -> None:
    path, url = served
    with pytest.raises(ProjectNotFound, match="not in the cache"):
        Projects("/", fetch=False).open(url)
    Projects("/").open(url)
    tag(path, "later")
    offline = Projects("/", fetch=False).open(url)
    assert offline.resolve("main").kind == "branch"
    with pytest.raises(RevNotFound):
        offline.resolve("later")


def test_unreachable_remote_fails_fast_and_cache_still_serves(tmp_path: Path) -> None:
    base = tmp_path / "srv"
    base.mkdir()
    make_project(base / "p")
    daemon = GitDaemon(base)
    daemon.start()
    url = daemon.url("p")
    try:
        Projects("/").open(url)
    finally:
        daemon.stop()
    started = time.monotonic()
    with pytest.raises(ProjectNotFound, match="cannot fetch"):
        Projects("/").open(url)
    assert time.monotonic() - started < 20  # refused at once, not after a timeout
    assert Projects("/", fetch=False).open(url).resolve("main").kind == "branch"


def test_missing_remote_repository(git_daemon: GitDaemon) -> None:
    with pytest.raises(ProjectNotFound, match="cannot fetch"):
        Projects("/").open(git_daemon.url("does-not-exist"))
    # a failed first fetch leaves no half-made cache behind
    assert not os.path.exists(cache_path(git_daemon.url("does-not-exist")))


def test_concurrent_fetches_share_one_cache(served: tuple[Path, str]) -> None:
    _, url = served
    code = (
        "import sys\nfrom mr.projects import Projects\n"
        "p = Projects('/').open(sys.argv[1])\n"
        "print(p.resolve('main').sha)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0] for o in outs}) == 1
    cache = cache_path(url)
    assert run_git(cache, "fsck", "--no-progress") == ""
    leftovers = [n for n in os.listdir(os.path.dirname(cache)) if ".tmp-" in n]
    assert leftovers == []


def test_signature_reads_environment_then_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = git.open_exact(str(make_project(tmp_path / "p")))
    assert git.signature(repo).name == "Test User"
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Name")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "env@example.com")
    sig = git.signature(repo)
    assert (sig.name, sig.email) == ("Env Name", "env@example.com")


def test_file_url_goes_through_the_cache(tmp_path: Path) -> None:
    src = make_project(tmp_path / "src")
    sha = tag(src, "v1")
    project = Projects("/").open(f"file://{src}")
    assert project.remote and project.resolve("v1").sha == sha
    assert project.repo.path.rstrip("/").startswith(str(tmp_path / "cache"))


def test_commit_files_deletes_paths_and_empty_folders(tmp_path: Path) -> None:
    root = make_project(tmp_path / "r", {"team/a.mlem": "a\n", "team/deep/b.mlem": "b\n", "c.mlem": "c\n"})
    repo = git.open_exact(str(root))
    assert repo is not None
    tip = run_git(root, "rev-parse", "main")
    sha = git.commit_files(
        repo,
        "main",
        {"team/deep/b.mlem": None, "c.mlem": None, "new.mlem": b"n\n", "gone/never.mlem": None},
        "delete",
        expect=tip,
        create=False,
    )
    assert run_git(root, "rev-parse", "main") == sha
    files = run_git(root, "ls-tree", "-r", "--name-only", "main").split()
    assert files == [".mlem.yaml", "models/rf.mlem", "new.mlem", "team/a.mlem"]  # team/deep went with its file
    assert run_git(root, "ls-tree", "-d", "main", "team/deep") == ""
    assert run_git(root, "show", "main:team/a.mlem") == "a"


def test_path_changes_follow_every_parent(tmp_path: Path) -> None:
    root = make_project(tmp_path / "r", {"x.mlem": "1\n"})
    first = run_git(root, "rev-parse", "HEAD")
    commit(root, {"other.txt": "unrelated\n"}, "unrelated")
    run_git(root, "checkout", "-q", "-b", "side")
    side = commit(root, {"x.mlem": "2\n"}, "on a side branch")
    run_git(root, "checkout", "-q", "main")
    run_git(root, "merge", "-q", "--no-ff", "-m", "merge", "side")
    repo = git.open_exact(str(root))
    assert repo is not None
    changes = list(git.path_changes(repo, [run_git(root, "rev-parse", "main")], "x.mlem"))
    assert [(c.commit.sha, c.before, c.after) for c in changes] == [(side, b"1\n", b"2\n"), (first, None, b"1\n")]
    assert changes[0].parent == run_git(root, "rev-parse", f"{side}^")
    assert git.commit_of(repo, "main~1") == run_git(root, "rev-parse", "main~1")
    assert git.commit_of(repo, "-rf") is None and git.commit_of(repo, "nope") is None
