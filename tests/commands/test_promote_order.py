"""Stage order as policy: ``policy: {production: {from: [staging]}}``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from mr.config import load_config
from mr.errors import ConfigError
from tests.helpers import commit_all, git

ORDER = "stages: [dev, staging, production]\npolicy:\n  production:\n    from: [staging]\n"


def set_policy(registry: Path, text: str) -> None:
    """``text`` as .mr.yaml on every stage branch."""
    for stage in ("dev", "staging", "production"):
        git(registry, "checkout", "-q", stage)
        (registry / ".mr.yaml").write_text(text)
        commit_all(registry, "policy")
    git(registry, "checkout", "-q", "dev")


@pytest.fixture
def ordered(registry: Path, project: Path) -> Path:
    api.link("models/rf", source_project=str(project), target="big")
    commit_all(registry)
    set_policy(registry, ORDER)
    return registry


def tip(registry: Path, stage: str) -> str:
    return git(registry, "rev-parse", stage)


def test_a_promotion_that_skips_a_stage_is_refused_naming_the_order(ordered: Path, mr) -> None:  # type: ignore[no-untyped-def]
    before = tip(ordered, "production")
    r = mr("promote", "big", "--from", "dev", "--to", "production", "--yes")
    assert r.code == 1
    assert r.err.strip() == (
        "mr: error: nothing promoted: production takes promotions only from staging "
        "(policy.production.from in .mr.yaml), not from dev"
    )
    assert tip(ordered, "production") == before
    # in order, it goes through
    assert mr("promote", "big", "--to", "staging", "--yes").code == 0
    r = mr("promote", "big", "--to", "production", "--yes")
    assert r.code == 0, r.err


def test_the_order_is_checked_before_any_remote_is_contacted(ordered: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    git(ordered, "remote", "add", "origin", "git://127.0.0.1:1/nowhere")  # contacting it would fail differently
    for args in (("--push", "origin"), ("--fetch",)):
        r = mr("promote", "big", "--from", "dev", "--to", "production", "--yes", *args)
        assert r.code == 1 and "takes promotions only from staging" in r.err, (args, r.err)


def test_without_an_order_any_promotion_goes(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.link("models/rf", source_project=str(project), target="big")
    commit_all(registry)
    r = mr("promote", "big", "--from", "dev", "--to", "production", "--yes")
    assert r.code == 0, r.err


def test_verify_reports_promotions_that_broke_the_order_since_it_was_policy(ordered: Path, mr) -> None:  # type: ignore[no-untyped-def]
    # a hand-made commit recording a promotion from dev, past the rule
    git(ordered, "checkout", "-q", "production")
    git(ordered, "checkout", "-q", "dev", "--", "big.mlem")
    dev = tip(ordered, "dev")
    git(ordered, "commit", "-qm", f"Promote big to production\n\nMr-From: dev {dev}\nMr-Link: big\nMr-Rev: main -")
    bad = tip(ordered, "production")
    git(ordered, "checkout", "-q", "dev")
    r = mr("verify", "--stage", "production", "--offline", "--json")
    data = json.loads(r.out)
    found = [c for c in data["links"] if c["file"].startswith("production@")]
    assert r.code == 1
    assert [c["file"] for c in found] == [f"production@{bad[:12]}"]
    assert "promoted from dev" in found[0]["problems"][0]["message"]
    assert "takes promotions only from staging" in found[0]["problems"][0]["message"]


def test_a_commit_is_judged_by_its_parents_policy(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    """The promotion from dev that came before the rule is not held against the stage."""
    api.link("models/rf", source_project=str(project), target="big")
    commit_all(registry)
    api.promote(["big"], "production", source="dev", pin=True)
    set_policy(registry, ORDER)
    r = mr("verify", "--stage", "production", "--offline", "--json")
    assert not [c for c in json.loads(r.out)["links"] if c["file"].startswith("production@")], r.out


@pytest.mark.parametrize(
    ("policy", "said"),
    [
        ("from: [nowhere]", "policy.production.from: nowhere is not a stage (stages: dev, staging, production)"),
        ("from: [production]", "policy.production.from: a stage is not promoted from itself"),
        ("from: []", "policy.production.from must list the stages"),
        ("from: {a: 1}", "policy.production.from must list the stages"),
        ("from: [1]", "policy.production.from must list the stages"),
    ],
)
def test_a_bad_order_is_one_line_naming_the_file_and_line(policy: str, said: str) -> None:
    text = f"stages: [dev, staging, production]\npolicy:\n  production:\n    {policy}\n"
    with pytest.raises(ConfigError) as e:
        load_config(text.encode())
    assert said in str(e.value) and str(e.value).startswith(".mr.yaml:4:"), str(e.value)


def test_an_order_of_one_stage_may_be_written_plainly() -> None:
    text = b"stages: [dev, staging, production]\npolicy:\n  production:\n    from: staging\n"
    assert load_config(text).stage_policy("production").promote_from == ("staging",)


def test_init_writes_the_order_commented_out(tmp_path: Path) -> None:
    api.init(str(tmp_path / "r"))
    text = (tmp_path / "r" / ".mr.yaml").read_text()
    assert "    # from: [staging]" in text
    assert load_config(text.encode()).stage_policy("production").promote_from is None
    assert load_config(text.replace("# from", "from").encode()).stage_policy("production").promote_from == ("staging",)
