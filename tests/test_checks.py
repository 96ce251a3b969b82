"""mr.checks: the rules ``mr verify`` applies to a link, checked on the exact problems they report."""

from __future__ import annotations

from typing import Any

from mr.checks import credential_problems, hop_problem, policy_problems, problem, source_allowed, type_problem
from mr.config import Config, StagePolicy
from mr.model import Link, Problem

SHA = "a" * 40
LINES = {"link_type": 1, "path": 2, "project": 3, "rev": 4, "repo": 5}
CONFIG = Config(
    allowed_sources=("https://h/org", "https://u:p@h/o2"),
    policy={"production": StagePolicy(require_pinned=True), "staging": StagePolicy(require_pinned=False)},
)
NOT_UNDER = "project {} is not under allowed_sources (https://h/org, https://u:***@h/o2)"
PINNED = "stage production requires pinned links; rev {} is not a full commit SHA (mr link --pin, or mr promote pins)"
CARRIES = "the project URL carries {} ({}); remove it and let git's credential helper or ssh-agent supply it"


def link(**fields: Any) -> Link:
    base: dict[str, Any] = {"link_type": "model", "path": "models/rf", "name": "rf", "file": "rf.mlem", "lines": LINES}
    return Link(**{**base, **fields})


def test_problem_names_the_file_the_line_and_the_severity() -> None:
    assert problem(link(), "m", "rev") == Problem("rf.mlem", 4, "m", "error")
    assert problem(link(), "m", "rev", "warning") == Problem("rf.mlem", 4, "m", "warning")
    assert problem(link(), "m") == Problem("rf.mlem", None, "m", "error")
    assert problem(link(), "m", "params") == Problem("rf.mlem", None, "m", "error")
    assert problem(Link("model", "p", name="n"), "m") == Problem("n", None, "m", "error")
    assert problem(Link("model", "p"), "m") == Problem("", None, "m", "error")


def test_a_project_under_allowed_sources_on_an_open_stage_has_no_problem() -> None:
    assert policy_problems(link(project="https://h/org/r"), CONFIG, None) == []
    assert policy_problems(link(project="https://h/org/r"), CONFIG, "dev") == []
    assert policy_problems(link(project="https://h/org/r"), CONFIG, "staging") == []
    assert policy_problems(link(project="https://h/org/r", rev=SHA), CONFIG, "production") == []


def test_a_project_outside_allowed_sources_is_reported_on_its_field_with_redacted_prefixes() -> None:
    assert policy_problems(link(project="https://h/other/r", rev=SHA), CONFIG, None) == [
        Problem("rf.mlem", 3, NOT_UNDER.format("https://h/other/r"))
    ]
    assert policy_problems(link(project="https://h/other", project_field="repo", rev=SHA), CONFIG, None) == [
        Problem("rf.mlem", 5, NOT_UNDER.format("https://h/other"))
    ]
    assert policy_problems(link(project="/local/path", rev=SHA), CONFIG, None) == [
        Problem("rf.mlem", 3, NOT_UNDER.format("/local/path"))
    ]


def test_without_allowed_sources_any_project_passes() -> None:
    assert policy_problems(link(project="/local/path"), Config(), None) == []
    assert policy_problems(link(project="https://h/x"), Config(), "production") == []
    assert source_allowed("/local", Config()) is True
    assert source_allowed("/local", CONFIG) is False
    assert source_allowed("https://h/org/x", CONFIG) is True
    assert source_allowed("https://h/orgx", CONFIG) is False


def test_a_protected_stage_requires_a_full_sha() -> None:
    assert policy_problems(link(project="https://h/org/r"), CONFIG, "production") == [
        Problem("rf.mlem", 2, PINNED.format("(default branch)"))
    ]
    assert policy_problems(link(project="https://h/org/r", rev="main"), CONFIG, "production") == [
        Problem("rf.mlem", 4, PINNED.format("main"))
    ]
    assert policy_problems(link(project="https://h/org/r", rev=SHA[:39]), CONFIG, "production") == [
        Problem("rf.mlem", 4, PINNED.format(SHA[:39]))
    ]
    # an alias (no project, no rev) is fixed by the stage branch that holds it
    assert policy_problems(link(), CONFIG, "production") == []
    # an alias with a rev is not
    assert policy_problems(link(rev="main"), CONFIG, "production") == [Problem("rf.mlem", 4, PINNED.format("main"))]


def test_every_problem_is_reported_in_order() -> None:
    assert policy_problems(link(project="https://u:p@h/other/r", rev="main"), CONFIG, "production") == [
        Problem("rf.mlem", 3, CARRIES.format("a password", "https://u:***@h/other/r")),
        Problem("rf.mlem", 3, NOT_UNDER.format("https://u:***@h/other/r")),
        Problem("rf.mlem", 4, PINNED.format("main")),
    ]


def test_credentials_are_reported_whatever_the_policy() -> None:
    assert credential_problems(link(project="https://tok@h/org/r", project_field="repo")) == [
        Problem("rf.mlem", 5, CARRIES.format("a user name or token", "https://***@h/org/r"))
    ]
    assert credential_problems(link(project="https://h/org/r")) == []
    assert credential_problems(link()) == []


def test_hop_problem() -> None:
    assert hop_problem(link(), CONFIG) is None
    assert hop_problem(link(project="https://h/org/x"), CONFIG) is None
    assert hop_problem(link(project="https://h/zz"), None) is None
    assert hop_problem(link(project="https://h/zz"), Config()) is None
    assert (
        hop_problem(link(project="https://t@h/org/x"), CONFIG)
        == "rf.mlem: the project URL carries a user name or token (https://***@h/org/x)"
    )
    assert hop_problem(link(project="https://h/zz"), CONFIG) == "rf.mlem: " + NOT_UNDER.format("https://h/zz")
    assert hop_problem(Link("model", "p/q", project="https://h/zz"), CONFIG) == "p/q: " + NOT_UNDER.format(
        "https://h/zz"
    )
    assert hop_problem(Link("model", "p/q", project="https://u:p@h/x"), None) == (
        "p/q: the project URL carries a password (https://u:***@h/x)"
    )


def test_type_problem() -> None:
    assert type_problem(link(), "model") is None
    assert type_problem(link(), "data") == Problem(
        "rf.mlem", 1, "link_type is model but models/rf is a MLEM object of type data", "error"
    )
