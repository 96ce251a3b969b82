"""Project locations: monorepo sub-folders, hosting web URLs, non-git URIs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr import api, locations
from mr.errors import ProjectNotFound
from mr.locations import Location, NotGitProject
from tests.conftest import GitDaemon
from tests.helpers import MODEL, commit, git, make_project


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("https://github.com/acme/mono", Location("https://github.com/acme/mono", "")),
        ("https://github.com/acme/mono.git/", Location("https://github.com/acme/mono", "")),
        ("https://github.com/acme/mono/ml", Location("https://github.com/acme/mono", "ml")),
        ("https://github.com/acme/mono/ml/sub/", Location("https://github.com/acme/mono", "ml/sub")),
        (
            "https://github.com/acme/mono/tree/main/ml",
            Location("https://github.com/acme/mono", "", ("main", "ml")),
        ),
        (
            "https://gitlab.com/group/sub/mono/-/tree/main/ml",
            Location("https://gitlab.com/group/sub/mono", "", ("main", "ml")),
        ),
        ("https://gitlab.com/group/sub/mono", Location("https://gitlab.com/group/sub/mono", "")),
        ("https://gitlab.com/group/sub/mono.git", Location("https://gitlab.com/group/sub/mono", "")),
        (
            "https://bitbucket.org/acme/mono/src/v1/ml",
            Location("https://bitbucket.org/acme/mono", "", ("v1", "ml")),
        ),
        ("https://bitbucket.org/acme/mono/ml", Location("https://bitbucket.org/acme/mono", "ml")),
        # not a hosting site: a plain git remote, whatever its path
        ("https://git.example/acme/mono/ml", Location("https://git.example/acme/mono/ml", "")),
        ("git://host/mono/tree/main", Location("git://host/mono/tree/main", "")),
        ("git@github.com:acme/mono.git", Location("git@github.com:acme/mono.git", "")),
        ("ssh://git@github.com/acme/mono", Location("ssh://git@github.com/acme/mono", "")),
        ("https://GitHub.com/acme/mono/tree/v2", Location("https://GitHub.com/acme/mono", "", ("v2",))),
    ],
)
def test_parse(spec: str, expected: Location) -> None:
    assert locations.parse(spec) == expected


def test_declared_hosts() -> None:
    spec = "https://git.corp.example/team/sub/mono/-/tree/main/ml"
    assert locations.parse(spec) == Location(spec, "")
    assert locations.parse(spec, {"git.corp.example": "gitlab"}) == Location(
        "https://git.corp.example/team/sub/mono", "", ("main", "ml")
    )
    assert locations.parse("https://ghe.corp/acme/mono/ml", {"ghe.corp": "github"}).subdir == "ml"


@pytest.mark.parametrize("spec", ["s3://bucket/p", "gs://b/p", "az://c/p", "hdfs://x/y", "azure://a/b"])
def test_non_git_uris_are_refused(spec: str) -> None:
    with pytest.raises(NotGitProject, match="git projects only"):
        locations.parse(spec)


@pytest.mark.parametrize("spec", ["https://github.com/acme/mono/../../etc", "https://github.com/acme/mono/tree"])
def test_bad_hosting_urls(spec: str) -> None:
    with pytest.raises(ProjectNotFound):
        locations.parse(spec)


def test_split_rev_prefers_the_longest_ref() -> None:
    refs = ["main", "release", "release/1.0", "v1"]
    assert locations.split_rev("s", ("release", "1.0", "ml"), refs) == ("release/1.0", "ml")
    assert locations.split_rev("s", ("release", "ml"), refs) == ("release", "ml")
    assert locations.split_rev("s", ("main",), refs) == ("main", "")
    # a SHA, or a rev that does not exist: the first part, reported later
    assert locations.split_rev("s", ("abc1234", "ml", "x"), refs) == ("abc1234", "ml/x")


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    """A monorepo: a MLEM project in ml/, a service beside it."""
    root = tmp_path / "mono"
    make_project(root, {"service/app.py": "print()\n", "ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL})
    return root


def test_local_subfolder_project(registry: Path, mono: Path, mr) -> None:  # type: ignore[no-untyped-def]
    link = api.link("models/rf", source_project=str(mono / "ml"), target="rf")
    assert (link.project, link.path, link.rev) == ("../mono/ml", "models/rf.mlem", "main")
    assert (registry / "rf.mlem").read_text() == (
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../mono/ml\nrev: main\n"
    )
    r = mr("verify")
    assert (r.code, r.out.strip()) == (0, "ok: 1 link checked, 0 failed\npolicy: dev (the checked-out branch)")
    meta = api.load_meta(str(registry / "rf.mlem"))
    assert getattr(meta, "object_type", None) == "model"


def test_subfolder_path_cannot_leave_the_project(registry: Path, mono: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "out.mlem").write_text(
        "link_type: model\nobject_type: link\npath: ../service/app.py\nproject: ../mono/ml\nrev: main\n"
    )
    r = mr("verify")
    assert r.code == 1
    assert r.out.splitlines()[0] == "out.mlem:3: error: path ../service/app.py: escapes its project with .."


def test_subfolder_path_is_relative_to_the_project_not_the_repository(
    registry: Path,
    mono: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    commit(mono, {"models/rf.mlem": MODEL.replace("model", "data")})  # a decoy at the repository root
    (registry / "rf.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../mono/ml\nrev: main\n"
    )
    r = mr("verify")
    assert (r.code, r.out.strip()) == (0, "ok: 1 link checked, 0 failed\npolicy: dev (the checked-out branch)")


def test_folder_in_no_repository(registry: Path, tmp_path: Path) -> None:
    (tmp_path / "plain" / "ml").mkdir(parents=True)
    with pytest.raises(ProjectNotFound, match="not inside a git repository"):
        api.link("models/rf", source_project=str(tmp_path / "plain" / "ml"), target="x")
    assert not (registry / "x.mlem").exists()


def test_s3_project_is_one_line_naming_the_file(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "cloud.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: s3://bucket/p\nrev: main\n"
    )
    r = mr("verify")
    assert r.code == 1
    lines = [ln for ln in r.out.splitlines() if "cloud.mlem" in ln]
    assert len(lines) == 1 and "git projects only" in lines[0] and "invalid argument" not in lines[0]
    r = mr("link", "--sp", "s3://bucket/p", "models/rf", "other")
    assert r.code == 1 and "git projects only" in r.err
    assert not (registry / "other.mlem").exists()


@pytest.fixture
def hosted(git_daemon: GitDaemon, tmp_path: Path, isolated_git: Path) -> str:
    """``https://github.com/acme/`` mapped onto the local git daemon with url.insteadOf, as users do."""
    name = f"mono-{tmp_path.name}"
    make_project(
        git_daemon.base / name,
        {"ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL, "service/app.py": "print()\n"},
    )
    root = git_daemon.base / name
    git(root, "branch", "release/1.0")
    commit(root, {"ml/models/rf.mlem": MODEL + "# v2\n"})
    git(isolated_git, "config", "--global", f"url.{git_daemon.url('')}.insteadOf", "https://github.com/acme/")
    return name


@pytest.mark.parametrize(
    "project, rev, expected_rev",
    [
        ("https://github.com/acme/{name}/tree/main/ml", None, "main"),
        ("https://github.com/acme/{name}/tree/release/1.0/ml", None, "release/1.0"),
        ("https://github.com/acme/{name}/ml", "main", "main"),
        ("https://github.com/acme/{name}/ml", None, "main"),
    ],
)
def test_hosting_urls_through_insteadof(
    registry: Path,
    hosted: str,
    project: str,
    rev: str | None,
    expected_rev: str,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    spec = project.format(name=hosted)
    link = api.link("models/rf", source_project=spec, rev=rev, target="rf")
    assert (link.project, link.path, link.rev) == (spec, "models/rf.mlem", expected_rev)
    r = mr("verify")
    assert (r.code, r.out.strip()) == (0, "ok: 1 link checked, 0 failed\npolicy: dev (the checked-out branch)")


def test_rev_field_wins_over_the_url_rev(registry: Path, hosted: str, mr) -> None:  # type: ignore[no-untyped-def]
    spec = f"https://github.com/acme/{hosted}/tree/main/ml"
    old = api.link("models/rf", source_project=spec, rev="release/1.0", target="rf", pin=True)
    new = api.link("models/rf", source_project=spec, target="rf2", pin=True)
    assert old.rev != new.rev and old.params["pinned_from"] == "release/1.0"


def test_two_projects_in_one_repository_fetch_it_once(
    registry: Path, hosted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mr import cache

    calls: list[str] = []
    real = cache.fetch
    monkeypatch.setattr(cache, "fetch", lambda u, **kw: calls.append(u) or real(u, **kw))
    for i, spec in enumerate(
        [f"https://github.com/acme/{hosted}/ml", f"https://github.com/acme/{hosted}/tree/main/ml"]
    ):
        (registry / f"l{i}.mlem").write_text(
            f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\nrev: main\n"
        )
    report = api.verify()
    assert report.ok and len(report.checks) == 2
    assert calls == [f"https://github.com/acme/{hosted}"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        # local paths are the folder as written, for mr.projects to find the repository of
        ("../models", Location("../models", "", remote=False)),
        ("/srv/models/ml", Location("/srv/models/ml", "", remote=False)),
        # too short to name a repository on a hosting site: a plain git remote
        ("https://github.com/acme", Location("https://github.com/acme", "")),
        ("https://gitlab.com/acme", Location("https://gitlab.com/acme", "")),
        ("https://gitlab.com/acme/-/tree/main", Location("https://gitlab.com/acme/-/tree/main", "")),
        ("https://gitlab.com/acme/mono", Location("https://gitlab.com/acme/mono", "")),
        ("https://gitlab.com/acme/churn-model.git", Location("https://gitlab.com/acme/churn-model", "")),
        ("https://gitlab.com/a/b/c/mono/-/tree/v1", Location("https://gitlab.com/a/b/c/mono", "", ("v1",))),
        ("https://bitbucket.org/acme", Location("https://bitbucket.org/acme", "")),
        # a query or a fragment: not a web page of the repository, leave it to git
        ("https://github.com/acme/mono/ml?x=1", Location("https://github.com/acme/mono/ml?x=1", "")),
        ("https://github.com/acme/mono/ml#top", Location("https://github.com/acme/mono/ml#top", "")),
        # a '://' later in the URL does not change the scheme
        ("https://github.com/acme/mono/ml/x://y", Location("https://github.com/acme/mono", "ml/x:/y")),
        ("HTTPS://github.com/acme/churn-model.git", Location("https://github.com/acme/churn-model", "")),
        ("http://github.com/acme/churn-model.git/ml", Location("http://github.com/acme/churn-model", "ml")),
        ("https://github.com/acme/mono/./ml/.", Location("https://github.com/acme/mono", "ml")),
        ("https://github.com/acme/mono/.", Location("https://github.com/acme/mono", "")),
        ("https://github.com/acme/mono/ml/../svc", Location("https://github.com/acme/mono", "svc")),
    ],
)
def test_parse_edges(spec: str, expected: Location) -> None:
    assert locations.parse(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "https://bob:s3cret@github.com/acme/mono/tree",
            "project https://bob:***@github.com/acme/mono/tree: /tree/ must be followed by a rev",
        ),
        (
            "https://bitbucket.org/acme/mono/src",
            "project https://bitbucket.org/acme/mono/src: /src/ must be followed by a rev",
        ),
        (
            "https://gitlab.com/acme/mono/-/blob/main/x",
            "project https://gitlab.com/acme/mono/-/blob/main/x: only /-/tree/REV[/SUBDIR] URLs name a GitLab folder",
        ),
        (
            "https://gitlab.com/acme/mono/-/tree",
            "project https://gitlab.com/acme/mono/-/tree: only /-/tree/REV[/SUBDIR] URLs name a GitLab folder",
        ),
        (
            "https://github.com/acme/mono/..",
            "project https://github.com/acme/mono/..: the folder leaves the repository",
        ),
        (
            "https://github.com/acme/mono/ml/../..",
            "project https://github.com/acme/mono/ml/../..: the folder leaves the repository",
        ),
        (
            "s3://key:secret@bucket/p",
            "project s3://key:***@bucket/p: mr follows links into git projects only "
            "(s3:// is not a git URL; MLEM objects kept elsewhere are not supported)",
        ),
    ],
)
def test_refusals_say_exactly_why(spec: str, message: str) -> None:
    with pytest.raises(ProjectNotFound) as e:
        locations.parse(spec)
    assert e.value.message == message


