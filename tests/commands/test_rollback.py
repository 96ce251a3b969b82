"""mr rollback, races between stage commands, and the history of changes made without mr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mr import api
from mr.errors import ChangedMeanwhile, LinkNotFound, NothingToUndo, NotOnStage, Refused, UsageError
from tests.commands.conftest import STAGES, production_history, release, show_file, tips
from tests.helpers import commit, commit_all, git, with_seams

# --- rollback -------------------------------------------------------------------------


def test_rollback_restores_the_file_byte_for_byte(released: Path, versions: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    v1_commit = git(released, "rev-parse", "production~1")  # the promotion of v1
    v2_commit = git(released, "rev-parse", "production")
    v1_file = show_file(released, v1_commit, "churn.mlem")
    assert v1_file.startswith("# churn model, owned by the retention team\n")
    assert f"rev: {versions['v1']}" in v1_file and "pinned_from: v1" in v1_file
    staging = git(released, "rev-parse", "staging")

    r = mr("rollback", "churn", "--stage", "production", "-m", "v2 misbehaves")
    assert r.code == 0, r.err
    assert f"churn: back to v1, as production at {v1_commit[:12]} (undoes 1 change: {v2_commit[:12]})" in r.out
    assert "Rolled back churn on production: commit" in r.out
    # byte for byte, comments included (git show strips nothing but the final newline)
    assert git(released, "cat-file", "-p", "production:churn.mlem") == git(
        released, "cat-file", "-p", f"{v1_commit}:churn.mlem"
    )
    assert git(released, "rev-parse", "production:churn.mlem") == git(released, "rev-parse", f"{v1_commit}:churn.mlem")
    assert git(released, "rev-parse", "production^") == v2_commit
    assert git(released, "rev-parse", "staging") == staging  # other stages untouched
    message = git(released, "log", "-1", "--format=%B", "production")
    assert message.startswith("Roll back churn on production to v1\n\nv2 misbehaves\n")
    trailers = git(released, "log", "-1", "--format=%(trailers:only,unfold)", "production")
    assert trailers.splitlines() == [
        "Mr-Action: rollback",
        "Mr-Link: churn",
        f"Mr-Rollback-To: {v1_commit}",
        f"Mr-Undoes: {v2_commit}",
    ]
    assert production_history() == [
        ("rollback", f"v2@{versions['v2']}", f"v1@{versions['v1']}"),
        ("promotion", f"v1@{versions['v1']}", f"v2@{versions['v2']}"),
        ("promotion", None, f"v1@{versions['v1']}"),
    ]
    (latest, *_) = api.link_history("churn").history
    assert latest.rollback_to == v1_commit and latest.commit == git(released, "rev-parse", "production")
    assert api.verify(stage="production").ok

    out = mr("show", "churn").out
    assert f"production   rollback       v2 -> v1  to {v1_commit[:7]}" in out
    data = json.loads(mr("show", "churn", "--json").out)
    assert [(e["stage"], e["kind"]) for e in data["history"]][:2] == [
        ("production", "rollback"),
        ("production", "promotion"),
    ]
    assert data["history"][0]["rollback_to"] == v1_commit and data["history"][0]["rev_after"] == f"v1@{versions['v1']}"

    # a second rollback undoes the first
    api.rollback(["churn"], "production")
    assert show_file(released, "production", "churn.mlem") == show_file(released, v2_commit, "churn.mlem")


def test_steps_and_to(released: Path, project: Path, versions: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    release(released, project, "v3")
    v1, v2, v3 = (git(released, "rev-parse", f"production~{n}") for n in (2, 1, 0))
    r = mr("rollback", "churn", "--stage", "production", "--steps", "2", "--yes", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    (link,) = data["links"]
    assert link["to_commit"] == v1 and link["undone"] == [v3, v2] and not link["removed"]
    assert link["rev"] == versions["v1"] and link["pinned_from"] == "v1"
    assert data["commit"] == git(released, "rev-parse", "production")
    assert show_file(released, "production", "churn.mlem") == show_file(released, v1, "churn.mlem")

    result = api.rollback(["churn"], "production", to=v2[:10])
    (p,) = result.plan.changes
    assert p.to_commit == v2 and p.undone == (git(released, "rev-parse", "production~1"), v3)
    assert show_file(released, "production", "churn.mlem") == show_file(released, v2, "churn.mlem")
    # production~N names a stage commit too
    api.rollback(["churn"], "production", to="production~2")
    assert show_file(released, "production", "churn.mlem") == show_file(released, v3, "churn.mlem")

    # going back further than the history reaches: refused, nothing changed
    before = tips(released)
    changes = len(production_history())
    with pytest.raises(NothingToUndo, match=f"churn changed only {changes} times on production"):
        api.plan_rollback(["churn"], "production", steps=changes + 1)
    assert tips(released) == before


def test_rolling_back_a_first_promotion_removes_the_link(
    registry: Path, project: Path, versions: dict[str, str], mr
) -> None:  # type: ignore[no-untyped-def]
    api.link("models/rf", source_project=str(project), rev="v1", target="fresh")
    commit_all(registry)
    api.promote(["fresh"], "staging")
    first = git(registry, "rev-parse", "staging~1")
    r = mr("rollback", "fresh", "--stage", "staging")
    assert r.code == 0, r.err
    assert f"fresh: removed, as staging at {first[:12]} did not have it" in r.out
    assert "removed fresh: staging did not have it then" in r.out
    assert "fresh.mlem" not in git(registry, "ls-tree", "--name-only", "staging").split()
    assert "fresh.mlem" in git(registry, "ls-tree", "--name-only", "dev").split()
    (entry, *_) = api.link_history("fresh").history
    assert (entry.stage, entry.kind, entry.rev_before, entry.rev_after) == ("staging", "rollback", "v1", None)
    # and back again: the rollback of the rollback restores it
    api.rollback(["fresh"], "staging")
    assert show_file(registry, "staging", "fresh.mlem") == show_file(registry, "dev", "fresh.mlem")


def test_rollback_on_a_pinned_stage_keeps_the_pin(released: Path, versions: dict[str, str]) -> None:
    api.rollback(["churn"], "production")
    text = show_file(released, "production", "churn.mlem")
    assert f"rev: {versions['v1']}" in text and "pinned_from: v1" in text
    assert api.verify(stage="production").ok


def test_rollback_never_unpins_a_pinned_stage(released: Path, project: Path, versions: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    # a hand commit put an unpinned link on production; a promotion then pinned it again
    git(released, "checkout", "-q", "production")
    (released / "churn.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: v2\n"
    )
    commit_all(released, "hotfix: unpinned")
    git(released, "checkout", "-q", "dev")
    release(released, project, "v3")
    before = tips(released)
    for extra in ((), ("--no-verify",)):
        r = mr("rollback", "churn", "--stage", "production", *extra)
        assert r.code == 1 and "Traceback" not in r.err
        assert "requires pinned links; rev v2 is not a full commit SHA" in r.err
        assert "mr: error: nothing rolled back: 1 problem(s) with the links" in r.err
        assert tips(released) == before
    with pytest.raises(Refused) as e:
        api.plan_rollback(["churn"], "production")
    assert e.value.problems[0].file.startswith("production@")
    # a pinned point further back is fine: before the hand commit
    api.rollback(["churn"], "production", steps=2)
    assert f"rev: {versions['v2']}" in show_file(released, "production", "churn.mlem")


def test_rollback_to_a_target_that_no_longer_resolves(released: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(project, "tag", "-d", "v1")  # staging has rev: v1, unpinned
    before = tips(released)
    r = mr("rollback", "churn", "--stage", "staging")
    assert r.code == 1
    assert "churn.mlem:" in r.err and "rev v1 not found" in r.err and "nothing rolled back" in r.err
    assert tips(released) == before
    r = mr("rollback", "churn", "--stage", "staging", "--no-verify")
    assert r.code == 0, r.err
    assert "rev: v1" in show_file(released, "staging", "churn.mlem")


def test_dry_run_json_and_declining(released: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import click

    before = tips(released)
    r = mr("rollback", "churn", "--stage", "production", "--dry-run")
    assert r.code == 0 and "--- production:churn.mlem" in r.out and "dry run: nothing changed" in r.err
    data = json.loads(mr("rollback", "churn", "--stage", "production", "--dry-run", "--json").out)
    assert data["dry_run"] and data["commit"] is None and data["links"][0]["changed"]
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr(click, "confirm", lambda text, **k: asked.append(text) or False)
    r = mr("rollback", "churn", "--stage", "production")
    assert r.code == 1 and asked == ["Roll back on production?"] and "mr: nothing rolled back" in r.err
    r = mr("retire", "churn", "--stage", "production")
    assert r.code == 1 and asked[-1] == "Retire from production?" and "mr: nothing retired" in r.err
    assert tips(released) == before


def test_checked_out_stage_follows(released: Path, versions: dict[str, str]) -> None:
    git(released, "checkout", "-q", "production")
    result = api.rollback(["churn"], "production")
    assert result.worktree_updated
    assert f"rev: {versions['v1']}" in (released / "churn.mlem").read_text()
    result = api.retire(["churn"], "production")
    assert result.worktree_updated and not (released / "churn.mlem").exists()
    assert git(released, "status", "--porcelain") == ""


# --- races ----------------------------------------------------------------------------


class Race:
    """Another writer, run once just before a command's commit moves its branch (its ``before_swap``)."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], object]] = []

    def append(self, other: Callable[[], object]) -> None:
        self.pending.append(other)

    def before_swap(self, plan: object) -> None:
        if self.pending:
            self.pending.pop()()


