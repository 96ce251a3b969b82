from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mr import git
from mr.cachepaths import cache_path
from mr.errors import GitError, IdentityError, ProjectNotFound, RefMoved, RevNotFound, UnsafePath
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
    with pytest.raises(ProjectNotFound, match="cannot fetch") as e:
        Projects("/").open(url)
    # refused at once by the closed port, not given up after a timeout
    assert "refused the connection" in e.value.message and "timed out" not in e.value.message
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


def test_path_blobs_read_regular_files_through_real_folders_only(tmp_path: Path) -> None:
    """A history reads a path's blob at each commit with one lookup; a symlink, or a folder that is a
    symlink, is no file there (as every read of a tree finds it)."""
    from tests.plumbing import commit_on

    root = make_project(tmp_path / "r", {"d/x.mlem": "1\n", "y.mlem": "y\n"})
    regular = run_git(root, "rev-parse", "HEAD")
    linked = commit_on(root, "main", {"y.mlem": ("link", "d/x.mlem"), "d": ("link", "elsewhere")})
    repo = git.open_exact(str(root))
    assert repo is not None
    nested, top = git.PathBlobs(repo, "d/x.mlem"), git.PathBlobs(repo, "./y.mlem")
    assert nested.of(regular) == bytes.fromhex(run_git(root, "rev-parse", f"{regular}:d/x.mlem"))
    assert top.of(regular) == bytes.fromhex(run_git(root, "rev-parse", f"{regular}:y.mlem"))
    assert nested.of(linked) is None and top.of(linked) is None
    tree = run_git(root, "rev-parse", f"{regular}^{{tree}}")
    assert nested.of(tree) is None and nested.of("0" * 40) is None and nested.of("not hex") is None
    changes = list(git.path_changes(repo, [linked], "y.mlem"))
    assert [(c.commit.sha, c.before, c.after) for c in changes] == [(linked, b"y\n", None), (regular, None, b"y\n")]


# --- the write path: trees, commits, refs, the work tree --------------------------------------


def _repo_with(tmp_path: Path, files: dict[str, str]) -> tuple[Path, git.Repo, str]:
    root = make_project(tmp_path / "w", files)
    repo = git.open_exact(str(root))
    assert repo is not None
    return root, repo, run_git(root, "rev-parse", "main")


def _hostile_main(root: Path, tree: dict[str, object]) -> str:
    from tests.plumbing import commit_on

    return commit_on(root, "main", tree)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tree", "path", "message"),
    [
        ({"churn.mlem": ("link", "/etc/passwd")}, "churn.mlem", "churn.mlem is a symlink, not a regular file"),
        ({"team": {"sub": ("link", "/etc")}}, "team/sub/x.mlem", "team/sub is a symlinked folder"),
        ({"team": {"sub": b"a file\n"}}, "team/sub/x.mlem", "team/sub is a file, not a folder"),
        ({"team": {"x.mlem": {"y": b"\n"}}}, "team/x.mlem", "team/x.mlem is a folder, not a regular file"),
    ],
)
def test_commit_files_never_replaces_or_follows_what_is_no_file(
    tmp_path: Path, tree: dict[str, object], path: str, message: str
) -> None:
    root, repo, _ = _repo_with(tmp_path, {})
    tip = _hostile_main(root, tree)
    with pytest.raises(UnsafePath) as e:
        git.commit_files(repo, "main", {path: b"new\n"}, "write", expect=tip, create=False)
    assert e.value.message == f"{message}; mr never replaces or follows it"
    assert run_git(root, "rev-parse", "main") == tip


def test_commit_files_never_writes_into_a_submodule(tmp_path: Path) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})
    run_git(root, "update-index", "--add", "--cacheinfo", f"160000,{tip},team/sub")
    run_git(root, "commit", "-qm", "a submodule")
    tip = run_git(root, "rev-parse", "main")
    with pytest.raises(UnsafePath) as e:
        git.commit_files(repo, "main", {"team/sub/x.mlem": b"x\n"}, "into it", expect=tip)
    assert e.value.message == "team/sub is a submodule; mr never replaces or follows it"
    assert run_git(root, "rev-parse", "main") == tip


