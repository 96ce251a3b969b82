"""Interoperability with real MLEM 0.4.14, both ways.

mr writes links with its own API and MLEM's ``load_meta`` reads them; MLEM
writes links with ``mlem.api.link`` and mr reads them. MLEM runs in its own
interpreter, named by MR_MLEM_PYTHON; without it these tests are skipped.
Each test starts MLEM once (about a second) for all of its files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mr import api, linkfile
from mr.model import Link, Meta
from tests.helpers import MODEL, commit, git, tag

# The autouse fixture in conftest removes MR_* variables while a test runs:
# read it at import time.
MLEM_PYTHON = os.environ.get("MR_MLEM_PYTHON")

pytestmark = [
    pytest.mark.mlem,
    pytest.mark.skipif(not MLEM_PYTHON, reason="MR_MLEM_PYTHON names no MLEM interpreter"),
]

FIXTURES = Path(__file__).parent / "fixtures" / "mlem-0.4.14"

#: Tags whose names YAML would read as something else unless quoted.
TRICKY_REVS = ["1234567", "2024-01-01", "1e10", "0123", "yes", "1_000", "0x1f", "1.0", "null", "0_9"]

LOAD_SCRIPT = r"""
import json, sys
import yaml
from mlem.api import load_meta

out = []
for path, follow in json.load(sys.stdin):
    with open(path) as f:
        raw = yaml.safe_load(f)  # as MLEM parses it, before pydantic coerces values
    yaml_types = {k: type(v).__name__ for k, v in raw.items()}
    try:
        meta = load_meta(path, follow_links=follow)
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
        continue
    item = {"type": type(meta).__name__, "object_type": meta.object_type}
    if not follow:
        item["yaml_types"] = yaml_types
    for field in ("path", "project", "rev", "link_type", "params"):
        if hasattr(meta, field):
            value = getattr(meta, field)
            item[field] = value if value is None or isinstance(value, (str, dict)) else repr(value)
    out.append(item)
json.dump(out, sys.stdout)
"""

LINK_SCRIPT = r"""
from mlem.api import link
link("models/rf", target="latest")
link("latest.mlem", target="chained", follow_links=False)
link("models/rf", target="links/nested")
link("models/rf", target="abs", absolute=True)
"""


def run_mlem(script: str, cwd: Path, stdin: str = "") -> str:
    assert MLEM_PYTHON
    env = dict(os.environ, MLEM_NO_ANALYTICS="true", MLEM_TESTS="true")
    done = subprocess.run(
        [MLEM_PYTHON, "-c", script],
        input=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def mlem_load(cwd: Path, requests: list[tuple[Path, bool]]) -> list[dict[str, Any]]:
    """What MLEM's load_meta sees in each file, in one MLEM process."""
    out = run_mlem(LOAD_SCRIPT, cwd, json.dumps([[str(p), follow] for p, follow in requests]))
    result: list[dict[str, Any]] = json.loads(out)
    return result


def as_mlem_sees_it(link: Link) -> dict[str, Any]:
    return {
        "type": "MlemLink",
        "object_type": "link",
        "path": link.path,
        "project": link.project,
        "rev": link.rev,
        "link_type": link.link_type,
        "params": dict(link.params),
        # PyYAML itself read every field as a string (pydantic would coerce 1234567)
        "yaml_types": {key: "dict" if isinstance(value, dict) else "str" for key, value in link.to_dict().items()},
    }


