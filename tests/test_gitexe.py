"""mr.gitexe: every git mr runs gets one environment rule, and dies with mr."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mr import gitexe
from tests.helpers import git
from tests.servers import Trickler
from tests.test_wire import _children, run_mr, wait_for, write_link


@pytest.mark.parametrize("var", sorted(gitexe.REPOSITORY_VARIABLES))
def test_each_variable_naming_another_repository_is_removed(var: str) -> None:
    env = gitexe.environment(base={var: "/elsewhere", "PATH": "/usr/bin", "HOME": "/home/u"})
    assert var not in env
    assert (env["PATH"], env["HOME"]) == ("/usr/bin", "/home/u")


def test_push_options_of_a_hook_are_removed() -> None:
    env = gitexe.environment(base={"GIT_PUSH_OPTION_COUNT": "1", "GIT_PUSH_OPTION_0": "ci.skip"})
    assert not [v for v in env if v.startswith("GIT_PUSH_OPTION")]


def test_command_line_config_is_kept_for_the_user_and_dropped_under_a_hook() -> None:
    users = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader", "GIT_CONFIG_VALUE_0": "X: y"}
    users["GIT_CONFIG_PARAMETERS"] = "'core.x'='1'"
    assert {k: v for k, v in gitexe.environment(base=users).items() if k in users} == users
    hooked = gitexe.environment(base={**users, "GIT_DIR": "."})
    assert not [k for k in hooked if k in users]


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (None, "file:git:http:https:ssh"),
        ("ext:file:git", "file:git"),  # ext:: is never allowed, whatever the user says
        ("https", "https"),
        ("", ""),
    ],
)
def test_transports_are_narrowed_by_the_user_never_widened(user: str | None, allowed: str) -> None:
    base = {} if user is None else {"GIT_ALLOW_PROTOCOL": user}
    assert gitexe.environment(base=base)["GIT_ALLOW_PROTOCOL"] == allowed


def test_a_hook_s_object_directory_does_not_swallow_fetched_objects(
    registry: Path, served: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mr
) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "hooked.git"
    git(tmp_path, "init", "-q", "--bare", str(other))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / "objects"))
    monkeypatch.setenv("GIT_QUARANTINE_PATH", str(other / "objects"))
    _, url = served
    write_link(registry, "remote", url)
    r = mr("verify")
    assert r.code == 0, r.out + r.err
    assert not any((other / "objects").glob("pack/*.pack"))


def test_an_ext_link_runs_nothing_even_when_the_user_allows_ext(
    registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mr
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "ext:file:git")
    monkeypatch.chdir(tmp_path)
    write_link(registry, "evil", "ext::sh -c touch% PWNED")
    r = mr("verify", "--registry", str(registry))
    assert r.code == 1
    assert not (tmp_path / "PWNED").exists() and not (registry / "PWNED").exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_killed_mr_leaves_no_git_behind(registry: Path, trickler: Trickler) -> None:
    write_link(registry, "slow", trickler.url())
    proc = run_mr(registry, "verify", timeout="300")
    try:
        wait_for(lambda: trickler.connections >= 1 and bool(_children(proc.pid)))
        gits = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        # the fetch would trickle on for MR_GIT_TIMEOUT (300 s): it must end with mr, long before that
        wait_for(lambda: not any(_alive(pid) for pid in gits), seconds=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in gits:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_run_kills_git_at_its_deadline() -> None:
    with pytest.raises(gitexe.TimedOut):
        gitexe.run(["-c", "alias.wait=!sleep 30", "wait"], deadline=time.monotonic() + 0.5)


def test_a_missing_git_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(gitexe.GitError, match=r"^git is not installed \(mr uses it to sign commits\); install git$"):
        gitexe.run(["version"], deadline=time.monotonic() + 5, what="sign commits")


def test_nothing_starts_while_mr_is_stopping() -> None:
    with gitexe.stopped(), pytest.raises(gitexe.Interrupted):
        gitexe.run(["version"], deadline=time.monotonic() + 5)
    assert gitexe.run(["version"], deadline=time.monotonic() + 30).out.startswith(b"git version")


def test_git_runs_with_no_terminal_and_in_a_session_of_its_own() -> None:
    done = gitexe.run(["-c", "alias.sid=!ps -o sid= -p $$", "sid"], deadline=time.monotonic() + 30)
    assert int(done.out.decode().split()[0]) != os.getsid(0)
    assert subprocess.run(["true"]).returncode == 0


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        (
            "fatal: unable to access 'https://u:pw@h.example/x/': The requested URL returned error: 500\n",
            "unable to access 'https://u:***@h.example/x/': The requested URL returned error: 500",
        ),
        (
            "fatal: Could not read from remote repository.\n\n"
            "Please make sure you have the correct access rights\nand the repository exists.\n",
            "Could not read from remote repository.",
        ),
        ("warning: something\nerror: first\nfatal: the verdict\nhint: advice\n", "the verdict"),
        ("plain words without a prefix\n", "plain words without a prefix"),
        ("", "git failed"),
    ],
)
def test_git_s_verdict_is_its_last_fatal_line_with_the_url_kept_and_redacted(stderr: str, said: str) -> None:
    from mr.transport import explain

    assert explain(stderr, "https://u:pw@h.example/x") == said
