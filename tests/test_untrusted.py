"""Stage branches, work trees and sources are untrusted input (issue 11).

Each test is one way a hostile commit, source or work tree once made mr
write outside the registry, skip a check, or print something it should not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mr import api
from mr import git as mrgit
from tests.helpers import git, tag
from tests.plumbing import commit_on


@pytest.fixture
def linked(registry: Path, project: Path) -> Path:
    """dev holds churn and sub/x (links to the project); staging has churn."""
    tag(project, "v1")
    api.link("models/rf", source_project=str(project), target="churn")
    api.link("models/rf", source_project=str(project), target="sub/x")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    return registry


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder outside the registry that must never change."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "authorized_keys").write_text("ssh-ed25519 AAAA precious\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


# --- symlinks on a stage and in the work tree ---------------------------------------------


def test_promote_never_writes_through_a_committed_symlink(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(linked, "staging", {"churn.mlem": ("link", str(elsewhere / "authorized_keys"))})
    git(linked, "checkout", "-q", "staging")
    before, tip = snapshot(elsewhere), git(linked, "rev-parse", "staging")
    r = mr("promote", "churn", "--to", "staging", "--from", "dev", "--yes")
    assert r.code == 1, r.out + r.err
    assert "staging:churn.mlem is a symlink" in r.err and "Traceback" not in r.err
    assert snapshot(elsewhere) == before
    assert git(linked, "rev-parse", "staging") == tip
    assert os.path.islink(linked / "churn.mlem")


def test_promote_never_descends_into_a_symlinked_folder_on_the_stage(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(linked, "staging", {"sub": ("link", str(elsewhere))})
    tip = git(linked, "rev-parse", "staging")
    for checked_out in (False, True):
        if checked_out:
            git(linked, "checkout", "-q", "staging")
        before = snapshot(elsewhere)
        r = mr("promote", "sub/x", "--to", "staging", "--from", "dev", "--yes")
        assert r.code == 1, r.out + r.err
        assert "sub is a symlinked folder" in r.err
        assert snapshot(elsewhere) == before and not (elsewhere / "x.mlem").exists()
        assert git(linked, "rev-parse", "staging") == tip  # the symlink entry was not replaced


def test_tree_with_refuses_non_tree_entries_and_changes_only_what_it_names(linked: Path) -> None:
    from mr.errors import UnsafePath

    commit_on(
        linked, "staging", {"sub": ("link", "/tmp"), "notes.txt": b"keep me\n", "churn.mlem": ("link", "/etc/passwd")}
    )
    repo = mrgit.open_exact(str(linked))
    assert repo is not None
    base = git(linked, "rev-parse", "staging")
    with pytest.raises(UnsafePath, match="sub is a symlinked folder"):
        mrgit.commit_files(repo, "staging", {"sub/x.mlem": b"x"}, "m", expect=base)
    with pytest.raises(UnsafePath, match="churn.mlem is a symlink"):
        mrgit.commit_files(repo, "staging", {"churn.mlem": b"x"}, "m", expect=base)
    with pytest.raises(UnsafePath, match="notes.txt is a file, not a folder"):
        mrgit.commit_files(repo, "staging", {"notes.txt/y.mlem": b"x"}, "m", expect=base)
    assert git(linked, "rev-parse", "staging") == base
    sha = mrgit.commit_files(repo, "staging", {"deep/new.mlem": b"x"}, "m", expect=base)
    changed = git(linked, "diff-tree", "-r", "--name-status", base, sha)
    assert changed.splitlines() == ["A\tdeep/new.mlem"]


def test_link_never_writes_through_a_symlinked_folder(linked: Path, project: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    os.symlink(elsewhere, linked / "evil")
    before = snapshot(elsewhere)
    r = mr("link", "--sp", str(project), "models/rf", "evil/x")
    assert r.code == 1 and "evil is a symlinked folder" in r.err, r.err
    os.symlink(elsewhere / "authorized_keys", linked / "key.mlem")
    r = mr("link", "--sp", str(project), "models/rf", "key", "--force")
    assert r.code == 1 and "key.mlem is a symlink" in r.err, r.err
    assert snapshot(elsewhere) == before


def test_a_symlinked_link_file_fails_verify_and_is_never_followed(linked: Path, elsewhere: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (elsewhere / "x.mlem").write_text("link_type: model\nobject_type: link\npath: secret/outside.mlem\n")
    os.symlink(elsewhere / "x.mlem", linked / "sneaky.mlem")
    r = mr("verify")
    assert r.code == 1 and "sneaky.mlem: error: a symlink" in r.out, r.out
    r = mr("verify", "sneaky.mlem")
    assert r.code == 1 and "symlink" in r.out, r.out
    r = mr("show", "sneaky", "--field", "path")
    assert r.code == 1 and "secret/outside" not in r.out and "symlink" in r.err
    r = mr("show")
    assert r.code == 1 and "sneaky.mlem" in r.err and "secret" not in r.out
    # the same, committed as mode 120000 on a stage
    commit_on(linked, "staging", {"sneaky.mlem": ("link", str(elsewhere / "x.mlem"))})
    r = mr("verify", "--stage", "staging")
    assert r.code == 1 and "staging:sneaky.mlem: error: a symlink" in r.out, r.out
    r = mr("show", "sneaky", "--field", "path", "--stage", "staging")
    assert r.code == 1 and "symlink" in r.err


def test_a_symlinked_mr_yaml_on_a_stage_is_refused_not_defaulted(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    # production requires pins; a symlinked .mr.yaml must not quietly drop that policy
    api.promote(["churn"], "staging")
    commit_on(linked, "production", {".mr.yaml": ("link", "/dev/null")})
    r = mr("promote", "churn", "--to", "production", "--no-pin", "--yes")
    assert r.code == 1 and "production:.mr.yaml is a symlink" in r.err, r.err


def test_verify_of_a_fifo_does_not_hang(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    import signal

    def hung(*_: object) -> None:
        raise TimeoutError("mr verify hung on a FIFO")

    os.mkfifo(linked / "fifo.mlem")
    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        r = mr("verify", "fifo.mlem")
        assert r.code == 1 and "FIFO" in r.out, r.out
        r = mr("verify")
        assert r.code == 1 and "fifo.mlem: error: a FIFO" in r.out, r.out
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- policy on every hop ---------------------------------------------------------------------


def test_allowed_sources_are_matched_normalised_on_segment_boundaries() -> None:
    from mr import checks
    from mr.config import Config
    from mr.model import Link

    def ok(project: str, *prefixes: str) -> bool:
        config = Config(allowed_sources=prefixes)
        return not checks.policy_problems(Link("model", "m.mlem", project=project), config, None)

    assert not ok("file:///srv/../elsewhere/model", "file:///srv/")
    assert not ok("file:///srv/./../elsewhere", "file:///srv")
    assert not ok("http://host/chainsrc-evil/", "http://host/chainsrc")
    assert not ok("https://github.com/org%2e%2e/x", "https://github.com/org")
    assert not ok("https://github.com/org/../evil/repo", "https://github.com/org/")
    assert ok("http://host/chainsrc/model", "http://host/chainsrc")
    assert ok("HTTPS://GitHub.COM:443//org/./repo.git/", "https://github.com/org/")
    assert ok("https://github.com/org/repo", "https://github.com/org/repo.git")
    assert ok("git@github.com:org/repo.git", "ssh://github.com/org")
    assert not ok("../local", "https://github.com/org")


def _chain_source(served: tuple[Path, str], project: str) -> None:
    from tests.helpers import commit

    path, _ = served
    chain = f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {project}\nrev: main\n"
    commit(path, {"models/chain.mlem": chain}, "a chain")


def _link_file(registry: Path, name: str, project: str, path: str = "models/chain.mlem") -> None:
    (registry / f"{name}.mlem").write_text(
        f"link_type: model\nobject_type: link\npath: {path}\nproject: {project}\nrev: main\n"
    )


def test_a_remote_chain_may_not_name_a_local_project(
    registry: Path, project: Path, served: tuple[Path, str], mr
) -> None:  # type: ignore[no-untyped-def]
    _, url = served
    _chain_source(served, str(project))  # a local repository on the verifying machine
    _link_file(registry, "hop", url)
    r = mr("verify", "hop.mlem")
    assert r.code == 1 and "names the local project" in r.out, r.out
    assert mr("verify", "hop.mlem", "--allow-local-projects").code == 0
    r = mr("link", "--sp", url, "models/chain", "copied")
    assert r.code == 1 and "names the local project" in r.err, r.err
    assert not (registry / "copied.mlem").exists()
    r = mr("link", "--sp", url, "models/chain", "copied", "--allow-local-projects")
    assert r.code == 0, r.err


def test_every_hop_meets_allowed_sources_and_the_credential_rule(registry: Path, served: tuple[Path, str], mr) -> None:  # type: ignore[no-untyped-def]
    _, url = served
    (registry / ".mr.yaml").write_text(f"stages: [dev, staging, production]\nallowed_sources: ['{url}']\n")
    _chain_source(served, "https://user:hunter2@elsewhere.invalid/evil")
    _link_file(registry, "hop", url)
    r = mr("verify", "hop.mlem")
    assert r.code == 1 and "carries a password" in r.out, r.out
    assert "hunter2" not in r.out + r.err
    _chain_source(served, "git://127.0.0.1:1/not-allowed")
    r = mr("verify", "hop.mlem")
    assert r.code == 1 and "not under allowed_sources" in r.out, r.out


def test_a_remote_registry_may_not_name_local_projects(
    registry: Path, project: Path, git_daemon, mr, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    for i, spec in enumerate((str(project), "~/../" + str(project), os.path.relpath(project, tmp_path / "cache"))):
        (registry / f"local{i}.mlem").write_text(
            f"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {spec}\nrev: main\n"
        )
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "local projects")
    served = git_daemon.base / f"{tmp_path.name}-hostile.git"
    git(registry, "clone", "-q", "--bare", str(registry), str(served))
    url = git_daemon.url(served.name)
    sha = git(project, "rev-parse", "HEAD")
    r = mr("show", "--registry", url, "--resolve", "--stage", "dev")
    assert r.code == 1 and sha[:12] not in r.out and "names the local project" in r.err, r.out + r.err
    r = mr("verify", "--registry", url, "--stage", "dev")
    assert r.code == 1 and r.out.count("names the local project") == 3, r.out
    assert sha not in r.out
    r = mr("show", "local0", "--field", "sha", "--stage", "dev", "--registry", url)
    assert r.code == 1 and sha not in r.out
    r = mr("show", "--outdated", "--stage", "dev", "--registry", url)
    assert r.code == 1 and "names the local project" in r.err and sha not in r.out, r.out + r.err
    r = mr("verify", "--registry", url, "--stage", "dev", "--allow-local-projects")
    assert "names the local project" not in r.out


# --- credentials -----------------------------------------------------------------------------------


def test_redact_hides_any_password_and_token_parameters() -> None:
    from mr.urls import credentials_in, redact, strip_credentials

    assert redact("https://user:pa@ssword@host/r") == "https://user:***@host/r"
    assert redact("https://user:p:a@s/s@host/r").startswith("https://user:***@")
    assert redact("https://host/r?access_token=abc&x=1") == "https://host/r?access_token=***&x=1"
    assert redact("https://host/r?private_token=abc") == "https://host/r?private_token=***"
    assert redact("see https://a:b@c/d, then http://e/f?TOKEN=g") == "see https://a:***@c/d, then http://e/f?TOKEN=***"
    assert credentials_in("https://host/r?private_token=abc") is not None
    assert "abc" not in strip_credentials("https://host/r?x=1&access_token=abc")
    assert "ssword" not in strip_credentials("https://user:pa@ssword@host/r")


def test_the_credential_rule_holds_with_no_verify(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "secret.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\n"
        "project: https://user:pa@hunter2@example.invalid/repo\nrev: main\n"
    )
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "secret")
    tip = git(registry, "rev-parse", "staging")
    for extra in ((), ("--dry-run",), ("--dry-run", "--json"), ("--yes",)):
        r = mr("promote", "secret", "--to", "staging", "--no-verify", *extra)
        assert r.code == 1 and "carries a password" in r.err, r.out + r.err
        assert "hunter2" not in r.out + r.err
    assert git(registry, "rev-parse", "staging") == tip


def test_token_parameters_are_redacted_in_diffs_and_json(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(
        registry,
        "staging",
        {
            "tok.mlem": b"link_type: model\nobject_type: link\npath: m.mlem\nproject: https://h.invalid/r?private_token=glpat-SECRET\n"
        },
    )
    for args in (
        ("show", "--diff", "dev", "staging"),
        ("show", "--diff", "dev", "staging", "--json"),
        ("show", "--stage", "staging"),
        ("show", "--stage", "staging", "--json"),
        ("show", "--all-stages", "--json"),
    ):
        r = mr(*args)
        assert "glpat-SECRET" not in r.out + r.err and "private_token=***" in r.out, (args, r.out)


# --- control characters -------------------------------------------------------------------------------

HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\n fake-row"
LINK = b"link_type: model\nobject_type: link\npath: models/rf.mlem\nrev: main\nproject: ../models\n"


def _raw_controls(text: str) -> list[str]:
    return sorted({c for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F})


def test_control_characters_in_names_are_escaped(registry: Path, mr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    commit_on(registry, "staging", {f"{HOSTILE}.mlem": LINK, "[bold]markup[red].mlem": LINK})
    for color in (False, True):
        if color:
            monkeypatch.setenv("FORCE_COLOR", "1")
            monkeypatch.setenv("COLUMNS", "250")  # wide enough that no name is folded over lines
            monkeypatch.delenv("NO_COLOR")
        for args in (
            ("show", "--stage", "staging"),
            ("show", "--all-stages"),
            ("show", "--diff", "dev", "staging"),
            ("verify", "--stage", "staging", "--offline"),
        ):
            r = mr(*args)
            if color:  # rich styles with SGR of its own; none of the name's sequences get through
                assert "\x1b]" not in r.out and "\x07" not in r.out and "\x1b[31m" not in r.out, (args, r.out)
                assert _raw_controls(r.out.replace("\x1b", "")) == [], (args, r.out)
            else:
                assert _raw_controls(r.out) == [] and _raw_controls(r.err) == [], (args, r.out, r.err)
            assert "fake-row" in r.out and "\n fake-row" not in r.out, (args, r.out)
            if args[1] != "--diff" and args[0] == "show":
                assert "[bold]markup[red]" in r.out, (args, r.out)
    import json

    names = [x["name"] for x in json.loads(mr("show", "--stage", "staging", "--json").out)["links"]]
    assert f"{HOSTILE}" in names


def test_control_characters_in_trailers_are_escaped(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit_on(
        registry,
        "staging",
        {"churn.mlem": LINK},
        message="Promote churn\n\nMr-From: dev\x1b[2J 1234\nMr-Link: churn\nMr-Rev: \x1b]0;pwned\x07main abc\n",
    )
    r = mr("show", "churn")
    assert "Mr" not in r.err and _raw_controls(r.out) == [], r.out
    assert "\\e[2J" in r.out or "\\e]0;pwned" in r.out


def test_a_hostile_author_and_a_password_in_a_claim_never_reach_the_history(  # type: ignore[no-untyped-def]
    registry: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history escapes each printed line as a whole: an author's controls, and the URL a forged
    ``Mr-From`` names, come out escaped and redacted, in text and in JSON alike."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", f"mallory{HOSTILE}")
    commit_on(
        registry,
        "staging",
        {"churn.mlem": LINK},
        message=f"Promote churn\n\nMr-From: https://bob:hunter2@evil.example/{'a' * 40}\nMr-Link: churn\nMr-Rev: main -\n",
    )
    r = mr("show", "churn")
    assert r.code == 0, r.err
    assert _raw_controls(r.out) == [] and "hunter2" not in r.out, r.out
    assert "mallory\\e]0;pwned" in r.out and "bob:***@evil.example" in r.out, r.out
    assert "hunter2" not in mr("show", "churn", "--json").out


# --- names, revs, YAML tags, environment -----------------------------------------------------


@pytest.mark.parametrize(
    "stages", ["dev,a.lock/x", "x,x/y", "dev," + "a" * 300, "HEAD,prod", "dev,FETCH_HEAD", "dev,.hidden", "dev,Dev"]
)
def test_stage_names_git_cannot_hold_are_refused_before_anything_is_written(tmp_path: Path, mr, stages: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "reg"
    r = mr("init", str(target), "--stages", stages)
    assert r.code == 2, r.err
    assert "--stages" in r.err and "internal error" not in r.err, r.err
    assert not target.exists()


def test_init_refuses_a_stage_colliding_with_a_branch_and_completes_later(tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "reg"
    target.mkdir()
    git(target, "init", "-q", "-b", "main")
    git(target, "commit", "-q", "--allow-empty", "-m", "start")
    git(target, "branch", "x")
    r = mr("init", str(target), "--stages", "x/y,prod")
    assert r.code == 1 and "collides with the branch x" in r.err and "internal error" not in r.err, r.err
    assert not (target / ".mr.yaml").exists() and git(target, "status", "--porcelain") == ""
    (target / ".mr.yaml").write_text("stages: [dev, prod]\n")  # half made: written, not committed
    r = mr("init", str(target))
    assert r.code == 0, r.err
    assert git(target, "branch", "--list", "dev", "prod").split() == ["dev", "prod"]
    assert "nothing to do" in mr("init", str(target)).out


def test_link_names_beyond_file_system_limits_are_usage_errors(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    for name in ("a" * 300, "/".join(["d"] * 3000) + "/x"):
        r = mr("link", "--sp", str(project), "models/rf", name)
        assert r.code == 2, r.err[:300]
        assert "a link name is" in r.err or "each part of a link name" in r.err, r.err[:300]
        assert "internal error" not in r.err and "Recursion" not in r.err


def test_yaml_tags_are_refused_on_every_node() -> None:
    from mr import linkfile
    from mr.config import load_config
    from mr.errors import LinkFileError

    base = "link_type: model\nobject_type: link\npath: m.mlem\n"
    for extra in (
        "params: !!python/object:__main__.X {a: b}\n",
        "params:\n  a: !!python/name:os.system ''\n",
        "params: {a: !local b}\n",
        "rev: !!python/str v1\n",
    ):
        with pytest.raises(LinkFileError, match="YAML tag"):
            linkfile.load((base + extra).encode(), "t.mlem")
    with pytest.raises(LinkFileError, match="YAML tag"):
        load_config(b"stages: !!python/tuple [dev, prod]\n")


def test_symbolic_refs_are_refused_as_revs(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    for rev in ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "@"):
        r = mr("link", "--sp", str(project), "models/rf", "x", "--rev", rev)
        assert r.code == 2 and "symbolic ref" in r.err and "branch, tag or commit" in r.err, r.err
    assert not (registry / "x.mlem").exists()


def test_environment_values_are_checked(registry: Path, mr, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MR_GIT_TIMEOUT", "-5")
    r = mr("show")
    assert r.code == 2 and "MR_GIT_TIMEOUT" in r.err, r.err
    monkeypatch.setenv("MR_GIT_TIMEOUT", "30")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MR_CACHE_DIR", str(tmp_path / "a-file" / "cache"))
    r = mr("show")
    assert r.code == 2 and "MR_CACHE_DIR" in r.err and "not a folder" in r.err, r.err


# --- operating-system failures -------------------------------------------------------------


def _namespace_ok(tmp_path: Path) -> bool:
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs -o size=16k tmpfs "$0"', str(probe)],
        capture_output=True,
    )
    return r.returncode == 0


def _run_mounted(setup: str, cwd: Path, *args: str) -> tuple[int, str]:
    """Run mr in a private mount namespace after ``setup`` (mounts vanish with the process)."""
    import shlex
    import subprocess
    import sys

    command = f"{setup} && cd {shlex.quote(str(cwd))} && exec {shlex.quote(sys.executable)} -m mr " + " ".join(
        shlex.quote(a) for a in args
    )
    import mr

    # the mr under test, wherever the current directory is
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(mr.__file__))))
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", command], capture_output=True, text=True, env=env
    )
    return r.returncode, r.stderr


def test_read_only_and_full_file_systems_are_one_line_errors(linked: Path, project: Path, tmp_path: Path) -> None:
    if not _namespace_ok(tmp_path):
        pytest.skip("no private mount namespace here (unshare/mount not permitted)")
    import shlex

    reg = shlex.quote(str(linked))
    ro = f"mount --bind -o ro {reg} {reg}"
    code, err = _run_mounted(ro, linked, "link", "--sp", str(project), "models/rf", "new")
    assert code == 1 and "Read-only file system" in err and "new.mlem" in err, err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err
    tip = git(linked, "rev-parse", "staging")
    code, err = _run_mounted(ro, linked, "promote", "churn", "--to", "staging", "--yes")
    assert code == 1 and "Read-only file system" in err and "kept moving" not in err and "internal error" not in err, (
        err
    )
    assert git(linked, "rev-parse", "staging") == tip
    # a full disk: the registry copied onto a tiny tmpfs, filled up
    full = tmp_path / "full"
    full.mkdir()
    q = shlex.quote(str(full))
    fill = (
        f"mount -t tmpfs -o size=4m tmpfs {q} && cp -a {reg} {q}/registry && cp -a {shlex.quote(str(project))} {q}/models"
        f" && (dd if=/dev/zero of={q}/filler bs=4k 2>/dev/null || true)"
    )
    code, err = _run_mounted(fill, full / "registry", "promote", "churn", "--to", "staging", "--yes", "--no-verify")
    assert code == 1 and "No space left on device" in err, err
    assert "kept moving" not in err and "internal error" not in err and len(err.strip().splitlines()) == 1
    assert not any(full.iterdir())  # the tmpfs vanished with the namespace; nothing was written here


def test_a_folder_named_like_a_link_is_walked_not_reported(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / ".mlem").mkdir()  # MLEM 0.2 kept its objects in a .mlem folder
    (registry / ".mlem" / "config.yaml").write_text("")
    r = mr("verify")
    assert r.code == 0 and "error" not in r.out, r.out


def test_a_link_file_named_with_a_backslash_is_reported_not_read_as_another(linked: Path, mr) -> None:  # type: ignore[no-untyped-def]
    # link names read "\" as "/": "sub\x.mlem" would stand for sub/x.mlem, whose content is another link's
    other = "link_type: model\nobject_type: link\npath: hidden.mlem\nproject: https://example.com/other\n"
    (linked / "sub\\x.mlem").write_text(other)
    r = mr("show", "--offline", "--json")
    assert r.code == 1 and "hidden.mlem" not in r.out
    assert r.err.strip().splitlines()[-1] == (
        "sub\\x.mlem: error: a name with a backslash, which mr reads as a folder separator; "
        "mr never reads or writes through it"
    )
    r = mr("verify", "--offline")
    assert r.code == 1
    assert "a name with a backslash, which mr reads as a folder separator; mr never reads or follows it" in r.out
    # the same, committed on a stage
    commit_on(linked, "staging", {"churn\\x.mlem": other.encode()})
    r = mr("verify", "--stage", "staging", "--offline")
    assert r.code == 1
    assert "a name with a backslash, which mr reads as a folder separator; mr never reads or follows it" in r.out
    assert "hidden.mlem" not in r.out
