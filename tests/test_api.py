"""mr.api is the public Python API: its names and signatures change only on purpose."""

from __future__ import annotations

import inspect

import pytest

from mr import api

#: every public function with its signature, as ``inspect`` prints it (annotations are strings)
SIGNATURES = [
    "check_get(folder: 'str') -> 'CheckResult'",
    "get(name: 'str', stage: 'str | None' = None, out: 'str | None' = None, registry: 'str | None' = None, force: 'bool' = False, allow_local: 'bool' = False, progress: 'Callable[[str, int, int], None] | None' = None, dvc_remote: 'str | None' = None) -> 'GetResult'",
    "init(path: 'str' = '.', stages: 'tuple[str, ...] | list[str] | None' = None, push: 'str | None' = None) -> 'InitResult'",
    "link(source: 'str', source_project: 'str | None' = None, rev: 'str | None' = None, target: 'str | None' = None, target_project: 'str | None' = None, follow_links: 'bool' = True, absolute: 'bool' = False, pin: 'bool' = False, force: 'bool' = False, *, source_repo: 'str | None' = None, target_repo: 'str | None' = None, external: 'bool | None' = None, allow_local: 'bool' = False) -> 'Link'",
    "link_at(name: 'str', at: 'str', registry: 'str | None' = None, remote: 'str | None' = None) -> 'LinkAt'",
    "link_field(name: 'str', field: 'str', stage: 'str | None' = None, registry: 'str | None' = None, remote: 'str | None' = None, allow_local: 'bool' = False) -> 'str'",
    "link_history(name: 'str', registry: 'str | None' = None, remote: 'str | None' = None, resolve: 'bool' = False) -> 'LinkHistory'",
    "load_meta(path: 'str', project: 'str | None' = None, rev: 'str | None' = None, follow_links: 'bool' = True, *, repo: 'str | None' = None) -> 'Link | Meta'",
    "outdated(stage: 'str | None' = None, registry: 'str | None' = None, offline: 'bool' = False, jobs: 'int' = 8, allow_local: 'bool' = False, remote: 'str | None' = None) -> 'OutdatedReport'",
    "plan_promotion(names: 'list[str]', to: 'str', source: 'str | None' = None, pin: 'bool | None' = None, message: 'str | None' = None, verify: 'bool' = True, registry: 'str | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'Promotion'",
    "plan_retirement(names: 'list[str]', stage: 'str', message: 'str | None' = None, verify: 'bool' = True, registry: 'str | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'Retirement'",
    "plan_rollback(names: 'list[str]', stage: 'str', to: 'str | None' = None, steps: 'int | None' = None, message: 'str | None' = None, verify: 'bool' = True, registry: 'str | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'Rollback'",
    "pre_receive(updates: 'str', registry: 'str | None' = None, offline: 'bool' = False, jobs: 'int' = 8) -> 'list[VerifyReport]'",
    "promote(names: 'list[str] | Promotion', to: 'str | None' = None, source: 'str | None' = None, pin: 'bool | None' = None, message: 'str | None' = None, verify: 'bool' = True, push: 'str | None' = None, registry: 'str | None' = None, branch: 'str | None' = None, force: 'bool' = False, sign: 'bool | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'PromotionResult'",
    "registry_root(registry: 'str | None' = None) -> 'str'",
    "retire(names: 'list[str] | Retirement', stage: 'str | None' = None, message: 'str | None' = None, verify: 'bool' = True, push: 'str | None' = None, registry: 'str | None' = None, branch: 'str | None' = None, force: 'bool' = False, sign: 'bool | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'RetireResult'",
    "rollback(names: 'list[str] | Rollback', stage: 'str | None' = None, to: 'str | None' = None, steps: 'int | None' = None, message: 'str | None' = None, verify: 'bool' = True, push: 'str | None' = None, registry: 'str | None' = None, branch: 'str | None' = None, force: 'bool' = False, sign: 'bool | None' = None, remote: 'str | None' = None, fetch: 'bool | str' = False) -> 'RollbackResult'",
    "show(registry: 'str | None' = None, stage: 'str | None' = None, resolve: 'bool' = False, offline: 'bool' = False, allow_local: 'bool' = False, remote: 'str | None' = None, at: 'str | None' = None) -> 'ShowResult'",
    "site(out: 'str | None' = None, registry: 'str | None' = None, remote: 'str | None' = None, resolve: 'bool' = False, verify: 'bool' = False, title: 'str | None' = None, now: 'int | None' = None) -> 'SiteResult'",
    "stage_diff(source: 'str', target: 'str', registry: 'str | None' = None, remote: 'str | None' = None) -> 'StageDiff'",
    "stage_matrix(registry: 'str | None' = None, remote: 'str | None' = None) -> 'Matrix'",
    "sync(registry: 'str | None' = None, remote: 'str | None' = None) -> 'SyncReport'",
    "verify(files: 'list[str] | None' = None, registry: 'str | None' = None, stage: 'str | None' = None, offline: 'bool' = False, jobs: 'int' = 8, progress: 'Callable[[str, int, int], None] | None' = None, allow_local: 'bool' = False, artifacts: 'bool' = False, remote: 'str | None' = None, policy_stage: 'str | None' = None) -> 'VerifyReport'",
]


def test_the_public_names_and_signatures_are_pinned() -> None:
    functions = [name for name in api.__all__ if callable(getattr(api, name))]
    assert [f"{name}{inspect.signature(getattr(api, name))}" for name in functions] == SIGNATURES


def test_the_public_constants_stay() -> None:
    assert api.FIELDS == ("rev", "sha", "project", "path", "url", "type", "version", "pinned_from")
    assert sorted(api.__all__) == sorted([s.partition("(")[0] for s in SIGNATURES] + ["FIELDS"])


def test_every_public_function_has_a_docstring() -> None:
    functions = [name for name in api.__all__ if callable(getattr(api, name))]
    assert [name for name in functions if not (getattr(api, name).__doc__ or "").strip()] == []


def test_each_public_name_is_found_in_its_command_module_only_when_used() -> None:
    import subprocess
    import sys

    from mr import api as mrapi

    assert sorted(mrapi._HOMES) == sorted(mrapi.__all__)
    code = (
        "import sys\nfrom mr import api\napi.show\n"
        "print(sorted(m for m in sys.modules if m.startswith('mr.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['mr.commands.show']"
    with pytest.raises(AttributeError):
        mrapi.no_such_verb  # noqa: B018
