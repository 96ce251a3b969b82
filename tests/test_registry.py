"""mr.registry: the one place that decides which copy of a stage is read, with which policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr.errors import RegistryError
from mr.registry import Registry
from tests.helpers import commit, git

STAGING_POLICY = "allowed_sources:\n- https://example.com/staging-only\n"


@pytest.fixture
def reg_with_policies(registry: Path) -> Path:
    """dev's .mr.yaml allows anything; staging's own allows one prefix."""
    git(registry, "checkout", "-q", "staging")
    lines = (registry / ".mr.yaml").read_text().splitlines(keepends=True)
    base = "".join(line for line in lines if not line.startswith("allowed_sources:"))
    commit(registry, {".mr.yaml": base + STAGING_POLICY}, "staging policy")
    git(registry, "checkout", "-q", "dev")
    return registry


def test_the_work_tree_view_reads_the_work_tree_under_its_own_config(reg_with_policies: Path) -> None:
    reg = Registry.open(str(reg_with_policies))
    view = reg.view()
    assert (view.stage, view.commit) == (None, None)
    assert view.config.allowed_sources == ()
    assert view.committed() == git(reg_with_policies, "rev-parse", "dev")
    reader = view.reader(fetch=False, allow_local=True)
    assert (reader.alias_rev, reader.alias_label, reader.policy) == (None, None, view.config)
    assert reader.allow_local and not reader.untrusted_root


def test_a_stage_view_reads_its_tip_with_its_own_config(reg_with_policies: Path) -> None:
    reg = Registry.open(str(reg_with_policies))
    view = reg.view("staging")
    tip = git(reg_with_policies, "rev-parse", "staging")
    assert (view.stage, view.commit, view.committed()) == ("staging", tip, tip)
    assert view.config.allowed_sources == ("https://example.com/staging-only",)
    reader = view.reader(overlay={"a.mlem": b"x"})
    assert (reader.alias_rev, reader.alias_label, reader.overlay) == (tip, "staging", {"a.mlem": b"x"})
    assert reader.policy is view.config
    assert view.reader(alias_at="0" * 40).alias_rev == "0" * 40


def test_a_work_tree_headed_for_a_stage_is_judged_by_that_stage_s_config(reg_with_policies: Path) -> None:
    view = Registry.open(str(reg_with_policies)).view(None, policy_of="staging")
    assert view.commit is None
    assert view.config.allowed_sources == ("https://example.com/staging-only",)


def test_a_bare_registry_is_read_at_head_s_branch(reg_with_policies: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(reg_with_policies), str(bare))
    view = Registry.open(str(bare)).view()
    assert view.commit == git(bare, "rev-parse", "HEAD")


def test_a_fetched_tip_is_what_every_later_view_reads(reg_with_policies: Path) -> None:
    reg = Registry.open(str(reg_with_policies))
    dev = git(reg_with_policies, "rev-parse", "dev")
    reg.read_stage_at("staging", dev)
    assert reg.view("staging").commit == dev


def test_a_missing_stage_names_what_there_is(reg_with_policies: Path) -> None:
    with pytest.raises(RegistryError, match="no branch nope in .* \\(branches: dev, production, staging\\)"):
        Registry.open(str(reg_with_policies)).view("nope")
