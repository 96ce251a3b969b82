"""mr show: one value for scripts (--field), the stage diff, names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api
from tests.helpers import git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    api.link("models/rf", source_project=str(project), rev="v1.0.0", target="fraud")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn", "fraud"], "staging")
    return registry


@pytest.fixture
def churn_linked(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    api.link("models/rf", source_project=str(project), target="churn")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    api.promote(["churn"], "staging")
    return registry


def test_fields(linked: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    head = git(project, "rev-parse", "HEAD")
    values = {
        f: mr("show", "churn", "--stage", "staging", "--field", f).out
        for f in ("rev", "sha", "project", "path", "url", "type")
    }
    assert values == {
        "rev": "main\n",
        "sha": f"{head}\n",
        "project": "../models\n",
        "path": "models/rf.mlem\n",
        "url": f"file://{project}\n",
        "type": "model\n",
    }
    assert mr("show", "fraud", "--stage", "staging", "--field", "rev").out == "v1.0.0\n"
    r = mr("show", "nope", "--stage", "staging", "--field", "rev")
    assert r.code == 1 and r.out == "" and "no such link" in r.err
    r = mr("show", "churn", "--stage", "production", "--field", "rev")
    assert r.code == 1 and "no such link" in r.err
    r = mr("show", "churn", "--stage", "qa", "--field", "rev")
    assert r.code == 1 and "no branch qa" in r.err
    assert mr("show", "--field", "rev").code == 2
    assert mr("show", "churn", "--field", "colour").code == 2


def test_field_url_strips_credentials(registry: Path, served: tuple[Path, str], mr) -> None:  # type: ignore[no-untyped-def]
    _, url = served
    secret = url.replace("git://", "git://bob:hunter2@")
    (registry / "r.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {secret}\nrev: main\n"
    )
    r = mr("show", "r", "--field", "url")
    assert r.out == f"{url}\n"


def test_diff_shows_params_and_field_name_changes(churn_linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    text = git(churn_linked, "show", "dev:churn.mlem")
    (churn_linked / "churn.mlem").write_text(text.replace("project:", "repo:") + "\nparams:\n  owner: alice\n")
    git(churn_linked, "commit", "-qam", "repo field")
    r = mr("show", "--diff", "staging", "dev", "--patch")
    assert "+   params: owner=alice" in r.out and "+   field: repo" in r.out
    r = mr("show", "--diff", "staging", "dev")
    assert r.out.splitlines()[1] == "  churn: main -> main (params (none) -> owner=alice; field project -> repo)"


def test_empty_name_and_alias_rev(churn_linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "").code == 2
    api.link("churn", target="best", follow_links=False)
    assert mr("show", "best", "--field", "rev").out == "dev\n"


def test_field_reads_a_self_hosted_web_url_with_the_stage_hosts(
    registry: Path,
    git_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    isolated_git: Path,
    mr,
) -> None:
    """--stage S reads S's own hosts: (the work tree's .mr.yaml declares none)."""
    from tests.helpers import commit, self_hosted

    name = f"mono-{tmp_path.name}"
    spec = self_hosted(git_daemon, isolated_git, name)
    git(registry, "checkout", "-q", "staging")
    config = (registry / ".mr.yaml").read_text() + "hosts: {git.corp.example: gitlab}\n"
    link = f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\n"
    commit(registry, {".mr.yaml": config, "rf.mlem": link}, "a self-hosted project")
    git(registry, "checkout", "-q", "dev")
    main = git(git_daemon.base / name, "rev-parse", "main")
    for field, value in (("rev", "main"), ("sha", main)):
        r = mr("show", "rf", "--stage", "staging", "--field", field)
        assert (r.code, r.out, r.err) == (0, f"{value}\n", "")


def test_field_of_a_remote_registry_naming_a_local_project(
    registry: Path,
    project: Path,
    git_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    mr,
) -> None:
    """rev and sha never open a local project a --registry URL names, unless --allow-local-projects."""
    (registry / "local.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {project}\n"
    )
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "a local project")
    served = git_daemon.base / f"{tmp_path.name}-registry.git"
    git(registry, "clone", "-q", "--bare", str(registry), str(served))
    url = git_daemon.url(served.name)
    for field in ("rev", "sha"):
        r = mr("show", "local", "--field", field, "--stage", "dev", "--registry", url)
        assert (r.code, r.out, r.err) == (
            1,
            "",
            f"mr: error: dev:local.mlem names the local project {project}, but it came from a remote, which may not "
            "name paths on this machine (--allow-local-projects trusts it)\n",
        )
    head = git(project, "rev-parse", "HEAD")
    for field, value in (("rev", "main"), ("sha", head), ("path", "models/rf.mlem")):
        r = mr("show", "local", "--field", field, "--stage", "dev", "--registry", url, "--allow-local-projects")
        assert (r.code, r.out, r.err) == (0, f"{value}\n", "")


def test_resolve_reads_a_self_hosted_web_url_with_the_stage_hosts(
    registry: Path,
    git_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    isolated_git: Path,
) -> None:
    """show --stage S --resolve reads S's own hosts: (the work tree's .mr.yaml declares none)."""
    from tests.helpers import commit, self_hosted

    name = f"mono-{tmp_path.name}"
    spec = self_hosted(git_daemon, isolated_git, name)
    git(registry, "checkout", "-q", "staging")
    config = (registry / ".mr.yaml").read_text() + "hosts: {git.corp.example: gitlab}\n"
    link = f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\n"
    commit(registry, {".mr.yaml": config, "rf.mlem": link}, "a self-hosted project")
    git(registry, "checkout", "-q", "dev")
    result = api.show(stage="staging", resolve=True)
    main = git(git_daemon.base / name, "rev-parse", "main")
    assert [(e.name, e.kind, e.sha) for e in result.entries] == [("rf", "branch", main)]
    assert result.problems == ()
