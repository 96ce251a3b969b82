from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import api, linkfile
from mr.errors import LinkChainError, LinkExists, ObjectNotFound, ProjectNotFound, RevNotFound, UsageError
from mr.model import Link, Meta
from tests.helpers import DATA, MODEL, commit, git, tag


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root except .git, to prove a refusal wrote nothing."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for f in filenames:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def test_seed_example_default_branch(registry: Path, project: Path) -> None:
    result = api.link("models/rf", source_project=str(project), target="first-model", target_project=str(registry))
    assert (registry / "first-model.mlem").read_text() == (
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: main\n"
    )
    assert result.rev == "main" and result.name == "first-model"


def test_seed_example_named_rev_is_kept(registry: Path, project: Path) -> None:
    git(project, "branch", "5-deploy-meta")
    api.link("models/rf", source_project=str(project), rev="5-deploy-meta", target="second-model")
    assert "rev: 5-deploy-meta\n" in (registry / "second-model.mlem").read_text()


def test_default_branch_is_the_projects_not_main(tmp_path: Path, registry: Path) -> None:
    from tests.helpers import make_project

    proj = make_project(tmp_path / "trunk-proj", branch="trunk")
    link = api.link("models/rf", source_project=str(proj), target="x")
    assert link.rev == "trunk"


@pytest.mark.parametrize("rev", ["1234567", "2024-01-01", "1e10", "0123", "yes", "1_000"])
def test_tricky_revs_are_quoted_and_read_back(registry: Path, project: Path, rev: str) -> None:
    tag(project, rev)
    api.link("models/rf", source_project=str(project), rev=rev, target="t")
    text = (registry / "t.mlem").read_text()
    assert f"rev: '{rev}'\n" in text
    assert linkfile.load_link(text.encode(), "t.mlem").rev == rev


def test_branch_tag_commit_and_annotated_tags(registry: Path, project: Path) -> None:
    first = git(project, "rev-parse", "HEAD")
    tag(project, "v1", annotated=True)
    tag(project, "light", annotated=False)
    commit(project, {"models/rf.mlem": MODEL + "# v2\n"})
    api.link("models/rf", source_project=str(project), rev="v1", target="a")
    api.link("models/rf", source_project=str(project), rev="light", target="b")
    api.link("models/rf", source_project=str(project), rev=first[:8], target="c")
    api.link("models/rf", source_project=str(project), rev="main", target="d")
    kinds = {e.name: (e.kind, e.sha) for e in api.show(resolve=True).entries}
    head = git(project, "rev-parse", "HEAD")
    assert kinds == {"a": ("tag", first), "b": ("tag", first), "c": ("commit", first), "d": ("branch", head)}
    # without --resolve, local projects still tell branch from tag
    assert {e.name: e.kind for e in api.show().entries} == {"a": "tag", "b": "tag", "c": "ref", "d": "branch"}


def test_pin_keeps_symbolic_rev(registry: Path, project: Path) -> None:
    sha = tag(project, "v1.2.0")
    link = api.link("models/rf", source_project=str(project), rev="v1.2.0", target="prod", pin=True)
    assert link.rev == sha and link.pinned_from == "v1.2.0" and link.is_pinned
    text = (registry / "prod.mlem").read_text()
    assert f"rev: {sha}\n" in text and "params:\n  pinned_from: v1.2.0\n" in text
    entry = api.show().entries[0]
    assert entry.kind == "pin" and entry.sha == sha


def test_pin_without_rev_pins_default_branch(registry: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    link = api.link("models/rf", source_project=str(project), target="p", pin=True)
    assert (link.rev, link.pinned_from) == (head, "main")


def test_pin_of_commit_stores_full_sha_only(registry: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    link = api.link("models/rf", source_project=str(project), rev=head[:7], target="p", pin=True)
    assert link.rev == head and link.pinned_from is None


def test_source_with_or_without_suffix(registry: Path, project: Path) -> None:
    a = api.link("models/rf.mlem", source_project=str(project), target="a.mlem")
    b = api.link("models/rf", source_project=str(project), target="b")
    assert a.path == b.path == "models/rf.mlem"
    assert (registry / "a.mlem").exists() and not (registry / "a.mlem.mlem").exists()


def test_link_type_is_read_from_target(registry: Path, project: Path) -> None:
    commit(project, {"data/train.mlem": DATA})
    assert api.link("data/train", source_project=str(project), target="d").link_type == "data"


def test_nested_name(registry: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), target="churn/candidate")
    assert (registry / "churn" / "candidate.mlem").exists()
    assert [e.name for e in api.show().entries] == ["churn/candidate"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"source": "models/nope"}, ObjectNotFound, "models/nope.mlem not found"),
        ({"source": "models/rf", "rev": "no-such-branch"}, RevNotFound, "no-such-branch not found"),
        ({"source": "models/rf", "rev": "main~1"}, UsageError, "not a branch, tag or commit"),
        ({"source": "README"}, ObjectNotFound, "not found"),
        ({"source": "notes"}, ObjectNotFound, "not a MLEM object"),
        ({"source": "../escape"}, ObjectNotFound, "escapes"),
    ],
)
def test_refusals_write_nothing(registry: Path, project: Path, kwargs: dict, error: type, match: str) -> None:
    commit(project, {"README": "hello\n", "notes.mlem": "just: notes\n"})
    before = snapshot(registry)
    head = git(registry, "rev-parse", "HEAD")
    with pytest.raises(error, match=match):
        api.link(source_project=str(project), target="x", **kwargs)
    assert snapshot(registry) == before
    assert git(registry, "rev-parse", "HEAD") == head


