"""A link's version: one rule (``model.version_of``), shown by mr show, its JSON and --field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from mr.model import Link, version_of
from tests.helpers import commit, commit_all, git, tag

SHA = "ac73e2511422" + "0" * 28


@pytest.mark.parametrize(
    ("link", "kwargs", "version"),
    [
        (Link("model", "m.mlem", "p", SHA, {"pinned_from": "v1.1.0"}), {"pinned_kind": "tag"}, "v1.1.0"),
        (Link("model", "m.mlem", "p", SHA, {"pinned_from": "main"}), {"pinned_kind": "branch"}, "main@ac73e2511422"),
        # the project not at hand: a name that reads as a version is taken for a tag
        (Link("model", "m.mlem", "p", SHA, {"pinned_from": "v1.1.0"}), {}, "v1.1.0"),
        (Link("model", "m.mlem", "p", SHA, {"pinned_from": "main"}), {}, "main@ac73e2511422"),
        (Link("model", "m.mlem", "p", "v1.2.0"), {"kind": "tag"}, "v1.2.0"),
        (Link("model", "m.mlem", "p", "main"), {"kind": "branch", "sha": SHA}, "main@ac73e2511422"),
        (Link("model", "m.mlem", "p", "main"), {"kind": "branch"}, "main"),
        (Link("model", "m.mlem", "p", SHA), {"kind": "commit", "tag": "v1.0.0"}, "v1.0.0"),
        (Link("model", "m.mlem", "p", SHA), {"kind": "commit"}, "ac73e2511422"),
        (Link("model", "m.mlem", "p", None), {}, "(default branch)"),
        (Link("model", "m.mlem", "p", None), {"sha": SHA}, "(default branch)@ac73e2511422"),
        (Link("model", "m.mlem", None, None), {}, "(stage)"),
    ],
    ids=[
        "pinned tag",
        "pinned branch",
        "pinned version offline",
        "pinned name offline",
        "tag",
        "branch resolved",
        "branch",
        "commit with a tag",
        "commit",
        "default branch",
        "default branch resolved",
        "alias",
    ],
)
def test_the_version_rule(link: Link, kwargs: dict[str, str], version: str) -> None:
    assert version_of(link, **kwargs) == version


@pytest.fixture
def released(registry: Path, project: Path) -> Path:
    tag(project, "v1.0.0")
    sha = git(project, "rev-parse", "HEAD")
    commit(project, {"models/rf.mlem": "object_type: model\n# v2\n"})
    tag(project, "v1.1.0")
    api.link("models/rf", source_project=str(project), rev="v1.1.0", target="tagged")
    api.link("models/rf", source_project=str(project), rev="main", target="branch")
    api.link("models/rf", source_project=str(project), rev=sha, target="bare")
    api.link("models/rf", source_project=str(project), rev="v1.1.0", target="pinned", pin=True)
    commit_all(registry)
    return registry


def test_show_gives_each_link_its_version(released: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(mr("show", "--json").out)
    versions = {e["name"]: e["version"] for e in data["links"]}
    head = git(project, "rev-parse", "HEAD")
    assert versions == {"bare": "v1.0.0", "branch": "main", "pinned": "v1.1.0", "tagged": "v1.1.0"}
    resolved = {e["name"]: e["version"] for e in json.loads(mr("show", "--json", "--resolve").out)["links"]}
    assert resolved["branch"] == f"main@{head[:12]}"
    r = mr("show")
    assert r.out.splitlines()[0].split()[-1] == "version"


def test_field_version_and_pinned_from(released: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("show", "pinned", "--field", "version").out.strip() == "v1.1.0"
    assert mr("show", "pinned", "--field", "pinned_from").out.strip() == "v1.1.0"
    assert mr("show", "bare", "--field", "version").out.strip() == "v1.0.0"
    r = mr("show", "tagged", "--field", "pinned_from")
    assert r.code == 1 and "not pinned" in r.err


def test_every_json_link_carries_a_version(released: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["pinned"], "staging")
    data = json.loads(mr("show", "--all-stages", "--json").out)
    pinned = next(e for e in data["links"] if e["name"] == "pinned")
    assert pinned["stages"]["staging"]["version"] == "v1.1.0"


def test_get_says_the_version_and_records_it_beside_the_link(released: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    r = mr("get", "pinned", "-o", str(out))
    assert r.code == 0, r.err
    assert r.out.startswith("Wrote pinned v1.1.0 (")
    receipt = json.loads((out / ".mr-get.json").read_text())
    assert receipt["version"] == 1 and receipt["link_version"] == "v1.1.0"


def test_diff_speaks_per_link_in_versions(released: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["pinned", "tagged"], "staging")
    api.promote(["pinned"], "production")
    r = mr("show", "--diff", "staging", "production")
    assert r.code == 0
    assert r.out.splitlines() == [
        "from staging to production:",
        "  tagged: v1.1.0 -> (absent) (model models/rf.mlem in ../models at v1.1.0)",
    ]
    data = json.loads(mr("show", "--diff", "dev", "staging", "--json").out)
    assert data["changes"] and all("version" in (c["from"] or c["to"]) for c in data["changes"])
    r = mr("show", "--stage", "staging", "--patch")
    assert r.code == 2 and "--patch goes with --diff" in r.err


def test_history_speaks_in_versions(released: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["pinned"], "staging")
    data = json.loads(mr("show", "pinned", "--json").out)
    staging = next(e for e in data["history"] if e["stage"] == "staging")
    assert (staging["version_before"], staging["version_after"]) == (None, "v1.1.0")
    assert staging["rev_after"].startswith("v1.1.0@")  # the rev as before, for scripts that read it
    r = mr("show", "pinned")
    assert "(absent) -> v1.1.0" in r.out


def test_show_name_resolve_says_the_latest_version_and_where_it_is(released: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["tagged"], "staging")
    r = mr("show", "tagged", "--resolve")
    assert r.code == 0, r.err
    assert "latest: v1.1.0 (on dev, staging)" in r.out
    commit(project, {"models/rf.mlem": "object_type: model\n# v3\n"})
    tag(project, "v1.3.0")
    tag(project, "other-name")  # no version: never the latest
    r = mr("show", "tagged", "--resolve")
    assert "latest: v1.3.0 (tag in the project, not yet on any stage)" in r.out
    data = json.loads(mr("show", "tagged", "--resolve", "--json").out)
    assert data["latest"] == {"version": "v1.3.0", "on": []}
    assert "latest" not in json.loads(mr("show", "tagged", "--json").out)  # nothing fetched without --resolve