def test_a_declared_host_of_an_unknown_kind_is_ignored() -> None:
    spec = "https://git.corp.example/acme/mono/ml"
    assert locations.parse(spec, {"git.corp.example": "sourcehut"}) == Location(spec, "")
    assert locations.parse(spec, {"GIT.corp.example": "github"}) == Location("https://git.corp.example/acme/mono", "ml")


def test_split_rev_subfolders_are_normalised_and_checked() -> None:
    refs = ["main"]
    assert locations.split_rev("s", ("main", ".", "ml", "."), refs) == ("main", "ml")
    assert locations.split_rev("s", ("main", "."), refs) == ("main", "")
    with pytest.raises(ProjectNotFound, match="^project s: the folder leaves the repository$"):
        locations.split_rev("s", ("main", "..", "x"), refs)
    with pytest.raises(ProjectNotFound, match="^project t: the folder leaves the repository$"):
        locations.split_rev("t", ("nope", ".."), refs)


# --- an object's web URL as the source of mr link, as MLEM takes it ----------------------------


@pytest.mark.parametrize(
    ("url", "project", "path", "rev"),
    [
        (
            "https://github.com/acme/{n}/tree/main/ml/models/rf",
            "https://github.com/acme/{n}/tree/main/ml",
            "models/rf.mlem",
            "main",
        ),
        (
            "https://github.com/acme/{n}/blob/main/ml/models/rf.mlem",
            "https://github.com/acme/{n}/tree/main/ml",
            "models/rf.mlem",
            "main",
        ),
        (
            "https://github.com/acme/{n}/tree/release/1.0/ml/models/rf",
            "https://github.com/acme/{n}/tree/release/1.0/ml",
            "models/rf.mlem",
            "release/1.0",
        ),
        (
            "https://gitlab.com/acme/{n}/-/tree/main/ml/models/rf",
            "https://gitlab.com/acme/{n}/-/tree/main/ml",
            "models/rf.mlem",
            "main",
        ),
        (
            "https://gitlab.com/acme/{n}/-/blob/main/ml/models/rf.mlem",
            "https://gitlab.com/acme/{n}/-/tree/main/ml",
            "models/rf.mlem",
            "main",
        ),
        (
            "https://bitbucket.org/acme/{n}/src/main/ml/models/rf",
            "https://bitbucket.org/acme/{n}/src/main/ml",
            "models/rf.mlem",
            "main",
        ),
        ("https://github.com/acme/{n}/tree/main/loose/m", "https://github.com/acme/{n}", "loose/m.mlem", "main"),
    ],
)
def test_an_object_url_is_split_as_mlem_splits_it(  # type: ignore[no-untyped-def]
    registry: Path,
    hosted: str,
    git_daemon: GitDaemon,
    isolated_git: Path,
    url: str,
    project: str,
    path: str,
    rev: str,
    mr,
) -> None:
    commit(git_daemon.base / hosted, {"loose/m.mlem": MODEL})  # outside any MLEM project folder
    for site in ("https://gitlab.com/acme/", "https://bitbucket.org/acme/"):
        git(isolated_git, "config", "--global", "--add", f"url.{git_daemon.url('')}.insteadOf", site)
    r = mr("link", url.format(n=hosted), "rf")
    assert r.code == 0, r.err
    text = (registry / "rf.mlem").read_text()
    assert f"project: {project.format(n=hosted)}\n" in text and f"path: {path}\n" in text and f"rev: {rev}\n" in text
    r = mr("verify")
    assert r.code == 0, r.out + r.err