@pytest.fixture
def race() -> Race:
    return Race()


def test_rollback_racing_a_promotion_of_another_link(released: Path, project: Path, race: Race) -> None:
    api.link("models/rf", source_project=str(project), rev="v3", target="fraud")
    commit_all(released)
    api.promote(["fraud"], "staging")
    start = git(released, "rev-parse", "production")
    promoted: list[str | None] = []
    race.append(lambda: promoted.append(api.promote(["fraud"], "production").commit))
    result = with_seams("rollback", ["churn"], "production", before_swap=race.before_swap)
    assert promoted[0] is not None
    # the rollback was rebuilt on the promotion: both landed, one after the other
    assert git(released, "rev-parse", "production^") == promoted[0]
    assert git(released, "rev-parse", "production^^") == start
    assert result.commit == git(released, "rev-parse", "production") and result.plan.base == promoted[0]
    assert "fraud.mlem" in git(released, "ls-tree", "--name-only", "production").split()
    assert "pinned_from: v1" in show_file(released, "production", "churn.mlem")


def test_promotion_racing_a_rollback_of_another_link(released: Path, project: Path, race: Race) -> None:
    api.link("models/rf", source_project=str(project), rev="v3", target="fraud")
    commit_all(released)
    api.promote(["fraud"], "staging")
    rolled: list[str | None] = []
    race.append(lambda: rolled.append(api.rollback(["churn"], "production").commit))
    result = with_seams("promote", ["fraud"], "production", before_swap=race.before_swap)
    assert git(released, "rev-parse", "production^") == rolled[0] and result.plan.base == rolled[0]
    assert "pinned_from: v1" in show_file(released, "production", "churn.mlem")
    assert "pinned_from: v3" in show_file(released, "production", "fraud.mlem")


