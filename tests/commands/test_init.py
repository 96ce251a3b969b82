from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
from mr.errors import ConfigError, RegistryError, UsageError
from tests.helpers import commit, git


def test_init_new_folder(tmp_path: Path) -> None:
    result = api.init(str(tmp_path / "reg"))
    root = tmp_path / "reg"
    assert result.created == (".mlem.yaml", ".mr.yaml")
    assert result.stages == ("dev", "staging", "production")
    assert set(result.branches) == {"staging", "production"}
    assert (root / ".mlem.yaml").read_text() == ""
    assert "stages: [dev, staging, production]" in (root / ".mr.yaml").read_text()
    assert git(root, "branch", "--show-current") == "dev"
    for stage in result.stages:
        assert git(root, "rev-parse", stage) == result.commit
    # committed, and the index agrees: nothing left to commit
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "log", "--format=%an <%ae>") == "Test User <test@example.com>"


def test_init_twice_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    first = api.init(str(root))
    second = api.init(str(root))
    assert second.created == () and second.commit is None and second.branches == ()
    assert git(root, "rev-list", "--count", "--all") == "1"
    assert git(root, "rev-parse", "dev") == first.commit


def test_init_keeps_existing_settings(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    settings = "# ours\nstages: [qa, prod]\nlink_format: repo\n"
    (root / ".mr.yaml").write_text(settings)
    result = api.init(str(root))
    assert (root / ".mr.yaml").read_text() == settings
    assert result.stages == ("qa", "prod")
    assert result.created == (".mlem.yaml",)
    assert git(root, "show", "qa:.mr.yaml") == settings.rstrip("\n")


def test_init_refuses_other_stages_than_settings(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    api.init(str(root), ["a", "b"])
    with pytest.raises(RegistryError, match="already names stages a, b"):
        api.init(str(root), ["x", "y"])


def test_init_in_repository_with_history_commits_only_its_files(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, {"README": "hi\n"}, "start")
    (root / "staged.txt").write_text("mine\n")
    git(root, "add", "staged.txt")
    result = api.init(str(root), ["dev", "prod"])
    assert git(root, "branch", "--show-current") == "main"
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [".mlem.yaml", ".mr.yaml"]
    # the user's staged file is still staged, not committed
    assert "A  staged.txt" in git(root, "status", "--porcelain")
    assert git(root, "rev-parse", "dev") == git(root, "rev-parse", "prod") == result.commit


def test_init_custom_stages_and_bad_stage_names(tmp_path: Path) -> None:
    result = api.init(str(tmp_path / "a"), ["qa", "prod"])
    assert result.stages == ("qa", "prod")
    for bad in (["dev", "dev"], ["a b"], ["-x"], ["a..b"], [""]):
        with pytest.raises(UsageError, match="^--stages: "):
            api.init(str(tmp_path / "b"), bad)
        assert not (tmp_path / "b").exists()


def test_init_invalid_settings_file_names_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "reg"
    root.mkdir()
    (root / ".mr.yaml").write_text("stages: [dev]\nlink_fromat: repo\n")
    with pytest.raises(ConfigError) as e:
        api.init(str(root))
    assert e.value.file == ".mr.yaml" and e.value.line == 2
    assert "link_fromat" in str(e.value)


def test_init_without_identity_says_how_to_set_it(
    tmp_path: Path, isolated_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_git / ".gitconfig").write_text("")
    monkeypatch.delenv("EMAIL", raising=False)
    from mr.errors import IdentityError

    with pytest.raises(IdentityError, match="git config --global user.name"):
        api.init(str(tmp_path / "reg"))


def test_identity_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ann Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ann@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Cy Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "cy@example.com")
    api.init(str(tmp_path / "reg"))
    fmt = git(tmp_path / "reg", "log", "-1", "--format=%an <%ae>|%cn <%ce>")
    assert fmt == "Ann Author <ann@example.com>|Cy Committer <cy@example.com>"


def _status(repo: Path) -> tuple[str, str, str]:
    return (
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        git(repo, "symbolic-ref", "HEAD"),
    )


@pytest.mark.parametrize("fails_at", ["commit", "second branch", "staging the index"])
def test_a_failed_init_leaves_the_repository_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails_at: str
) -> None:
    from mr import git as mrgit
    from mr.errors import GitError

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "--initial-branch=main")
    (repo / "notes.txt").write_text("mine\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "draft.txt").write_text("not committed\n")
    before = _status(repo)
    calls: list[str] = []

    def failing(real):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append("x")
            if fails_at != "second branch" or len(calls) == 2:
                raise GitError(f"{fails_at} failed")
            return real(*args, **kwargs)

        return run

    target = {"commit": "commit_files", "second branch": "create_branch", "staging the index": "stage_in_index"}
    monkeypatch.setattr(mrgit, target[fails_at], failing(getattr(mrgit, target[fails_at])))
    with pytest.raises(GitError):
        api.init(str(repo))
    assert _status(repo) == before
    assert not (repo / ".mr.yaml").exists() and not (repo / ".mlem.yaml").exists()


def test_a_failed_init_of_a_new_folder_leaves_no_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mr import git as mrgit
    from mr.errors import IdentityError

    def no_identity(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise IdentityError("no identity")

    monkeypatch.setattr(mrgit, "commit_files", no_identity)
    folder = tmp_path / "new"
    with pytest.raises(IdentityError):
        api.init(str(folder))
    assert sorted(p.name for p in folder.iterdir()) == []