def test_missing_project(registry: Path, tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound, match="no such folder"):
        api.link("models/rf", source_project=str(tmp_path / "nowhere"), target="x")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectNotFound, match="not inside a git repository"):
        api.link("models/rf", source_project=str(tmp_path / "plain"), target="x")
    assert not (registry / "x.mlem").exists()


def test_existing_link_needs_force_and_force_keeps_layout(registry: Path, project: Path) -> None:
    tag(project, "v2")
    path = registry / "m.mlem"
    path.write_text(
        '# deployed by the ops team\nlink_type: model\nobject_type: link\npath: "models/rf.mlem"\nrepo: ../models\nrev: main  # moving\n'
    )
    before = path.read_text()
    with pytest.raises(LinkExists, match="--force"):
        api.link("models/rf", source_project=str(project), rev="v2", target="m")
    assert path.read_text() == before
    api.link("models/rf", source_project=str(project), rev="v2", target="m", force=True)
    # only the rev changed: comments, quoting and the repo field stay (the comment keeps its column)
    assert path.read_text() == before.replace("rev: main  # moving", "rev: v2    # moving")


def test_force_over_a_file_whose_own_params_make_no_link_writes_it_anew(registry: Path, project: Path) -> None:
    tag(project, "v2")
    path = registry / "m.mlem"
    path.write_text("# ours\nlink_type: model\nobject_type: link\npath: models/rf.mlem\nparams:\n  owners: [a, b]\n")
    api.link("models/rf", source_project=str(project), rev="v2", target="m", force=True)
    # kept in place, the list would have made a file no reader takes: the file is written as new
    written = linkfile.load_link(path.read_bytes(), "m.mlem")
    assert (written.rev, written.params) == ("v2", {})
    assert path.read_bytes() == linkfile.dump_new(written)


def test_alias_to_object_in_registry(registry: Path) -> None:
    (registry / "models").mkdir()
    (registry / "models" / "rf.mlem").write_text(MODEL)
    link = api.link("models/rf", target="latest")
    assert (registry / "latest.mlem").read_text() == "link_type: model\nobject_type: link\npath: models/rf.mlem\n"
    assert link.is_alias
    # an alias shows, and the model it points to is not listed as a link
    assert [e.name for e in api.show().entries] == ["latest"]


def test_absolute_alias_and_project(registry: Path, project: Path) -> None:
    (registry / "models").mkdir()
    (registry / "models" / "rf.mlem").write_text(MODEL)
    assert api.link("models/rf", target="a", absolute=True).project == f"file://{registry}/"
    assert api.link("models/rf", source_project=str(project), target="b", absolute=True).project == str(project)


def test_follow_links(registry: Path, project: Path) -> None:
    commit(project, {"latest.mlem": "link_type: model\nobject_type: link\npath: models/rf.mlem\n"})
    followed = api.link("latest", source_project=str(project), target="f")
    assert (followed.path, followed.link_type) == ("models/rf.mlem", "model")
    kept = api.link("latest", source_project=str(project), target="n", follow_links=False)
    assert (kept.path, kept.link_type) == ("latest.mlem", "model")


def test_link_cycle_is_an_error_not_a_crash(registry: Path, project: Path) -> None:
    commit(
        project,
        {
            "a.mlem": "link_type: model\nobject_type: link\npath: b.mlem\n",
            "b.mlem": "link_type: model\nobject_type: link\npath: a.mlem\n",
        },
    )
    with pytest.raises(LinkChainError, match="cycle"):
        api.link("a", source_project=str(project), target="x")
    assert not (registry / "x.mlem").exists()


def test_bad_names(registry: Path, project: Path) -> None:
    for bad in ["../out", "/abs/x", ".git/hooks/x", "", "a//b/"]:
        with pytest.raises(UsageError):
            api.link("models/rf", source_project=str(project), target=bad, target_project=str(registry))


def test_link_without_target_returns_link_and_writes_nothing(registry: Path, project: Path) -> None:
    before = snapshot(registry)
    link = api.link("models/rf", source_project=str(project))
    assert isinstance(link, Link) and link.rev == "main"
    assert snapshot(registry) == before