def test_rollback_racing_a_promotion_of_the_same_link_is_refused(released: Path, project: Path, race: Race) -> None:
    api.link("models/rf", source_project=str(project), rev="v3", target="churn", force=True)
    commit_all(released)
    api.promote(["churn"], "staging")
    landed: list[str | None] = []
    race.append(lambda: landed.append(api.promote(["churn"], "production").commit))
    with pytest.raises(ChangedMeanwhile, match="production:churn.mlem changed while rolling back"):
        with_seams("rollback", ["churn"], "production", before_swap=race.before_swap)
    # the promotion is kept, not undone unseen
    assert git(released, "rev-parse", "production") == landed[0]
    assert "pinned_from: v3" in show_file(released, "production", "churn.mlem")


def test_retirement_racing_a_promotion(released: Path, project: Path, race: Race) -> None:
    api.link("models/rf", source_project=str(project), rev="v3", target="fraud")
    commit_all(released)
    api.promote(["fraud"], "staging")
    race.append(lambda: api.promote(["fraud"], "production"))
    with_seams("retire", ["churn"], "production", before_swap=race.before_swap)
    files = git(released, "ls-tree", "--name-only", "production").split()
    assert "fraud.mlem" in files and "churn.mlem" not in files


# --- history of changes made without mr -------------------------------------------------