def test_commit_files_keeps_the_other_files_of_a_folder_and_creates_a_branch(tmp_path: Path) -> None:
    root, repo, tip = _repo_with(tmp_path, {"team/a.mlem": "a\n", "team/deep/b.mlem": "b\n"})
    sha = git.commit_files(repo, "main", {"team/new.mlem": b"n\n", "team/deep/c.mlem": b"c\n"}, "add", expect=tip)
    files = run_git(root, "ls-tree", "-r", "--name-only", sha).split()
    assert files == [
        ".mlem.yaml",
        "models/rf.mlem",
        "team/a.mlem",
        "team/deep/b.mlem",
        "team/deep/c.mlem",
        "team/new.mlem",
    ]
    # a branch that does not exist yet: its first commit, a deletion of nothing included
    first = git.commit_files(repo, "fresh", {"x.mlem": b"x\n", "gone.mlem": None}, "first", expect=None)
    assert run_git(root, "ls-tree", "-r", "--name-only", first).split() == ["x.mlem"]
    assert run_git(root, "rev-list", "--count", "fresh") == "1"
    with pytest.raises(GitError) as e:
        git.commit_files(repo, "nope", {"x.mlem": b"x\n"}, "no", create=False)
    assert e.value.message == "no branch nope"


def test_removing_paths_goes_on_past_a_folder_that_is_not_there(tmp_path: Path) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a/b.mlem": "b\n", "a/c.mlem": "c\n", "d/e.mlem": "e\n"})
    sha = git.commit_files(
        repo, "main", {"nope/x.mlem": None, "a/b.mlem": None, "models": None, "d/e.mlem": None}, "rm", expect=tip
    )
    assert run_git(root, "ls-tree", "-r", "--name-only", sha).split() == [".mlem.yaml", "a/c.mlem"]


def test_commit_files_moved_under_it_is_ref_moved_and_a_held_lock_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})
    with pytest.raises(RefMoved) as e:
        git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect="0" * 40)
    assert e.value.message == "branch main moved"
    create = git._create_commit
    other = run_git(root, "commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m", "another writer")

    def another_writer_first(*args: object, **kwargs: object) -> object:
        oid = create(*args, **kwargs)  # type: ignore[arg-type]
        run_git(root, "update-ref", "refs/heads/main", other)
        return oid

    monkeypatch.setattr(git, "_create_commit", another_writer_first)
    with pytest.raises(RefMoved) as e:
        git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect=tip)
    assert e.value.message == "branch main moved while committing"
    assert run_git(root, "rev-parse", "main") == other
    monkeypatch.undo()
    lock = root / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    with pytest.raises(RefMoved) as e:
        git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect=other)
    assert e.value.message == f"branch main is being updated by another process ({lock})"
    assert run_git(root, "rev-parse", "main") == other


def test_a_tree_that_cannot_be_written_is_one_line_naming_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})

    def full(*args: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(git, "_edited_tree", full)
    for write in (
        lambda: git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect=tip),
        lambda: git.commit_on_new_branch(repo, "review", tip, {"b.mlem": b"b\n"}, "b"),
    ):
        with pytest.raises(GitError) as e:
            write()
        assert e.value.message == f"cannot write to {root}/.git: [Errno 28] No space left on device"
    assert run_git(root, "rev-parse", "main") == tip


def test_commit_on_new_branch_builds_on_its_base_and_refuses_what_it_cannot_make(tmp_path: Path) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})
    sha = git.commit_on_new_branch(repo, "review/x", tip, {"b.mlem": b"b\n", "a.mlem": None}, "review")
    assert run_git(root, "rev-parse", "review/x^") == tip
    assert run_git(root, "ls-tree", "-r", "--name-only", sha).split() == [".mlem.yaml", "b.mlem", "models/rf.mlem"]
    with pytest.raises(GitError) as e:
        git.commit_on_new_branch(repo, "review/x", tip, {"c.mlem": b"c\n"}, "again")
    assert e.value.message == "branch review/x exists; pass --force to replace it"
    assert run_git(root, "rev-parse", "review/x") == sha
    with pytest.raises(GitError) as e:
        git.commit_on_new_branch(repo, "bad..name", tip, {"c.mlem": b"c\n"}, "bad")
    assert e.value.message == "'bad..name' is not a valid branch name"
    with pytest.raises(GitError) as e:
        git.commit_on_new_branch(repo, "review/x/y", tip, {"c.mlem": b"c\n"}, "under a branch")
    assert e.value.message.startswith("cannot create branch review/x/y: ")
    assert run_git(root, "branch", "--list", "review/*").split() == ["review/x"]


def test_set_ref_creates_moves_and_refuses_by_compare_and_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})
    other = run_git(root, "commit-tree", f"{tip}^{{tree}}", "-m", "other")
    git.set_ref(repo, "refs/mr/x", tip, None, "made")
    assert run_git(root, "rev-parse", "refs/mr/x") == tip
    with pytest.raises(RefMoved) as e:
        git.set_ref(repo, "refs/mr/x", other, None, "again")
    assert e.value.message == "refs/mr/x moved"
    git.set_ref(repo, "refs/mr/x", other, tip, "moved")
    assert run_git(root, "rev-parse", "refs/mr/x") == other
    # made by someone else between the look and the create
    monkeypatch.setattr(git, "ref_tip", lambda repo, ref: None)
    with pytest.raises(RefMoved) as e:
        git.set_ref(repo, "refs/mr/x", tip, None, "raced")
    assert e.value.message.startswith("refs/mr/x moved (") and run_git(root, "rev-parse", "refs/mr/x") == other