@pytest.mark.parametrize(
    ("url", "args", "said", "code"),
    [
        ("https://github.com/acme/{n}/tree/main/ml/models/nope", (), "not found", 1),
        ("https://user:hunter2@github.com/acme/{n}/tree/main/ml/models/nope", (), "not found", 1),
        ("https://github.com/acme/{n}/tree/nobranch/ml/models/rf", (), "not found", 1),
        # usage errors (exit 2): what was typed cannot name an object
        ("https://github.com/acme/{n}/tree/main", (), "names no object after the rev main", 2),
        ("https://github.com/acme/{n}/tree/main/ml/models/rf", ("--rev", "main"), "the URL names the rev", 2),
        ("https://example.com/acme/{n}/models/rf", (), "nor the web URL of an object", 2),
        ("https://github.com/acme/{n}", (), "nor the web URL of an object", 2),
    ],
)
def test_an_object_url_that_names_no_object_is_refused_as_typed(  # type: ignore[no-untyped-def]
    registry: Path, hosted: str, url: str, args: tuple[str, ...], said: str, code: int, mr
) -> None:
    typed = url.format(n=hosted)
    r = mr("link", typed, "rf", *args)
    assert r.code == code, (r.out, r.err)
    line = r.err.strip().splitlines()[-1]
    assert said in line and "--sp REPOSITORY" in line, line
    assert "hunter2" not in r.err
    assert (
        line.startswith(f"mr: error: {typed.replace('hunter2', '***')}")
        or typed.replace("user:hunter2", "user:***") in line
    )
    assert not (registry / "rf.mlem").exists()