def test_revert_and_hand_commit_are_direct_changes(released: Path, versions: dict[str, str], mr) -> None:  # type: ignore[no-untyped-def]
    git(released, "checkout", "-q", "production")
    git(released, "revert", "--no-edit", "HEAD")
    revert = git(released, "rev-parse", "HEAD")
    path = released / "churn.mlem"
    path.write_text(path.read_text() + "# on call: ana\n")
    hand = commit_all(released, "note who is on call")
    git(released, "checkout", "-q", "dev")
    history = [e for e in api.link_history("churn").history if e.stage == "production"]
    pin1, pin2 = f"v1@{versions['v1']}", f"v2@{versions['v2']}"
    assert [(e.commit, e.kind, e.rev_before, e.rev_after) for e in history] == [
        (hand, "direct change", pin1, pin1),
        (revert, "direct change", pin2, pin1),
        (git(released, "rev-parse", "production~2"), "promotion", pin1, pin2),
        (git(released, "rev-parse", "production~3"), "promotion", None, pin1),
    ]
    out = mr("show", "churn").out
    assert out.count("direct change") >= 2


def test_merged_review_branch_counts_once(released: Path, project: Path) -> None:
    release_commit = api.rollback(["churn"], "production", branch="").commit
    git(released, "checkout", "-q", "production")
    git(released, "merge", "-q", "--no-ff", "-m", "Merge review", "rollback/production/churn")
    git(released, "checkout", "-q", "dev")
    history = [e for e in api.link_history("churn").history if e.stage == "production"]
    assert [(e.kind, e.commit) for e in history][0] == ("rollback", release_commit)
    assert len(history) == 3


# --- review branches and pushes -------------------------------------------------------