def test_update_worktree_touches_only_the_named_paths_and_never_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n", "b.mlem": "b\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "authorized_keys").write_text("ssh-ed25519 AAAA precious\n")
    git.commit_files(repo, "main", {"a.mlem": b"a2\n", "b.mlem": b"b2\n"}, "both", expect=tip)
    (root / "b.mlem").write_text("my edit\n")
    git.update_worktree(repo, {"a.mlem": b"a2\n"})
    assert (root / "a.mlem").read_text() == "a2\n" and (root / "b.mlem").read_text() == "my edit\n"
    (root / "a.mlem").unlink()
    os.symlink(elsewhere / "authorized_keys", root / "a.mlem")
    with pytest.raises(UnsafePath) as e:
        git.update_worktree(repo, {"a.mlem": b"a2\n"})
    assert e.value.message == (
        "a.mlem is a symlink; mr never reads or writes through symlinks; the work tree was left alone"
    )
    assert (elsewhere / "authorized_keys").read_text() == "ssh-ed25519 AAAA precious\n"
    (root / "a.mlem").unlink()

    def full(self: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(repo), "checkout_head", full)
    with pytest.raises(GitError) as e:
        git.update_worktree(repo, {"a.mlem": b"a2\n", "b.mlem": b"b2\n"})
    assert e.value.message == (
        "the work tree could not be updated ([Errno 28] No space left on device); run: git checkout -- a.mlem b.mlem"
    )


def test_a_commit_that_cannot_be_written_or_a_branch_deleted_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, repo, tip = _repo_with(tmp_path, {"a.mlem": "a\n"})
    create = git._create_commit

    def deleted_first(*args: object, **kwargs: object) -> object:
        oid = create(*args, **kwargs)  # type: ignore[arg-type]
        run_git(root, "update-ref", "-d", "refs/heads/main")
        return oid

    monkeypatch.setattr(git, "_create_commit", deleted_first)
    with pytest.raises(RefMoved) as e:
        git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect=tip)
    assert e.value.message == "branch main moved while committing"
    monkeypatch.undo()
    run_git(root, "update-ref", "refs/heads/main", tip)

    def full(self: object, *args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(repo), "create_commit", full)
    with pytest.raises(GitError) as e:
        git.commit_files(repo, "main", {"b.mlem": b"b\n"}, "b", expect=tip, sign=False)
    assert e.value.message == f"cannot write to {root}/.git: [Errno 28] No space left on device"
    assert run_git(root, "rev-parse", "main") == tip


def test_update_worktree_of_a_bare_repository_does_nothing(tmp_path: Path) -> None:
    root, _, _ = _repo_with(tmp_path, {"a.mlem": "a\n"})
    run_git(tmp_path, "clone", "-q", "--bare", str(root), str(tmp_path / "bare.git"))
    bare = git.open_exact(str(tmp_path / "bare.git"))
    assert bare is not None and git.workdir(bare) is None
    before = sorted(os.listdir(tmp_path / "bare.git"))
    git.update_worktree(bare, {"a.mlem": b"x\n"})
    assert sorted(os.listdir(tmp_path / "bare.git")) == before  # nothing checked out into it
    assert not (tmp_path / "bare.git" / "a.mlem").exists()


def test_signature_without_a_whole_identity_says_how_to_set_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated_git: Path
) -> None:
    repo = git.open_exact(str(make_project(tmp_path / "p")))
    (isolated_git / ".gitconfig").write_text("")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Only A Name")
    with pytest.raises(IdentityError) as e:
        git.signature(repo, "AUTHOR")
    assert e.value.message == (
        "no git identity to commit with: run\n"
        "  git config --global user.name 'Your Name'\n"
        "  git config --global user.email you@example.com\n"
        "or set GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL"
    )
    # EMAIL is the address of last resort; the global config serves a call without a repository
    monkeypatch.setenv("EMAIL", "last@example.com")
    sig = git.signature(repo, "AUTHOR")
    assert (sig.name, sig.email) == ("Only A Name", "last@example.com")
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("EMAIL")
    run_git(isolated_git, "config", "--global", "user.name", "Glo Bal")
    run_git(isolated_git, "config", "--global", "user.email", "global@example.com")
    sig = git.signature(None, "COMMITTER")
    assert (sig.name, sig.email) == ("Glo Bal", "global@example.com")
    # a name from the environment, the address from the config
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Env Only")
    sig = git.signature(repo, "COMMITTER")
    assert (sig.name, sig.email) == ("Env Only", "global@example.com")
