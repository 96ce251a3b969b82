"""Completion, man pages and output conventions: mr as a terminal program."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mr import api
from tests.helpers import Terminal, examples, git, tag
from tools.generate import generated

ROOT = Path(__file__).resolve().parent.parent


def complete(cwd: Path, line: str) -> list[str]:
    """Ask mr for completions the way click's bash script does."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = dict(os.environ, COMP_WORDS=line, COMP_CWORD=str(cword), _MR_COMPLETE="bash_complete")
    out = subprocess.run([sys.executable, "-m", "mr"], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return [item.split(",", 1)[1] for item in out.stdout.splitlines() if item]


@pytest.fixture
def staged(registry: Path, project: Path) -> Path:
    tag(project, "v1.0")
    api.link("models/rf", source_project=str(project), target="churn")
    api.link("models/rf", source_project=str(project), target="churn/candidate")
    api.link("models/rf", source_project=str(project), target="fraud")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    return registry


def test_completion_values(staged: Path) -> None:
    assert complete(staged, "mr promote ") == ["churn", "churn/candidate", "fraud"]
    assert complete(staged, "mr promote ch") == ["churn", "churn/candidate"]
    assert complete(staged, "mr promote churn ") == ["churn/candidate", "fraud"]
    assert complete(staged, "mr show fr") == ["fraud"]
    assert complete(staged, "mr promote churn --to ") == ["dev", "staging", "production"]
    assert complete(staged, "mr show --diff st") == ["staging"]
    assert complete(staged, "mr verify --stage p") == ["production"]
    assert complete(staged, "mr verify ") == ["churn.mlem", "churn/candidate.mlem", "fraud.mlem"]
    assert complete(staged, "mr link --sp ../models --rev ") == ["main", "v1.0"]
    assert complete(staged, "mr completion ") == ["bash", "zsh", "fish"]
    assert complete(staged, "mr get ch") == ["churn", "churn/candidate"]
    assert complete(staged, "mr get churn --stage s") == ["staging"]
    (staged / ".mr.yaml").write_text("stages:\n  - qa   # first\n  - live\n")
    assert complete(staged, "mr promote churn --to ") == ["qa", "live"]
    git(staged, "branch", "hotfix")
    git(staged, "pack-refs", "--all")
    assert "hotfix" in complete(staged, "mr promote churn --from ")


def test_completion_of_cached_remote_revs(staged: Path, served: tuple[Path, str]) -> None:
    path, url = served
    tag(path, "v9")
    assert complete(staged, f"mr link --sp {url} --rev ") == []  # not cached: nothing fetched
    api.link("models/rf", source_project=url, target="remote")
    assert complete(staged, f"mr link --sp {url} --rev ") == ["main", "v9"]


def test_completion_imports_nothing_heavy(staged: Path) -> None:
    code = (
        "import sys, os\n"
        "os.environ.update(COMP_WORDS='mr promote ', COMP_CWORD='2', _MR_COMPLETE='bash_complete')\n"
        "from mr.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('pygit2', 'rich', 'ruamel.yaml') if m in sys.modules], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=staged, capture_output=True, text=True)
    assert out.stderr.strip().endswith("[]"), out.stderr
    assert "churn" in out.stdout


def test_completion_command_prints_the_committed_scripts(mr) -> None:  # type: ignore[no-untyped-def]
    for shell, name in (("bash", "mr"), ("zsh", "_mr"), ("fish", "mr.fish")):
        r = mr("completion", shell)
        assert r.code == 0 and r.out == (ROOT / "completions" / name).read_text()
    assert mr("completion", "tcsh").code == 2


def test_generated_files_are_current() -> None:
    stale = [
        path for path, text in generated().items() if not (ROOT / path).is_file() or (ROOT / path).read_text() != text
    ]
    assert stale == [], f"stale generated files (run python -m tools.generate): {stale}"
    man = sorted(p.name for p in (ROOT / "man").glob("*.1"))
    setup = (ROOT / "setup.cfg").read_text()
    assert all(f"man/{m}" in setup for m in man), "setup.cfg data_files must list every man page"
    commands = {"mr.1"} | {f"mr-{c}.1" for c in __import__("mr.cli").cli.cli.commands}
    assert set(man) == commands


def test_man_pages_lint_clean_and_have_the_sections() -> None:
    mandoc = shutil.which("mandoc")
    assert mandoc, "mandoc is needed (.ci/run installs it)"
    pages = sorted(str(p) for p in (ROOT / "man").glob("*.1"))
    out = subprocess.run([mandoc, "-T", "lint", "-W", "warning", *pages], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout + out.stderr == ""
    for page in pages:
        text = Path(page).read_text()
        for section in (
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
        ):
            assert f".SH {section}\n" in text, (page, section)
        assert "MR_CACHE_DIR" in text and "NO_COLOR" in text and "MR_DEBUG" in text
        # text escaped twice shows its backslashes: mr get \-\-json
        rendered_page = subprocess.run([mandoc, "-T", "utf8", page], capture_output=True, text=True).stdout
        assert "\\-" not in rendered_page.replace("\b", ""), page
    rendered = subprocess.run(
        [mandoc, "-T", "utf8", str(ROOT / "man" / "mr-promote.1")], capture_output=True, text=True
    ).stdout
    assert "--dry-run" in rendered.replace("\b", "").replace("--", "--")


def test_real_bash_completes_link_names(staged: Path, tmp_path: Path) -> None:
    env_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    rc = tmp_path / "bashrc"
    rc.write_text(f"export PATH='{env_path}'\nsource '{ROOT / 'completions' / 'mr'}'\ncd '{staged}'\nPS1='$ '\n")
    terminal = Terminal(f"mr-test-{os.getpid()}", rc, 200, 40)
    try:
        terminal.wait_for("$", 20)
        terminal.send("mr promote ch", "Tab")
        terminal.wait_for("$ mr promote churn", 20)
        terminal.send("Tab")
        time.sleep(0.3)
        terminal.send("Tab")
        terminal.wait_for("churn/candidate", 20)
        terminal.send("C-u", "mr show --diff stag", "Tab")
        terminal.wait_for("$ mr show --diff staging", 20)
    finally:
        terminal.close()


def test_colour_only_on_request_and_streams(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        e.update(env)
        return subprocess.run([sys.executable, "-m", "mr", *args], cwd=staged, capture_output=True, text=True, env=e)

    plain = run("show")
    assert "\x1b[" not in plain.stdout and plain.stderr == ""
    forced = run("show", FORCE_COLOR="1")
    assert "┃" in forced.stdout or "│" in forced.stdout
    assert "\x1b[" in forced.stdout
    colour = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7])[;m]")
    no_colour = run("show", FORCE_COLOR="1", NO_COLOR="1")
    assert not colour.search(no_colour.stdout)  # NO_COLOR: styles may stay, colours go
    bad = run("show", "--stage", "nope")
    assert bad.stdout == "" and bad.stderr.startswith("mr: error:")


def test_quiet_and_verbose(staged: Path, mr) -> None:  # type: ignore[no-untyped-def]
    assert mr("verify", "-q").out == ""
    r = mr("verify", "-v")
    assert "churn.mlem: ok " in r.out and r.out.rstrip().endswith("0 failed\npolicy: dev (the checked-out branch)")
    assert mr("verify", "-q", "-v").code == 2
    r = mr("promote", "churn", "--to", "staging", "-q")
    assert r.code == 0 and r.out == ""
    assert mr("link", "--sp", "../models", "models/rf", "x", "-q").out == ""


def test_remote_registry_is_cached_and_fetched(staged: Path, git_daemon, mr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mr.cachepaths import cache_path

    served = git_daemon.base / f"{tmp_path.name}-registry.git"
    git(staged, "clone", "-q", "--bare", str(staged), str(served))
    url = git_daemon.url(served.name)
    r = mr("show", "--registry", url)
    assert r.code == 0 and "churn/candidate" in r.out
    cache = Path(cache_path(url))
    marker = cache / "mr-test-marker"
    marker.write_text("still the same cache")
    # a new link lands on the server; the next call fetches into the same cache
    api.link("models/rf", source_project=str(staged.parent / "models"), target="late", target_project=str(staged))
    git(staged, "add", "-A")
    git(staged, "commit", "-qm", "late")
    git(staged, "push", "-q", str(served), "dev")
    r = mr("show", "--registry", url, "--stage", "dev")
    assert "late" in r.out and marker.exists()
    assert mr("verify", "--registry", url, "--stage", "dev", "--offline", "-q").code in (0, 1)
    assert mr("show", "--registry", url, "--all-stages").code == 0
    r = mr("link", "--registry", url, "models/rf", "x")
    assert r.code == 1 and "works with show and verify" in r.err


def test_remote_registry_is_named_by_its_url(staged: Path, git_daemon, mr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    served = git_daemon.base / f"{tmp_path.name}-named.git"
    git(staged, "clone", "-q", "--bare", str(staged), str(served))
    git(served, "branch", "empty", git(served, "rev-list", "--max-parents=0", "dev"))
    git(served, "symbolic-ref", "HEAD", "refs/heads/empty")
    url = git_daemon.url(served.name).replace("git://", "git://bob:hunter2@")
    r = mr("show", "--registry", url, "--json")
    assert r.code == 0
    shown = json.loads(r.out)
    assert shown["registry"] == url.replace("bob:hunter2@", "bob:***@")
    assert shown["stage"] == "empty" and shown["links"] == []
    r = mr("show", "--registry", url)
    assert r.err.strip() == f"no links in stage empty of {url.replace('hunter2', '***')}"
    assert "hunter2" not in r.out + r.err


@given(st.text(max_size=30) | st.text(alphabet=st.characters(max_codepoint=0xA0), max_size=30))
@settings(max_examples=examples(400), deadline=None)
def test_field_skips_the_escaper_only_for_printable_ascii(text: str) -> None:
    """Printable ASCII goes out as it is; anything else through the escaper, as before the shortcut."""
    from mr.terminal import _CONTROL, _escape, field
    from mr.urls import redact

    assert field(text) == _CONTROL.sub(_escape, redact(text))
