from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mr import api
from mr.errors import RegistryError, UsageError
from tests.helpers import commit, commit_all, git, tag


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    """A registry whose dev branch holds links a and b to the project."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    api.link("models/rf", source_project=str(project), rev="v1", target="b")
    commit_all(registry)
    return registry


def show_file(root: Path, branch: str, path: str) -> str:
    return git(root, "show", f"{branch}:{path}")


def test_promote_makes_one_commit_with_trailers(linked: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    before = git(linked, "rev-parse", "staging")
    dev = git(linked, "rev-parse", "dev")
    r = mr("promote", "a", "b", "--to", "staging", "-m", "Weekly release")
    assert r.code == 0, r.err
    assert "Promoted a, b to staging" in r.out and "+++ staging:a.mlem" in r.out
    assert git(linked, "rev-parse", "staging^") == before
    assert show_file(linked, "staging", "a.mlem") == show_file(linked, "dev", "a.mlem")
    message = git(linked, "log", "-1", "--format=%B", "staging")
    head = git(project, "rev-parse", "HEAD")
    assert message.startswith(f"Promote a main@{head[:12]}, b v1 to staging\n\nWeekly release\n")
    trailers = git(linked, "log", "-1", "--format=%(trailers:only,unfold)", "staging")
    assert trailers.splitlines() == [
        f"Mr-From: dev {dev}",
        "Mr-Link: a",
        f"Mr-Rev: main {head}",
        "Mr-Link: b",
        f"Mr-Rev: v1 {head}",
    ]
    # the work tree (dev) was not touched
    assert git(linked, "status", "--porcelain") == ""


def test_from_defaults_to_previous_stage_and_stage_errors(linked: Path) -> None:
    api.promote(["a"], "staging")
    result = api.promote(["a"], "production")
    assert result.plan.source == "staging"
    with pytest.raises(UsageError, match="first stage"):
        api.plan_promotion(["a"], "dev")
    with pytest.raises(UsageError, match="not a stage"):
        api.plan_promotion(["a"], "qa")
    with pytest.raises(RegistryError, match="no link nope on dev"):
        api.plan_promotion(["nope"], "staging")


def test_production_policy_pins(linked: Path, project: Path) -> None:
    api.promote(["a", "b"], "staging")
    api.promote(["a", "b"], "production")
    head = git(project, "rev-parse", "HEAD")
    text = show_file(linked, "production", "a.mlem")
    assert f"rev: {head}" in text and "pinned_from: main" in text
    assert "pinned_from: v1" in show_file(linked, "production", "b.mlem")
    # staging keeps the symbolic revs
    assert "rev: main" in show_file(linked, "staging", "a.mlem")
    assert api.verify(stage="production").ok


def test_no_pin_on_a_pinned_stage_is_refused(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.promote(["a"], "staging")
    tip = git(linked, "rev-parse", "production")
    r = mr("promote", "a", "--to", "production", "--no-pin")
    assert r.code == 1 and "requires pinned links" in r.err
    assert git(linked, "rev-parse", "production") == tip


def test_pin_flag_on_an_unpinned_stage(linked: Path, project: Path) -> None:
    api.promote(["a"], "staging", pin=True)
    assert git(project, "rev-parse", "HEAD") in show_file(linked, "staging", "a.mlem")


def test_failing_link_promotes_nothing(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (linked / "broken.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: gone\n"
    )
    commit_all(linked)
    tip = git(linked, "rev-parse", "staging")
    r = mr("promote", "a", "broken", "--to", "staging")
    assert r.code == 1
    assert "dev:broken.mlem:5: error: rev gone not found" in r.err and "nothing promoted" in r.err
    assert git(linked, "rev-parse", "staging") == tip
    r = mr("promote", "a", "broken", "--to", "staging", "--no-verify")
    assert r.code == 0 and "broken.mlem" in git(linked, "ls-tree", "--name-only", "staging")


def test_existing_link_on_target_keeps_its_layout(linked: Path, project: Path) -> None:
    api.promote(["a"], "staging")
    git(linked, "checkout", "-q", "staging")
    (linked / "a.mlem").write_text(
        "# serving: eu-west\n" + (linked / "a.mlem").read_text().replace("rev: main", "rev: 'main'  # moving")
    )
    commit_all(linked, "annotate")
    git(linked, "checkout", "-q", "dev")
    api.link("models/rf", source_project=str(project), rev="v1", target="a", force=True)
    commit_all(linked, "a to v1")
    api.promote(["a"], "staging")
    text = show_file(linked, "staging", "a.mlem")
    assert text.startswith("# serving: eu-west\n")
    assert re.search(r"rev: 'v1' +# moving", text)  # the comment keeps its column


def test_dry_run_changes_nothing(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    tip = git(linked, "rev-parse", "staging")
    r = mr("promote", "a", "--to", "staging", "--dry-run")
    assert r.code == 0 and "+++ staging:a.mlem" in r.out and "dry run" in r.err
    assert git(linked, "rev-parse", "staging") == tip


def test_nothing_to_change(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    mr("promote", "a", "--to", "staging")
    tip = git(linked, "rev-parse", "staging")
    r = mr("promote", "a", "--to", "staging")
    assert r.code == 0 and "Nothing to promote" in r.out
    assert git(linked, "rev-parse", "staging") == tip


def test_declining_on_a_terminal_changes_nothing(linked: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import click

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr(click, "confirm", lambda text, **k: asked.append(text) or False)
    tip = git(linked, "rev-parse", "staging")
    r = mr("promote", "a", "--to", "staging")
    assert r.code == 1 and asked == ["Promote to staging?"]
    assert git(linked, "rev-parse", "staging") == tip
    assert mr("promote", "a", "--to", "staging", "--yes").code == 0
    assert len(asked) == 1


def test_json(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("promote", "a", "--to", "staging", "--json")
    data = json.loads(r.out)
    assert data["to"] == "staging" and data["commit"] == git(linked, "rev-parse", "staging")
    assert data["links"][0]["name"] == "a" and data["links"][0]["changed"]


def test_checked_out_target_updates_worktree_and_index(linked: Path) -> None:
    git(linked, "checkout", "-q", "staging")
    api.promote(["a"], "staging", source="dev")
    assert (linked / "a.mlem").read_text() == show_file(linked, "dev", "a.mlem") + "\n"
    assert git(linked, "status", "--porcelain") == ""


def test_dirty_checked_out_target_is_refused(linked: Path) -> None:
    api.promote(["a"], "staging")
    git(linked, "checkout", "-q", "staging")
    (linked / "a.mlem").write_text((linked / "a.mlem").read_text() + "# local edit\n")
    dev_text = show_file(linked, "dev", "a.mlem")
    git(linked, "checkout", "-q", "dev")
    git(linked, "checkout", "-q", "staging")  # carries the edit along
    tip = git(linked, "rev-parse", "staging")
    (linked / "b.mlem").write_text("untracked and in the way\n")
    with pytest.raises(RegistryError, match="uncommitted changes"):
        api.promote(["b"], "staging", source="dev")
    assert git(linked, "rev-parse", "staging") == tip
    assert (linked / "b.mlem").read_text() == "untracked and in the way\n"
    assert dev_text  # dev untouched


def test_bare_registry(linked: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(linked), str(bare))
    # the clone records relative project paths; the bare repo sits elsewhere
    (tmp_path / "models").exists()
    result = api.promote(["a"], "staging", registry=str(bare), verify=False)
    assert git(bare, "rev-parse", "staging") == result.commit
    assert not result.worktree_updated


def test_missing_target_branch(linked: Path) -> None:
    git(linked, "branch", "-D", "staging")
    with pytest.raises(RegistryError, match="no branch staging; 'mr init'"):
        api.plan_promotion(["a"], "staging")
    api.init(str(linked))  # creates the missing stage branch again, empty
    assert git(linked, "ls-tree", "--name-only", "staging").split() == [".mlem.yaml", ".mr.yaml"]
    assert api.promote(["a"], "staging").commit


def test_push_to_a_bare_remote_builds_on_what_others_pushed(linked: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(linked, "remote", "add", "origin", str(remote))
    git(linked, "push", "-q", "origin", "dev", "staging", "production")
    r = mr("promote", "a", "--to", "staging", "--push", "origin")
    assert r.code == 0, r.err
    assert "pushed staging to" in r.out
    assert git(remote, "rev-parse", "staging") == git(linked, "rev-parse", "staging")
    # someone else moved the remote's staging: the promotion is fetched and built on their commit
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "staging", str(remote), str(other))
    theirs = commit(other, {"note.txt": "theirs\n"}, "theirs")
    git(other, "push", "-q", "origin", "staging")
    r = mr("promote", "b", "--to", "staging", "--push", "origin")
    assert r.code == 0, r.err
    assert "pushed staging to" in r.out and "behind" not in r.err
    assert git(remote, "rev-parse", "staging") == git(linked, "rev-parse", "staging")
    assert git(remote, "rev-parse", "staging^") == theirs
    assert git(remote, "show", "staging:note.txt") == "theirs"
    assert git(remote, "show", "staging:b.mlem") == git(linked, "show", "dev:b.mlem")


PROMOTE = """
import sys
from mr.cli import main
sys.exit(main(["promote", sys.argv[1], "--to", "staging", "--yes"]))
"""


def test_concurrent_promotions_all_land(registry: Path, project: Path) -> None:
    names = [f"m{i}" for i in range(6)]
    for n in names:
        api.link("models/rf", source_project=str(project), target=n)
    commit_all(registry)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTE, n], cwd=registry, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for n in names
    ]
    outs = {n: p.communicate(timeout=120) for n, p in zip(names, procs, strict=True)}
    # a lost race is another promotion landing: each tries again until its own lands
    failed = {n: outs[n][1] for n, p in zip(names, procs, strict=True) if p.returncode != 0}
    assert failed == {}
    files = git(registry, "ls-tree", "--name-only", "staging").split()
    assert sorted(f for f in files if f.startswith("m")) == [f"{n}.mlem" for n in names]
    assert git(registry, "rev-list", "--count", "staging") == str(1 + len(names))
    assert git(registry, "fsck", "--no-progress", "--no-dangling") == ""


def test_killed_promotions_leave_the_registry_valid(registry: Path, project: Path) -> None:
    names = [f"k{i}" for i in range(8)]
    for n in names:
        api.link("models/rf", source_project=str(project), target=n)
    commit_all(registry)
    git(registry, "checkout", "-q", "staging")
    rng = random.Random(7)
    for n in names:
        p = subprocess.Popen(
            [sys.executable, "-c", PROMOTE.replace('"staging"', '"staging", "--from", "dev"'), n], cwd=registry
        )
        time.sleep(rng.uniform(0.05, 0.6))
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert git(registry, "fsck", "--no-progress", "--no-dangling") == ""
    for stage in ("dev", "staging", "production"):
        assert api.verify(stage=stage).ok
    # whatever landed is in the work tree too, or the work tree is simply behind
    status = git(registry, "status", "--porcelain")
    assert all(line[3:].endswith(".mlem") for line in status.splitlines())
    for stale in registry.rglob("*.tmp"):
        pytest.fail(f"temporary file left behind: {stale}")


def test_stale_ref_lock_is_named(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    lock = linked / ".git" / "refs" / "heads" / "staging.lock"
    lock.write_text("")
    r = mr("promote", "a", "--to", "staging")
    assert r.code == 1 and "staging.lock exists" in r.err and "remove the file" in r.err
