"""What mr writes loads in real MLEM 0.4.14, and what MLEM writes loads in mr.

Runs when MR_MLEM_PYTHON names an interpreter with mlem==0.4.14 installed
(.ci/run prepares one).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mr import api, linkfile
from mr.model import Link, Meta
from tests.helpers import MODEL, commit, git, tag

MLEM = os.environ.get("MR_MLEM_PYTHON")
pytestmark = [
    pytest.mark.mlem,
    pytest.mark.skipif(not MLEM, reason="MR_MLEM_PYTHON does not name a MLEM 0.4.14 interpreter"),
]

LOAD = """
import json, sys
from mlem.api import load_meta
out = {}
for path, follow in json.loads(sys.argv[1]):
    obj = load_meta(path, follow_links=follow)
    fields = {k: getattr(obj, k, None) for k in ("path", "project", "rev", "link_type", "params")}
    out[path + ("+" if follow else "")] = {"type": type(obj).__name__, **fields}
print(json.dumps(out))
"""


def mlem(code: str, *args: str, cwd: Path) -> str:
    assert MLEM
    env = dict(os.environ, MLEM_NO_ANALYTICS="true", MLEM_DEBUG="false")
    r = subprocess.run([MLEM, "-c", code, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


def test_mlem_loads_what_mr_writes(registry: Path, project: Path) -> None:
    sha = tag(project, "v1.2.0")
    tag(project, "1234567")
    tag(project, "2024-01-01")
    (registry / "models").mkdir()
    (registry / "models" / "rf.mlem").write_text(MODEL)
    written = {
        "plain": api.link("models/rf", source_project=str(project), target="plain"),
        "tagged": api.link("models/rf", source_project=str(project), rev="v1.2.0", target="tagged"),
        "pinned": api.link("models/rf", source_project=str(project), rev="v1.2.0", pin=True, target="pinned"),
        "digits": api.link("models/rf", source_project=str(project), rev="1234567", target="digits"),
        "date": api.link("models/rf", source_project=str(project), rev="2024-01-01", target="date"),
        "url": api.link("models/rf", source_project=f"file://{project}", target="nested/url"),
        "alias": api.link("models/rf", target="alias"),
    }
    files = [[f"{name}.mlem" if name != "url" else "nested/url.mlem", False] for name in written] + [["alias.mlem", True]]
    seen = json.loads(mlem(LOAD, json.dumps(files), cwd=registry))
    for name, link in written.items():
        got = seen[f"{name}.mlem" if name != "url" else "nested/url.mlem"]
        assert got["type"] == "MlemLink"
        assert (got["path"], got["project"], got["rev"], got["link_type"]) == (
            link.path, link.project, link.rev, link.link_type
        ), name
    assert seen["pinned.mlem"]["params"] == {"pinned_from": "v1.2.0"} and seen["pinned.mlem"]["rev"] == sha
    assert seen["digits.mlem"]["rev"] == "1234567" and seen["date.mlem"]["rev"] == "2024-01-01"
    assert seen["alias.mlem+"]["type"] == "MlemModel"


def test_mr_loads_what_mlem_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    commit(root, {".mlem.yaml": "", "models/rf.mlem": MODEL})
    mlem(
        "from mlem.api import link\n"
        "link('models/rf', target='latest')\n"
        "link('latest.mlem', target='chained', follow_links=False)\n"
        "link('models/rf', target='links/nested')\n"
        "print('ok')\n",
        cwd=root,
    )
    monkeypatch.chdir(root)
    for name in ("latest", "chained", "links/nested"):
        data = (root / f"{name}.mlem").read_bytes()
        assert isinstance(linkfile.load_link(data, name), Link)
        assert isinstance(api.load_meta(f"{name}.mlem", follow_links=False), Link)
        meta = api.load_meta(f"{name}.mlem")
        assert isinstance(meta, Meta) and meta.object_type == "model" and meta.path == "models/rf.mlem"
    assert api.load_meta("chained", follow_links=False).path == "latest.mlem"
