from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git, tag


def test_help_and_version(mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("--help")
    assert r.code == 0 and "init" in r.out and "link" in r.out and "show" in r.out
    assert mr("-h").code == 0
    from mr import __version__

    assert mr("--version").out.strip() == f"mr {__version__}"


def test_usage_error_exits_2(mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("link", "only-one-arg")
    assert r.code == 2 and "Missing argument" in r.err
    assert mr("frobnicate").code == 2


def test_init_link_show_roundtrip(mr, tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    reg = tmp_path / "reg"
    r = mr("init", str(reg), "--stages", "dev,prod")
    assert r.code == 0 and "dev -> prod" in r.out
    monkeypatch.chdir(reg)
    tag(project, "v1")
    r = mr("link", "--sp", str(project), "--rev", "v1", "models/rf", "churn")
    assert r.code == 0, r.err
    assert "Saved churn.mlem" in r.out
    r = mr("show")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["name", "type", "project", "path", "rev", "kind", "version"]
    assert lines[1].split() == ["churn", "model", "../models", "models/rf.mlem", "v1", "tag", "v1"]


def test_show_json_is_only_json(mr, registry: Path, project: Path) -> None:  # type: ignore[no-untyped-def]
    mr("link", "--sp", str(project), "models/rf", "a")
    r = mr("show", "--json", "--resolve")
    data = json.loads(r.out)
    assert data["version"] == 1 and data["stage"] is None
    (entry,) = data["links"]
    assert entry["name"] == "a" and entry["rev_kind"] == "branch"
    assert entry["sha"] == git(project, "rev-parse", "HEAD")


def test_show_stage_reads_branch_not_worktree(mr, registry: Path, project: Path) -> None:  # type: ignore[no-untyped-def]
    mr("link", "--sp", str(project), "models/rf", "committed")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link")
    mr("link", "--sp", str(project), "models/rf", "uncommitted")
    names = lambda r: [line.split()[0] for line in r.out.splitlines()[1:]]  # noqa: E731
    assert names(mr("show")) == ["committed", "uncommitted"]
    assert names(mr("show", "--stage", "dev")) == ["committed"]
    r = mr("show", "--stage", "staging")
    assert r.code == 0 and "no links" in r.err
    r = mr("show", "--stage", "nope")
    assert r.code == 1 and r.err.startswith("mr: error: no branch nope")


def test_show_reports_bad_file_with_line_and_exits_1(mr, registry: Path, project: Path) -> None:  # type: ignore[no-untyped-def]
    mr("link", "--sp", str(project), "models/rf", "good")
    (registry / "bad.mlem").write_text("link_type: model\nobject_type: link\npath: a\nrev: 0123\n")
    r = mr("show")
    assert r.code == 1
    assert r.err.strip() == "bad.mlem:4: error: rev must be a string; quote it: rev: '0123'"
    assert "good" in r.out


def test_link_errors_are_one_line_without_traceback(mr, registry: Path, project: Path) -> None:  # type: ignore[no-untyped-def]
    r = mr("link", "--sp", str(project), "models/nope", "x")
    assert r.code == 1 and r.err.count("\n") == 1 and "Traceback" not in r.err
    assert r.err.startswith("mr: error: models/nope.mlem not found")
    mr("link", "--sp", str(project), "models/rf", "x")
    r = mr("link", "--sp", str(project), "models/rf", "x")
    assert r.code == 1 and "--force" in r.err
    r = mr("link", "--sp", str(project), "--rev", "a b", "models/rf", "y")
    assert r.code == 2 and "not a branch, tag or commit" in r.err


def test_outside_a_repository(mr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    r = mr("show")
    assert r.code == 1 and "not inside a git repository" in r.err and "mr init" in r.err


def test_unexpected_error_is_one_line_unless_debug(mr, registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from mr import api

    def boom(*a: object, **k: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(api, "show", boom)
    r = mr("show")
    assert r.code == 1 and r.err.count("\n") == 1 and "internal error: ZeroDivisionError: oops" in r.err
    monkeypatch.setenv("MR_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        mr("show")


def test_link_json(mr, registry: Path, project: Path) -> None:  # type: ignore[no-untyped-def]
    r = mr("link", "--json", "--pin", "--sp", str(project), "models/rf", "p")
    data = json.loads(r.out)
    assert data["link"]["pinned_from"] == "main" and len(data["link"]["rev"]) == 40


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from mr.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pygit2', 'rich', 'ruamel.yaml', 'dvc_data', 'dvc_objects', 'dvc_http', 'fsspec') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]")


@pytest.mark.parametrize(
    ("argv", "loaded"),
    [
        (["show", "--all-stages"], ["mr.results.show"]),
        (["verify", "-q"], ["mr.results.verify"]),
    ],
)
def test_a_command_loads_only_its_own_results(registry: Path, argv: list[str], loaded: list[str]) -> None:
    """A result type is made when its module is first used: a command pays for its own family only."""
    code = (
        "import sys\n"
        "from mr.cli import main\n"
        f"main({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('mr.results.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=registry, check=True)
    assert out.stdout.strip().splitlines()[-1] == repr(loaded)


def test_every_result_is_named_where_it_lives() -> None:
    """``mr.results`` names each type of its modules once, and finds it where it is defined."""
    import ast
    import importlib

    import mr.results as results

    defined: dict[str, str] = {}
    for path in sorted(Path(results.__file__).parent.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                defined[node.name] = path.stem
            elif isinstance(node, ast.Assign):
                defined.update((t.id, path.stem) for t in node.targets if isinstance(t, ast.Name))
    assert results._HOMES == defined
    assert sorted(results.__all__) == sorted(defined) == dir(results)
    for name, home in defined.items():
        assert getattr(results, name) is getattr(importlib.import_module(f"mr.results.{home}"), name)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        results.Nothing  # noqa: B018


def test_installed_entry_point_runs(tmp_path: Path, project: Path) -> None:
    """The real executable, in a subprocess, piped: plain text, exit codes."""
    reg = tmp_path / "reg"
    env = dict(os.environ)
    run = lambda *a: subprocess.run([sys.executable, "-m", "mr", *a], cwd=reg, capture_output=True, text=True, env=env)  # noqa: E731
    reg.mkdir()
    assert run("init").returncode == 0
    r = run("link", "--sp", str(project), "models/rf", "m")
    assert r.returncode == 0, r.stderr
    r = run("show")
    assert r.returncode == 0 and "\x1b[" not in r.stdout and "m  " in r.stdout
    assert run("show", "--stage", "missing").returncode == 1


def test_rich_table_on_forced_colour(mr, registry: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    mr("link", "--sp", str(project), "models/rf", "m")
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR")
    r = mr("show")
    assert r.code == 0, r.err
    assert "┃" in r.out and "│" in r.out, r.out  # a rich table: heavy header rule, light column rules


def test_demo_runs_without_a_git_identity(tmp_path: Path) -> None:
    bare_home = tmp_path / "fresh-home"
    bare_home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["HOME"] = str(bare_home)
    out = subprocess.run(
        [sys.executable, "-m", "mr", "demo", "--dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "$ mr init" in out.stdout and "$ mr show" in out.stdout and "pin" in out.stdout
    assert not (tmp_path / "d").exists()
