"""Three clones promoting through one remote at the same moment, round after round.

Every promotion either lands (and is then in the remote's history) or exits
non-zero saying it did not; no clone is left unable to promote; the remote's
repository stays sound. The remote is a real ``git daemon`` taking pushes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mr import api
from tests.conftest import GitDaemon
from tests.helpers import git, tag
from tests.test_shared_remote import clone, origin, push_daemon  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

ROUNDS = 10
LINKS = ("churn", "fraud", "scoring")


def start(clone_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["env", "--default-signal=INT", sys.executable, "-m", "mr", *args],
        cwd=clone_path,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def relink_all(lead: Path, project: Path, rev: str) -> None:
    """dev moves every link to ``rev`` of the project, pushed: something new to promote for each."""
    git(lead, "pull", "-q", "--ff-only", "origin", "dev")
    for name in LINKS:
        api.link("models/rf", source_project=str(project), rev=rev, target=name, force=True, target_project=str(lead))
    git(lead, "commit", "-q", "-am", f"links to {rev}")
    git(lead, "push", "-q", "origin", "dev")


def test_three_clones_promoting_at_once_lose_nothing_and_wedge_nothing(
    origin: str,  # noqa: F811
    push_daemon: GitDaemon,  # noqa: F811
    project: Path,
    tmp_path: Path,
) -> None:
    clones = [clone(origin, tmp_path / f"clone{i}") for i in range(3)]
    lead = clone(origin, tmp_path / "lead")
    landed: list[str] = []
    refused: list[str] = []
    for r in range(ROUNDS):
        rev = f"r{r}"
        tag(project, rev)
        relink_all(lead, project, rev)
        # even rounds: each clone its own link; odd rounds: all three the same link
        names = LINKS if r % 2 == 0 else (LINKS[r % 3],) * 3
        procs = [
            start(c, "promote", name, "--to", "staging", "--push", "origin", "--yes", "--no-verify", "--json")
            for c, name in zip(clones, names, strict=True)
        ]
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert "Traceback" not in err, err
            if p.returncode == 0:
                doc = json.loads(out)
                if doc["commit"] is not None:
                    assert doc["pushed_to"] is not None
                    landed.append(doc["commit"])
            else:
                # a promotion that did not land says so, and leaves its clone as it was
                assert p.returncode == 1 and "error:" in err, err
                refused.append(err)
    git(lead, "fetch", "-q", "origin")
    tip = git(lead, "rev-parse", "origin/staging")
    history = set(git(lead, "rev-list", "--first-parent", tip).split())
    assert set(landed) <= history, "a promotion said it landed but the remote does not have it"
    # the even rounds promoted three different links each: all of them landed
    assert len(landed) >= 3 * ((ROUNDS + 1) // 2)
    assert refused == []
    # no clone is wedged: each promotes once more, and lands
    tag(project, "last")
    relink_all(lead, project, "last")
    for c, name in zip(clones, LINKS, strict=True):
        r = subprocess.run(
            [sys.executable, "-m", "mr", "promote", name, "--to", "staging", "--push", "origin", "--yes"],
            cwd=c,
            capture_output=True,
            text=True,
            check=False,
        )
        assert r.returncode == 0, r.stderr
    bare = push_daemon.base / f"{tmp_path.name}.git"  # the remote, as the origin fixture made it
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=bare, capture_output=True, text=True, check=False)
    assert fsck.returncode == 0, fsck.stderr
