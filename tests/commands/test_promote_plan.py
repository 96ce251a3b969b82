"""mr.commands.promote: the plan (what changes, its commit message, its refusals), checked on exact values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import api, stagecommit
from mr.commands import promote as promotion
from mr.errors import GitError, PromotionRefused, RegistryError, UnsafePath, UsageError
from mr.model import Problem
from mr.registry import Registry
from tests.helpers import commit, commit_all, git, make_project, tag

LINK_A = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: main\n"


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    """dev holds a (main) and b (tag v1), links to the project."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="a")
    api.link("models/rf", source_project=str(project), rev="v1", target="b")
    commit_all(registry)
    return registry


def test_the_plan_names_each_link_once_with_its_content_diff_and_trailers(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    dev = git(linked, "rev-parse", "dev")
    staging = git(linked, "rev-parse", "staging")
    p = api.plan_promotion(["a", "b.mlem", "a"], "staging", message="  Weekly  \n")
    assert (p.to, p.stage, p.source, p.source_sha, p.base) == ("staging", "staging", "dev", dev, staging)
    assert (p.verb, p.done) == ("promote", "promoted")
    assert p.request == (("a", "b.mlem", "a"), None, "  Weekly  \n", True)
    assert [(x.name, x.path, x.sha, x.old, x.changed) for x in p.links] == [
        ("a", "a.mlem", head, None, True),
        ("b", "b.mlem", head, None, True),
    ]
    assert p.changes == p.links
    assert p.links[0].new == LINK_A.encode()
    assert p.links[1].new == LINK_A.replace("rev: main", "rev: v1").encode()
    assert p.links[0].diff("staging") == (
        "--- /dev/null\n+++ staging:a.mlem\n@@ -0,0 +1,5 @@\n"
        + "".join("+" + line + "\n" for line in LINK_A.splitlines())
    )
    assert p.message == (
        f"Promote a main@{head[:12]}, b v1 to staging\n\nWeekly\n\nMr-From: dev {dev}\n"
        f"Mr-Link: a\nMr-Rev: main {head}\nMr-Link: b\nMr-Rev: v1 {head}\n"
    )
    assert stagecommit.review_branch_name("promote", p.to, [c.name for c in p.changes]) == "promote/staging/a+b"


def test_without_verify_the_rev_is_not_resolved(linked: Path) -> None:
    dev = git(linked, "rev-parse", "dev")
    p = api.plan_promotion(["a"], "staging", verify=False)
    assert p.links[0].sha is None
    assert p.message == f"Promote a main to staging\n\nMr-From: dev {dev}\nMr-Link: a\nMr-Rev: main -\n"
    assert p.request == (("a",), None, None, False)


def test_an_unchanged_link_is_no_change(linked: Path) -> None:
    api.promote(["a"], "staging")
    p = api.plan_promotion(["a", "b"], "staging")
    assert p.links[0].old == p.links[0].new == LINK_A.encode()
    assert [x.name for x in p.changes] == ["b"]
    assert stagecommit.review_branch_name("promote", p.to, [c.name for c in p.changes]) == "promote/staging/b"


def test_a_pinned_stage_pins_and_keeps_the_symbolic_rev(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    api.promote(["a"], "staging")
    staging = git(linked, "rev-parse", "staging")
    p = api.plan_promotion(["a"], "production")
    assert p.links[0].link.rev == head and p.links[0].link.pinned_from == "main"
    assert p.message == (
        f"Promote a main@{head[:12]} to production\n\nMr-From: staging {staging}\nMr-Link: a\nMr-Rev: main {head}\n"
    )
    assert (
        p.links[0].new
        == (
            "link_type: model\nobject_type: link\nparams:\n  pinned_from: main\npath: models/rf.mlem\n"
            f"project: ../models\nrev: {head}\n"
        ).encode()
    )


def test_a_pinned_stage_refuses_an_unpinned_link(linked: Path) -> None:
    api.promote(["a"], "staging")
    with pytest.raises(PromotionRefused) as e:
        api.plan_promotion(["a"], "production", pin=False)
    assert str(e.value) == "nothing promoted: 1 problem(s) with the links"
    assert e.value.problems == (
        Problem(
            "staging:a.mlem",
            5,
            "stage production requires pinned links; rev main is not a full commit SHA "
            "(mr link --pin, or mr promote pins)",
        ),
    )


@pytest.mark.parametrize(
    ("names", "to", "source", "error", "message"),
    [
        ([], "staging", None, UsageError, "name at least one link to promote"),
        (["a"], "qa", None, UsageError, "qa is not a stage (stages: dev, staging, production)"),
        (["a"], "dev", None, UsageError, "dev is the first stage; say where from with --from"),
        (["a"], "staging", "staging", UsageError, "--from and --to are both staging"),
        (["nope"], "staging", None, RegistryError, "no link nope on dev"),
    ],
)
def test_refusals(linked: Path, names: list[str], to: str, source: str | None, error: type, message: str) -> None:
    with pytest.raises(error) as e:
        api.plan_promotion(names, to, source=source)
    assert str(e.value) == message


def test_an_alias_is_checked_against_the_target_as_the_promotion_leaves_it(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    alias = "link_type: model\nobject_type: link\npath: a.mlem\n"
    (linked / "cur.mlem").write_text(alias)
    dev = commit_all(linked, "alias")
    with pytest.raises(PromotionRefused) as e:
        api.plan_promotion(["cur"], "staging")
    assert str(e.value) == "nothing promoted: 1 problem(s) with the links"
    assert e.value.problems == (Problem("dev:cur.mlem", 3, "a.mlem not found in this registry at staging"),)
    p = api.plan_promotion(["cur", "a"], "staging")
    assert p.message == (
        f"Promote cur, a main@{head[:12]} to staging\n\nMr-From: dev {dev}\n"
        f"Mr-Link: cur\nMr-Rev: (alias) -\nMr-Link: a\nMr-Rev: main {head}\n"
    )
    assert [(x.name, x.sha, x.new) for x in p.links] == [("cur", None, alias.encode()), ("a", head, LINK_A.encode())]
    # without verify the alias is not followed; on a pinned stage it is never pinned
    assert api.plan_promotion(["cur"], "staging", verify=False).links[0].new == alias.encode()
    api.promote(["a"], "staging")
    api.promote(["a"], "production")
    p = api.plan_promotion(["cur"], "production", source="dev")
    assert (p.links[0].link.rev, p.links[0].new) == (None, alias.encode())


def test_a_symlink_on_either_stage_is_named_with_its_stage(linked: Path) -> None:
    os.symlink("a.mlem", linked / "s.mlem")
    commit_all(linked, "s")
    with pytest.raises(UnsafePath) as e:
        api.plan_promotion(["s"], "staging")
    assert str(e.value) == "dev:s.mlem is a symlink, not a regular file"
    git(linked, "checkout", "-q", "staging")
    os.symlink("x.mlem", linked / "a.mlem")
    commit_all(linked, "a symlink")
    git(linked, "checkout", "-q", "dev")
    with pytest.raises(UnsafePath) as e:
        api.plan_promotion(["a"], "staging")
    assert str(e.value) == "staging:a.mlem is a symlink, not a regular file"


def test_a_repeated_name_is_promoted_once_and_the_rest_still_are(linked: Path) -> None:
    p = api.plan_promotion(["a", "a.mlem", "b"], "staging")
    assert [(x.name, x.link.name) for x in p.links] == [("a", "a"), ("b", "b")]


def test_the_plan_verifies_unless_told_not_to(linked: Path, project: Path) -> None:
    reg = Registry.open(str(linked))
    assert promotion.plan_on(reg, ["a"], "staging").links[0].sha == git(project, "rev-parse", "HEAD")


def test_a_link_with_a_project_and_no_rev_is_pinned_to_the_default_branch(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    (linked / "d.mlem").write_text("link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\n")
    commit_all(linked, "d")
    api.promote(["d"], "staging")
    p = api.plan_promotion(["d"], "production")
    assert (p.links[0].link.rev, p.links[0].link.pinned_from, p.links[0].sha) == (head, "main", head)


def test_the_diff_and_old_content_of_a_link_already_on_the_target(linked: Path, project: Path) -> None:
    alias = "link_type: model\nobject_type: link\npath: a.mlem\n"
    (linked / "cur.mlem").write_text(alias)
    commit_all(linked, "alias")
    api.promote(["a", "cur"], "staging")
    p = api.plan_promotion(["cur"], "staging")
    assert (p.links[0].old, p.links[0].changed, p.changes) == (alias.encode(), False, ())
    api.link("models/rf", source_project=str(project), rev="v1", target="a", force=True)
    commit_all(linked, "a to v1")
    p = api.plan_promotion(["a"], "staging")
    assert p.links[0].old == LINK_A.encode()
    assert p.links[0].diff("staging") == (
        "--- staging:a.mlem\n+++ staging:a.mlem\n@@ -2,4 +2,4 @@\n object_type: link\n path: models/rf.mlem\n"
        " project: ../models\n-rev: main\n+rev: v1\n"
    )


def test_a_link_without_a_rev_is_on_the_default_branch_in_the_trailers(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    (linked / "d.mlem").write_text("link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\n")
    dev = commit_all(linked, "d")
    p = api.plan_promotion(["d"], "staging")
    assert p.message == (
        f"Promote d (default branch)@{head[:12]} to staging\n\nMr-From: dev {dev}\n"
        f"Mr-Link: d\nMr-Rev: (default branch) {head}\n"
    )


def test_an_alias_already_on_the_target_keeps_its_layout(linked: Path) -> None:
    (linked / "cur.mlem").write_text("link_type: model\nobject_type: link\npath: a.mlem\n")
    commit_all(linked, "alias")
    api.promote(["a", "b", "cur"], "staging")
    git(linked, "checkout", "-q", "staging")
    (linked / "cur.mlem").write_text("# the serving model\nlink_type: model\nobject_type: link\npath: a.mlem\n")
    commit_all(linked, "note")
    git(linked, "checkout", "-q", "dev")
    (linked / "cur.mlem").write_text("link_type: model\nobject_type: link\npath: b.mlem\n")
    commit_all(linked, "cur to b")
    p = api.plan_promotion(["cur"], "staging")
    assert p.links[0].new == b"# the serving model\nlink_type: model\nobject_type: link\npath: b.mlem\n"


def test_a_target_copy_whose_own_params_make_no_link_is_replaced_by_the_source(linked: Path) -> None:
    # updating it in place would keep its list param and write a file no reader takes as a link
    api.promote(["a"], "staging")
    git(linked, "checkout", "-q", "staging")
    (linked / "a.mlem").write_text(LINK_A + "params:\n  owners:\n  - ml-team\n")
    commit_all(linked, "owners as a list")
    git(linked, "checkout", "-q", "dev")
    (linked / "a.mlem").write_text(LINK_A.replace("rev: main", "rev: v1"))
    commit_all(linked, "a to v1")
    p = api.plan_promotion(["a"], "staging", verify=False)
    assert p.links[0].new == LINK_A.replace("rev: main", "rev: v1").encode()


def test_replan_asks_again_what_was_asked(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    api.promote(["a"], "staging")
    reg = Registry.open(str(linked))
    first = promotion.plan_on(reg, ["a"], "production", source="dev", pin=True, message="M", verify=False)
    again = promotion.replan(reg, first)
    assert again == first
    assert (again.source, again.request) == ("dev", (("a",), True, "M", False))
    assert again.message.startswith("Promote a main@") and "to production\n\nM\n\nMr-From: dev " in again.message
    pinned = promotion.replan(reg, promotion.plan_on(reg, ["a"], "staging", pin=True, verify=False))
    assert (pinned.links[0].link.rev, pinned.request) == (head, (("a",), True, None, False))


def test_apply_and_apply_to_branch(linked: Path) -> None:
    reg = Registry.open(str(linked))
    staging = git(linked, "rev-parse", "staging")
    review = stagecommit.apply_to_branch(
        reg, promotion.plan_on(reg, ["a"], "staging"), "review", force=False, sign=False
    )
    assert (review.branch, review.commit) == ("review", git(linked, "rev-parse", "review"))
    assert git(linked, "rev-parse", "review^") == staging == git(linked, "rev-parse", "staging")
    assert git(linked, "show", "review:a.mlem") + "\n" == LINK_A
    with pytest.raises(GitError) as e:
        stagecommit.apply_to_branch(reg, promotion.plan_on(reg, ["a"], "staging"), "review")
    assert str(e.value) == "branch review exists; pass --force to replace it"
    again = stagecommit.apply_to_branch(reg, promotion.plan_on(reg, ["a"], "staging"), "review", force=True)
    assert (again.branch, again.commit) == ("review", git(linked, "rev-parse", "review"))
    done = stagecommit.apply(
        reg, promotion.plan_on(reg, ["a"], "staging"), lambda p: promotion.replan(reg, p), sign=False
    )
    assert (done.branch, done.commit) == (None, git(linked, "rev-parse", "staging"))
    assert git(linked, "rev-parse", "staging^") == staging


def test_a_full_sha_that_resolves_elsewhere_is_replaced_by_what_it_resolves_to(linked: Path, project: Path) -> None:
    first = git(project, "rev-parse", "HEAD")
    head = commit(project, {"x": "1"})
    git(project, "update-ref", f"refs/tags/{first}", head)  # a tag whose name is a full SHA wins
    (linked / "x.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: {first}\n"
    )
    commit_all(linked, "x")
    link = api.plan_promotion(["x"], "staging", pin=True).links[0]
    assert (link.link.rev, link.link.params, link.sha) == (head, {}, head)


def test_without_verify_a_pin_still_needs_the_rev_to_resolve_and_nothing_more(linked: Path, project: Path) -> None:
    head = git(project, "rev-parse", "HEAD")
    (linked / "y.mlem").write_text(
        "link_type: data\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: main\n"
    )
    (linked / "z.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: gone\n"
    )
    commit_all(linked, "y and z")
    # y's object is a model, not data: only verify says so
    y = api.plan_promotion(["y"], "staging", pin=True, verify=False).links[0]
    assert (y.link.rev, y.link.pinned_from) == (head, "main")
    with pytest.raises(PromotionRefused) as e:
        api.plan_promotion(["z"], "staging", pin=True, verify=False)
    assert e.value.problems == (Problem("dev:z.mlem", 5, "rev gone not found in ../models"),)
    assert api.plan_promotion(["z"], "staging", verify=False).links[0].sha is None


def test_a_source_stage_behind_its_remote_is_noted(linked: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    git(tmp_path, "clone", "-q", str(linked), str(mine))
    git(mine, "branch", "-q", "staging", "origin/staging")
    (linked / "n.txt").write_text("x")
    commit_all(linked, "more")
    git(mine, "fetch", "-q")
    theirs = git(mine, "rev-parse", "origin/dev")
    p = api.plan_promotion(["a"], "staging", registry=str(mine))
    # the newer copy is read, and said so
    assert p.notes == ("reading origin/dev: your dev is 1 commit behind (mr sync updates it)",)
    assert p.source_sha == theirs and dict(p.read_from) == {"staging": "staging", "dev": "origin/dev"}
    assert api.plan_promotion(["a"], "staging").notes == ()


def test_every_hop_of_a_chain_is_held_to_the_target_stage_allowed_sources(
    linked: Path, project: Path, tmp_path: Path
) -> None:
    other = make_project(tmp_path / "other")
    hop = f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: file://{other}\nrev: main\n"
    commit(project, {"models/hop.mlem": hop})
    h = f"link_type: model\nobject_type: link\npath: models/hop.mlem\nproject: file://{project}\nrev: main\n"
    (linked / "h.mlem").write_text(h)
    (linked / "cur.mlem").write_text("link_type: model\nobject_type: link\npath: h.mlem\n")
    commit_all(linked, "h and its alias")
    api.promote(["h"], "staging")
    git(linked, "checkout", "-q", "staging")
    config = (linked / ".mr.yaml").read_text()
    (linked / ".mr.yaml").write_text(config.replace("allowed_sources: []", f"allowed_sources: ['file://{project}']"))
    commit_all(linked, "only the project")
    git(linked, "checkout", "-q", "dev")
    outside = (
        f"file://{project}@main:models/hop.mlem: project file://{other} is not under allowed_sources (file://{project})"
    )
    for name, via in (("h", "models/hop.mlem"), ("cur", "h.mlem")):
        with pytest.raises(PromotionRefused) as e:
            api.plan_promotion([name], "staging")
        assert e.value.problems == (Problem(f"dev:{name}.mlem", 3, f"following {via}: {outside}"),)


def test_apply_passes_on_sign_and_plans_again_when_the_stage_moved(
    linked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git would sign (commit.gpgSign) with a program that always fails: sign=False must not try
    git(linked, "config", "commit.gpgSign", "true")
    git(linked, "config", "gpg.program", "false")
    reg = Registry.open(str(linked))
    review = stagecommit.apply_to_branch(reg, promotion.plan_on(reg, ["a"], "staging"), "review", sign=False)
    assert git(linked, "log", "-1", "--format=%G?", "review") == "N" and review.commit
    raced: list[str] = []

    def another_writer(plan: object) -> None:
        if not raced:
            new = git(linked, "commit-tree", "staging^{tree}", "-p", "staging", "-m", "another writer")
            git(linked, "update-ref", "refs/heads/staging", new)
            raced.append(new)

    monkeypatch.setattr(stagecommit.time, "sleep", lambda s: None)
    seams = stagecommit.Seams(before_swap=another_writer)
    first = promotion.plan_on(reg, ["a"], "staging")
    done = stagecommit.apply(reg, first, lambda p: promotion.replan(reg, p), sign=False, seams=seams)
    assert done.plan.base == raced[0] == git(linked, "rev-parse", "staging^")
    assert done.commit == git(linked, "rev-parse", "staging")
    assert git(linked, "log", "-1", "--format=%G?", "staging") == "N"


def test_a_self_hosted_web_url_is_read_with_the_target_stages_hosts(
    registry: Path,
    git_daemon,
    tmp_path: Path,
    isolated_git: Path,  # type: ignore[no-untyped-def]
) -> None:
    """``hosts:`` in the target stage's .mr.yaml makes its web URLs name a folder and a rev."""
    from tests.helpers import self_hosted

    name = f"mono-{tmp_path.name}"
    spec = self_hosted(git_daemon, isolated_git, name)
    # every stage declares the self-hosted GitLab
    for stage in ("dev", "staging", "production"):
        git(registry, "checkout", "-q", stage)
        with open(registry / ".mr.yaml", "a") as f:
            f.write("hosts: {git.corp.example: gitlab}\n")
        if stage == "dev":
            (registry / "rf.mlem").write_text(
                f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\n"
            )
            # an alias to it: followed on the target stage as the promotion leaves it
            (registry / "cur.mlem").write_text("link_type: model\nobject_type: link\npath: rf.mlem\n")
        commit_all(registry, f"{stage}: hosts")
    git(registry, "checkout", "-q", "dev")
    plan = api.plan_promotion(["rf"], "staging")
    (change,) = plan.changes
    # resolved through the declared host: the folder ml/ of the repository at main
    assert change.sha == git(git_daemon.base / name, "rev-parse", "main")
    assert b"project: " + spec.encode() in change.new
    # the alias is read through the same hosts: it resolves to rf's folder and rev, so nothing is refused
    both = api.plan_promotion(["cur", "rf"], "staging")
    assert [(x.name, x.sha, x.changed) for x in both.links] == [("cur", None, True), ("rf", change.sha, True)]