def test_mlem_02_parameter_names(registry: Path, project: Path) -> None:
    link = api.link("models/rf", source_repo=str(project), target="old", target_repo=str(registry), external=True)
    assert (registry / "old.mlem").exists() and link.rev == "main"


def test_link_format_repo(tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "reg"
    root.mkdir()
    (root / ".mr.yaml").write_text("link_format: repo\n")
    api.init(str(root))
    monkeypatch.chdir(root)
    api.link("models/rf", source_project=str(project), target="old")
    assert "repo: ../models\n" in (root / "old.mlem").read_text()


def test_load_meta(registry: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), target="m")
    link = api.load_meta("m", follow_links=False)
    assert isinstance(link, Link) and link.project == "../models"
    meta = api.load_meta(str(registry / "m.mlem"))
    assert isinstance(meta, Meta) and meta.object_type == "model" and meta.path == "models/rf.mlem"
    assert meta.sha == git(project, "rev-parse", "HEAD")
    meta2 = api.load_meta("models/rf", project=str(project), rev="main")
    assert isinstance(meta2, Meta) and meta2.sha == meta.sha


def test_remote_project_over_git_daemon(registry: Path, served: tuple[Path, str]) -> None:
    path, url = served
    sha = tag(path, "v1")
    link = api.link("models/rf", source_project=url, rev="v1", target="remote", pin=True)
    assert (link.project, link.rev, link.pinned_from) == (url, sha, "v1")
    text = (registry / "remote.mlem").read_text()
    assert f"project: {url}\n" in text
    entries = api.show(resolve=True).entries
    assert (entries[0].kind, entries[0].sha) == ("pin", sha)


def test_remote_default_branch_is_learned(registry: Path, git_daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_project

    name = f"{tmp_path.name}-trunk"
    make_project(git_daemon.base / name, branch="trunk")
    link = api.link("models/rf", source_project=git_daemon.url(name), target="t")
    assert link.rev == "trunk"


def test_credentials_never_written(registry: Path, served: tuple[Path, str]) -> None:
    path, url = served
    secret_url = url.replace("git://", "git://user:s3cret@")
    link = api.link("models/rf", source_project=secret_url, target="s")
    text = (registry / "s.mlem").read_text()
    assert "s3cret" not in text and link.project == url


def test_source_made_with_pytest_git(registry: Path, git_repo) -> None:  # type: ignore[no-untyped-def]
    """pytest-git's repository fixture as a source project."""
    ws = Path(git_repo.workspace)
    (ws / ".mlem.yaml").write_text("")
    (ws / "models").mkdir()
    (ws / "models" / "net.mlem").write_text(MODEL)
    git_repo.api.index.add([".mlem.yaml", "models/net.mlem"])
    git_repo.api.index.commit("a model")
    branch = git_repo.api.active_branch.name
    link = api.link("models/net", source_project=str(ws), target="net")
    assert (link.rev, link.link_type) == (branch, "model")


def test_bare_registry_show_reads_head_and_link_is_refused(
    tmp_path: Path, registry: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr.errors import RegistryError

    api.link("models/rf", source_project=str(project), target="m", absolute=True)
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry), str(bare))
    result = api.show(str(bare))
    assert [e.name for e in result.entries] == ["m"]
    assert [e.name for e in api.show(str(bare), stage="dev").entries] == ["m"]
    assert api.show(str(bare), stage="staging").entries == ()
    with pytest.raises(RegistryError, match="bare"):
        api.link("models/rf", source_project=str(project), target="n", target_project=str(bare))


def test_show_without_resolve_does_not_fetch(registry: Path, served: tuple[Path, str]) -> None:
    _, url = served
    (registry / "r.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {url}\nrev: main\n"
    )
    (entry,) = api.show().entries
    assert entry.kind == "ref" and entry.sha is None
    (entry,) = api.show(resolve=True).entries
    assert entry.kind == "branch" and entry.sha
    # now cached: the kind is known without fetching
    assert api.show().entries[0].kind == "branch"


def test_show_resolve_reports_broken_link_as_problem(registry: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), target="m")
    (registry / "gone.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: nope\n"
    )
    result = api.show(resolve=True)
    assert [e.name for e in result.entries] == ["gone", "m"]
    (problem,) = result.problems
    assert (problem.file, problem.line) == ("gone.mlem", 5) and "nope not found" in problem.message


@pytest.fixture
def churn_linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn"], "staging")
    return registry


def test_link_force_keeps_the_owners_params(churn_linked: Path, project: Path) -> None:
    f = churn_linked / "churn.mlem"
    f.write_text(f.read_text() + "params:\n  owner: alice\n")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True, pin=True)
    link = linkfile.load_link(f.read_bytes(), "churn.mlem")
    assert link.params == {"owner": "alice", "pinned_from": "v1.0.0"}
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="churn", force=True)
    assert linkfile.load_link(f.read_bytes(), "churn.mlem").params == {"owner": "alice"}