@pytest.fixture
def remote(released: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(released, "remote", "add", "origin", str(bare))
    git(released, "push", "-q", "origin", *STAGES)
    return bare


def test_rollback_and_retire_through_review_branches(released: Path, remote: Path, mr) -> None:  # type: ignore[no-untyped-def]
    prod = git(released, "rev-parse", "production")
    r = mr("rollback", "churn", "--stage", "production", "--branch", "--push", "origin")
    assert r.code == 0, r.err
    branch = "rollback/production/churn"
    assert f"Rolled back churn onto branch {branch}" in r.out and "production is unchanged" in r.out
    assert git(released, "rev-parse", "production") == prod
    assert git(released, "rev-parse", f"{branch}^") == prod
    assert git(remote, "rev-parse", branch) == git(released, "rev-parse", branch)
    assert git(remote, "rev-parse", "production") == prod
    r = mr("rollback", "churn", "--stage", "production", "--branch", "--yes")
    assert r.code == 1 and "exists; pass --force" in r.err
    assert mr("rollback", "churn", "--stage", "production", "--force").code == 2

    data = json.loads(mr("retire", "churn", "--stage", "production", "--branch", "--json").out)
    assert data["branch"] == "retire/production/churn" and data["commit"] == git(
        released, "rev-parse", "retire/production/churn"
    )
    assert git(released, "rev-parse", "production") == prod


def test_push(released: Path, remote: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("rollback", "churn", "--stage", "production", "--push", "origin")
    assert r.code == 0, r.err
    assert "pushed production to" in r.out
    assert git(remote, "rev-parse", "production") == git(released, "rev-parse", "production")
    r = mr("retire", "churn", "--stage", "staging", "--push", "origin")
    assert r.code == 0 and "pushed staging to" in r.out
    assert git(remote, "rev-parse", "staging") == git(released, "rev-parse", "staging")
    # someone else moved the remote's production: the rollback is built on their commit
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "production", str(remote), str(other))
    theirs = commit(other, {"note.txt": "theirs\n"}, "theirs")
    git(other, "push", "-q", "origin", "production")
    r = mr("rollback", "churn", "--stage", "production", "--push", "origin")
    assert r.code == 0, r.err
    assert git(remote, "rev-parse", "production^") == theirs
    assert git(remote, "rev-parse", "production") == git(released, "rev-parse", "production")
    # a push the remote refuses for another reason is taken back here too, and says so
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho protected >&2\nexit 1\n")
    hook.chmod(0o755)
    before = git(released, "rev-parse", "production")
    r = mr("rollback", "churn", "--stage", "production", "--push", "origin")
    assert r.code == 1 and "Traceback" not in r.err
    assert r.err.startswith("mr: error: production was not rolled back: ") and "nothing was changed" in r.err
    assert git(remote, "rev-parse", "production") == git(released, "rev-parse", "production") == before


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["rollback", "nope", "--stage", "production"],
            1,
            "mr: error: no link nope on production: nothing to roll back",
        ),
        (["rollback", "churn", "--stage", "qa"], 2, "mr: error: qa is not a stage (stages: dev, staging, production)"),
        (
            ["rollback", "churn", "--stage", "production", "--steps", "0"],
            2,
            "mr: error: --steps 0: give 1 or more changes to go back",
        ),
        (
            ["rollback", "churn", "--stage", "production", "--steps", "-1"],
            2,
            "mr: error: --steps -1: give 1 or more changes to go back",
        ),
        (
            ["rollback", "churn", "--stage", "production", "--to", "dev"],
            2,
            "is not on production (git log production lists its commits)",
        ),
        (
            ["rollback", "churn", "--stage", "production", "--to", "0000000"],
            2,
            "mr: error: --to 0000000: no such commit in the registry",
        ),
        (
            ["rollback", "churn", "--stage", "production", "--to", "production~1", "--steps", "1"],
            2,
            "mr: error: give --to or --steps, not both",
        ),
        (
            ["rollback", "churn", "--stage", "production", "--steps", "9"],
            1,
            "mr: error: churn changed only 2 times on production; --steps 9 goes further back than that",
        ),
        (["retire", "nope", "--stage", "production"], 1, "mr: error: no link nope on production"),
        (["retire", "churn", "--stage", "qa"], 2, "mr: error: qa is not a stage (stages: dev, staging, production)"),
        (["retire", "../x", "--stage", "production"], 2, "a link name is a path inside the registry"),
    ],
)
def test_bad_input(released: Path, mr, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    before = tips(released)
    r = mr(*args)
    assert r.code == code, r.err
    assert message in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err
    assert r.out == ""
    assert tips(released) == before
    assert git(released, "status", "--porcelain") == ""


def test_bad_input_api_errors_are_typed(released: Path) -> None:
    with pytest.raises(LinkNotFound):
        api.plan_rollback(["nope"], "production")
    with pytest.raises(NotOnStage):
        api.plan_rollback(["churn"], "production", to="dev")
    with pytest.raises(UsageError):
        api.plan_rollback(["churn"], "production", steps=0)
    with pytest.raises(UsageError):
        api.plan_rollback([], "production")
    with pytest.raises(LinkNotFound):
        api.plan_retirement(["nope"], "staging")
    assert mr_missing_option_exit_code() == 2


def mr_missing_option_exit_code() -> int:
    from mr.cli import main

    return main(["rollback", "churn"])  # --stage is required


# --- completion -----------------------------------------------------------------------


def test_completion_lists_the_stage_links(released: Path, project: Path) -> None:
    import os
    import subprocess

    api.link("models/rf", source_project=str(project), rev="v1", target="dev-only")
    commit_all(released)

    def complete(words: str) -> list[str]:
        env = dict(
            os.environ,
            _MR_COMPLETE="bash_complete",
            COMP_WORDS=words,
            COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        )
        out = subprocess.run(
            [sys.executable, "-c", "from mr.cli import cli; cli(prog_name='mr')"],
            env=env,
            cwd=released,
            capture_output=True,
            text=True,
            check=False,
        )
        return [line.split(",", 1)[1] for line in out.stdout.splitlines() if "," in line]

    assert complete("mr rollback --stage production ") == ["churn"]
    assert "dev-only" in complete("mr retire --stage dev ")
    assert complete("mr rollback --stage pro") == ["production"]


def test_bare_registry_and_nested_names(
    registry: Path, project: Path, versions: dict[str, str], tmp_path: Path
) -> None:
    api.link("models/rf", source_project=str(project), rev="v1", target="team/churn")
    commit_all(registry)
    api.promote(["team/churn"], "staging")
    api.link("models/rf", source_project=str(project), rev="v2", target="team/churn", force=True)
    commit_all(registry)
    api.promote(["team/churn"], "staging")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry), str(bare))
    for stage in ("dev", "staging", "production"):
        git(bare, "update-ref", f"refs/heads/{stage}", git(registry, "rev-parse", stage))
    result = api.rollback(["team/churn.mlem"], "staging", registry=str(bare), verify=False)
    assert not result.worktree_updated and result.commit == git(bare, "rev-parse", "staging")
    assert "rev: v1" in show_file(bare, "staging", "team/churn.mlem")
    api.retire(["team/churn"], "staging", registry=str(bare))
    # the folder went with its only file
    assert git(bare, "ls-tree", "--name-only", "staging").split() == [".mlem.yaml", ".mr.yaml"]
    kinds = [e.kind for e in api.link_history("team/churn", registry=str(bare)).history if e.stage == "staging"]
    assert kinds == ["retirement", "rollback", "promotion", "promotion"]
    assert git(registry, "rev-parse", "staging") != git(bare, "rev-parse", "staging")  # only the bare one moved