def test_mlem_reads_the_links_mr_writes(registry: Path, project: Path) -> None:
    main_sha = git(project, "rev-parse", "HEAD")
    git(project, "branch", "5-deploy-meta")
    tag_sha = tag(project, "v1.2.0")
    for rev in TRICKY_REVS:
        tag(project, rev, annotated=False)
    commit(registry, {"models/rf.mlem": MODEL}, "a model kept in the registry")

    src = str(project)
    api.link("models/rf", source_project=src, target="plain")
    api.link("models/rf", source_project=src, rev="5-deploy-meta", target="branch")
    api.link("models/rf", source_project=src, rev="v1.2.0", target="tag")
    for i, rev in enumerate(TRICKY_REVS):
        api.link("models/rf", source_project=src, rev=rev, target=f"tricky/{i}")
    api.link("models/rf", source_project=src, rev="main", target="pinned-branch", pin=True)
    api.link("models/rf", source_project=src, rev="v1.2.0", target="pinned-tag", pin=True)
    api.link("models/rf", source_project=src, target="absolute", absolute=True)
    api.link("models/rf", target="alias", target_project=str(registry))
    # a hand-edited file that mr rewrites in place (comments, quoting kept)
    (registry / "edited.mlem").write_text(
        "# the churn model\nlink_type: model  # a model\nobject_type: link\n"
        "path: 'models/rf.mlem'\nproject: ../models\nrev: \"main\"\n"
    )
    api.link("models/rf", source_project=src, rev="main", target="edited", pin=True, force=True)
    # the repo: field of MLEM 0.2, which 0.4 no longer reads
    (registry / "old-repo.mlem").write_bytes(
        linkfile.dump_new(
            Link(link_type="model", path="models/rf.mlem", project="../models", rev="main", project_field="repo")
        )
    )

    names = [
        "plain",
        "branch",
        "tag",
        *[f"tricky/{i}" for i in range(len(TRICKY_REVS))],
        "pinned-branch",
        "pinned-tag",
        "absolute",
        "alias",
        "edited",
    ]
    files = {name: registry / f"{name}.mlem" for name in names}
    ours = {name: linkfile.load_link(path.read_bytes(), path.name) for name, path in files.items()}
    requests = [(path, False) for path in files.values()]
    requests += [(registry / "alias.mlem", True), (registry / "old-repo.mlem", False)]
    seen = mlem_load(registry, requests)
    theirs = dict(zip(names, seen, strict=False))
    alias_followed, old_repo = seen[len(names) :]

    for name in names:
        assert theirs[name] == as_mlem_sees_it(ours[name]), name

    assert theirs["plain"]["rev"] == "main" and theirs["plain"]["project"] == "../models"
    assert theirs["branch"]["rev"] == "5-deploy-meta"
    assert theirs["tag"]["rev"] == "v1.2.0"
    for i, rev in enumerate(TRICKY_REVS):
        assert theirs[f"tricky/{i}"]["rev"] == rev
        assert theirs[f"tricky/{i}"]["yaml_types"]["rev"] == "str"
    assert theirs["pinned-branch"]["rev"] == main_sha
    assert theirs["pinned-branch"]["params"] == {"pinned_from": "main"}
    assert theirs["pinned-tag"]["rev"] == tag_sha
    assert theirs["pinned-tag"]["params"] == {"pinned_from": "v1.2.0"}
    assert theirs["absolute"]["project"] == str(project)
    assert theirs["alias"]["project"] is None and theirs["alias"]["rev"] is None
    assert theirs["edited"]["rev"] == main_sha
    assert theirs["edited"]["params"] == {"pinned_from": "main"}
    assert (registry / "edited.mlem").read_text().startswith("# the churn model\nlink_type: model  # a model\n")

    assert alias_followed["type"] == "MlemModel"
    assert alias_followed["object_type"] == "model"
    # MLEM 0.4 rejects the old field: why link_format defaults to project
    assert "error" in old_repo and "repo" in old_repo["error"]


def test_mr_reads_the_links_mlem_writes(project: Path) -> None:
    run_mlem(LINK_SCRIPT, project)
    written = {
        "latest.mlem": "models/rf.mlem",
        "chained.mlem": "latest.mlem",
        "links/nested.mlem": "models/rf.mlem",
        "abs.mlem": "models/rf.mlem",
    }
    for name, path in written.items():
        data = (project / name).read_bytes()
        if name != "abs.mlem":
            # the checked-in fixtures are still what MLEM 0.4.14 writes
            assert data == (FIXTURES / name).read_bytes(), name
        got = linkfile.load(data, name)
        assert isinstance(got, Link)
        assert got.link_type == "model" and got.path == path and got.rev is None
        assert got.project_field == "project" and dict(got.params) == {}
        # mr rewriting a MLEM file with nothing changed keeps it byte for byte
        assert linkfile.dump_update(data, name, got) == data

        full = str(project / name)
        assert api.load_meta(full, follow_links=False) == got
        assert api.load_meta(full[: -len(".mlem")], follow_links=False) == got
        meta = api.load_meta(full)
        assert isinstance(meta, Meta), name
        assert meta.object_type == "model" and meta.path == "models/rf.mlem"

    absolute = linkfile.load_link((project / "abs.mlem").read_bytes(), "abs.mlem")
    assert absolute.project == f"file://{project}/"
    assert linkfile.load_link((project / "latest.mlem").read_bytes(), "latest.mlem").is_alias


def test_mlem_reads_links_into_a_monorepo_subfolder(registry: Path, tmp_path: Path) -> None:
    from tests.helpers import make_project

    mono = make_project(
        tmp_path / "mono", {"ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL, "service/app.py": "print()\n"}
    )
    link = api.link("models/rf", source_project=str(mono / "ml"), target="sub")
    pinned = api.link("models/rf", source_project=str(mono / "ml"), target="sub-pinned", pin=True)
    assert (link.project, link.path, link.rev) == ("../mono/ml", "models/rf.mlem", "main")
    assert pinned.rev == git(mono, "rev-parse", "HEAD") and pinned.params == {"pinned_from": "main"}
    # MLEM reads both files as the links mr means: the project is the sub-folder,
    # the path is relative to it (following them is left to MLEM's resolvers,
    # which in 0.4.14 do not take a local project with a rev)
    seen = mlem_load(registry, [(registry / "sub.mlem", False), (registry / "sub-pinned.mlem", False)])
    assert seen == [as_mlem_sees_it(link), as_mlem_sees_it(pinned)]
