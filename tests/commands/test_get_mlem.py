"""mr get against real MLEM 0.4.14: a model MLEM saved, promoted, fetched by mr, loaded back by MLEM.

MLEM runs in its own interpreter, named by MR_MLEM_PYTHON; without it this is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mr import api
from mr.model import RECEIPT
from tests.commands.test_get_dvc import DVC, dvc
from tests.helpers import git

MLEM_PYTHON = os.environ.get("MR_MLEM_PYTHON")

pytestmark = [
    pytest.mark.mlem,
    pytest.mark.skipif(not MLEM_PYTHON, reason="MR_MLEM_PYTHON names no MLEM interpreter"),
]

SAVE = r"""
from mlem.api import save

def double(x):
    return x * 2

save(double, "models/double", sample_data=3)
"""

LOAD = r"""
import json, sys
from mlem.api import load
model = load(sys.argv[1])
print(json.dumps(model(21)))
"""


def run_mlem(script: str, cwd: Path, *args: str) -> str:
    assert MLEM_PYTHON
    env = dict(os.environ, MLEM_NO_ANALYTICS="true", MLEM_TESTS="true")
    done = subprocess.run(
        [MLEM_PYTHON, "-c", script, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_model_mlem_saved_is_promoted_fetched_and_loads(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "models"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    (src / ".mlem.yaml").write_text("")
    run_mlem(SAVE, src)
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "a model saved by MLEM")
    sha = git(src, "rev-parse", "HEAD")

    api.link("models/double", source_project="../models", target="double", target_project=str(registry))
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "link double")
    r = mr("promote", "double", "--to", "staging", "--yes", "-q")
    assert r.code == 0, r.err

    elsewhere = tmp_path / "deploy"
    elsewhere.mkdir()
    out = elsewhere / "double"
    r = mr("get", "double", "--stage", "staging", "-o", str(out), "--json")
    assert r.code == 0, r.err
    receipt = json.loads(r.out)
    assert receipt["stage"] == "staging"
    assert receipt["commit"] == sha
    assert receipt["meta"] == "double.mlem"
    assert [f["artifact"] for f in receipt["files"]] == [None, "data.pkl"]
    assert (out / "double").read_bytes() == (src / "models" / "double").read_bytes()
    assert sorted(os.listdir(out)) == [RECEIPT, "double", "double.mlem"]

    # MLEM loads the copy, away from the source project
    assert json.loads(run_mlem(LOAD, elsewhere, str(out / "double"))) == 42
    assert mr("get", "--check", str(out)).code == 0


@pytest.mark.skipif(not DVC, reason="MR_DVC names no dvc executable (.ci/run prepares one)")
def test_a_model_mlem_saved_to_dvc_storage_is_fetched_from_the_dvc_remote_and_loads(
    registry: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    src = tmp_path / "models"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    (src / ".mlem.yaml").write_text("")
    run_mlem(SAVE, src)
    # as MLEM's DVC storage writes it: the artifact's type is dvc, the file is DVC's, not git's
    meta = src / "models" / "double.mlem"
    meta.write_text(meta.read_text().replace("    uri: double\n", "    type: dvc\n    uri: double\n", 1))
    dvc(src, "init", "-q")
    dvc(src, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    dvc(src, "add", "-q", "models/double")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "a model saved by MLEM to DVC storage")
    dvc(src, "push", "-q")
    assert git(src, "ls-files", "models") == "models/.gitignore\nmodels/double.dvc\nmodels/double.mlem"

    api.link("models/double", source_project="../models", target="double", target_project=str(registry))
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "link double")
    for stage in ("staging", "production"):
        assert mr("promote", "double", "--to", stage, "--yes", "-q").code == 0
    elsewhere = tmp_path / "deploy"
    elsewhere.mkdir()
    out = elsewhere / "double"
    r = mr("get", "double", "--stage", "production", "-o", str(out), "--json")
    assert r.code == 0, r.err
    assert [(f["artifact"], f["source"]) for f in json.loads(r.out)["files"]] == [(None, "git"), ("data.pkl", "dvc")]
    # MLEM loads the copy, with no DVC in its environment
    assert json.loads(run_mlem(LOAD, elsewhere, str(out / "double"))) == 42
    assert mr("get", "--check", str(out)).code == 0