# --- rollback reads links as the stage's .mr.yaml says (hosts, allowed_sources) ----------------


def on_stage(registry: Path, stage: str, files: dict[str, str], message: str) -> str:
    """Commit ``files`` by hand on ``stage`` (then back to dev); return the commit."""
    git(registry, "checkout", "-q", stage)
    sha = commit(registry, files, message)
    git(registry, "checkout", "-q", "dev")
    return sha


def test_rollback_holds_every_hop_of_a_chain_to_the_stage_allowed_sources(
    registry: Path, project: Path, tmp_path: Path
) -> None:
    """staging rolls h back to h -> project:hop -> other:hop -> project:rf; other is not allowed there."""
    from mr.model import Problem
    from tests.helpers import make_project

    hop = "link_type: model\nobject_type: link\npath: models/{}\nproject: file://{}\nrev: main\n"
    other = make_project(tmp_path / "other", {"models/hop.mlem": hop.format("rf.mlem", project)})
    commit(project, {"models/hop.mlem": hop.format("hop.mlem", other)})
    config = show_file(registry, "staging", ".mr.yaml").replace(
        "allowed_sources: []", f"allowed_sources: ['file://{project}']"
    )
    alias = "link_type: model\nobject_type: link\npath: {}\n"
    first = on_stage(
        registry,
        "staging",
        {".mr.yaml": config + "\n", "h.mlem": hop.format("hop.mlem", project), "cur.mlem": alias.format("h.mlem")},
        "a chain through other",
    )
    direct = hop.format("rf.mlem", project)
    on_stage(registry, "staging", {"h.mlem": direct, "cur.mlem": alias.format("h2.mlem"), "h2.mlem": direct}, "direct")
    before = tips(registry)
    outside = (
        f"file://{project}@main:models/hop.mlem: project file://{other} is not under allowed_sources (file://{project})"
    )
    with pytest.raises(Refused) as e:
        api.plan_rollback(["h", "cur"], "staging")
    at = f"staging@{first[:12]}"
    assert e.value.problems == (
        Problem(f"{at}:h.mlem", 3, f"following models/hop.mlem: {outside}"),
        Problem(f"{at}:cur.mlem", 3, f"following h.mlem: {outside}"),
    )
    with pytest.raises(Refused):
        api.rollback(["h"], "staging")
    assert tips(registry) == before


def test_rollback_reads_a_self_hosted_web_url_with_the_stage_hosts(
    registry: Path,
    project: Path,
    git_daemon,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    isolated_git: Path,
) -> None:
    """``hosts:`` in the stage's .mr.yaml makes a web URL name a folder and a rev, for the link and an alias."""
    from tests.helpers import self_hosted

    name = f"mono-{tmp_path.name}"
    spec = self_hosted(git_daemon, isolated_git, name)
    link = "link_type: model\nobject_type: link\npath: {}\n"
    config = show_file(registry, "staging", ".mr.yaml") + "\nhosts: {git.corp.example: gitlab}\n"
    first = on_stage(
        registry,
        "staging",
        {
            ".mr.yaml": config,
            "rf.mlem": link.format(f"models/rf.mlem\nproject: {spec}"),
            "cur.mlem": link.format("rf.mlem"),
        },
        "a self-hosted project, and an alias to it",
    )
    local = link.format(f"models/rf.mlem\nproject: {project}\nrev: main")
    on_stage(registry, "staging", {"rf.mlem": local, "cur.mlem": link.format("rf2.mlem"), "rf2.mlem": local}, "local")
    plan = api.plan_rollback(["rf", "cur"], "staging")
    # resolved through the declared host: the folder ml/ of the repository at main
    main = git(git_daemon.base / name, "rev-parse", "main")
    assert [(x.name, x.sha, x.to_commit, x.changed) for x in plan.links] == [
        ("rf", main, first, True),
        ("cur", None, first, True),
    ]
    assert plan.links[0].new == show_file(registry, first, "rf.mlem").encode() + b"\n"
