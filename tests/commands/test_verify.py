from __future__ import annotations

import json
from pathlib import Path

import pytest

from mr import api
from tests.conftest import GitDaemon
from tests.helpers import DATA, MODEL, commit, commit_all, git, make_project, tag

LINK = "link_type: {type}\nobject_type: link\npath: {path}\nproject: {project}\nrev: {rev}\n"


def write_link(
    root: Path, name: str, project: str, rev: str = "main", path: str = "models/rf.mlem", type: str = "model"
) -> Path:
    f = root / f"{name}.mlem"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(LINK.format(type=type, path=path, project=project, rev=rev))
    return f


def problems(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(p) for c in report.checks for p in c.problems]


def test_all_good(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.link("models/rf", source_project=str(project), target="a")
    api.link("models/rf", source_project=str(project), target="b", pin=True)
    r = mr("verify")
    assert r.code == 0 and r.out.strip() == "ok: 2 links checked, 0 failed\npolicy: dev (the checked-out branch)"


def test_each_resolution_failure_names_file_and_line(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit(project, {"data/d.mlem": DATA, "notes.mlem": "hello: world\n"})
    write_link(registry, "rev", "../models", rev="nope")
    write_link(registry, "path", "../models", path="models/gone.mlem")
    write_link(registry, "type", "../models", path="data/d.mlem")
    write_link(registry, "noobj", "../models", path="notes.mlem")
    write_link(registry, "proj", "../nowhere")
    r = mr("verify")
    assert r.code == 1
    lines = r.out.splitlines()
    assert "rev.mlem:5: error: rev nope not found in ../models" in lines
    assert "path.mlem:3: error: models/gone.mlem not found in ../models at main" in lines
    assert "type.mlem:1: error: link_type is model but data/d.mlem is a MLEM object of type data" in lines
    assert any(x.startswith("noobj.mlem:3: error:") and "not a MLEM object" in x for x in lines)
    assert any(x.startswith("proj.mlem:4: error: cannot check: project ../nowhere: no such folder") for x in lines)
    assert lines[-3:] == [
        "failed: 5 links checked, 5 failed",
        "not checked: ../nowhere",
        "policy: dev (the checked-out branch)",
    ]


@pytest.mark.parametrize(
    "content, where, message",
    [
        ("link_type: model\nobject_type: link\npath: [a\n", "bad.mlem:4", "invalid YAML"),
        ("link_type: model\nobject_type: link\n\tpath: a\n", "bad.mlem:3", "invalid YAML"),
        ("- a\n- b\n", "bad.mlem:1", "is a list"),
        ("just a string\n", "bad.mlem:1", "single value"),
        ("", "bad.mlem", "empty"),
        ("\x00\x01\x02binary", "bad.mlem", "binary"),
        ("object_type: link\npath: a.mlem\n", "bad.mlem:1", "missing required field link_type"),
        ("object_type: link\nlink_type: [model]\npath: a.mlem\n", "bad.mlem:2", "link_type must be a string"),
        ("object_type: link\nlink_type: model\npath: a.mlem\nextra: 1\n", "bad.mlem:4", "unknown field extra"),
        (
            "object_type: link\nlink_type: model\npath: a.mlem\nproject: x\nrepo: y\n",
            "bad.mlem:5",
            "both project and repo",
        ),
        (
            "object_type: link\nlink_type: model\npath: a.mlem\nproject: ../models\nrev: 1234567\n",
            "bad.mlem:5",
            "quote it",
        ),
        ("object_type: link\nlink_type: model\npath: ../../etc/passwd\n", "bad.mlem:3", "escapes its project"),
        ("object_type: link\nlink_type: model\npath: /etc/passwd\n", "bad.mlem:3", "absolute"),
        (
            "object_type: !!python/object/apply:os.system [touch PWNED]\n",
            "bad.mlem:1",
            "YAML tag !!python/object/apply:os.system is not allowed",
        ),
    ],
)
def test_hostile_files_get_one_line_and_change_nothing(
    registry: Path,
    mr,
    content: str,
    where: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    bad = registry / "bad.mlem"
    bad.write_bytes(content.encode("utf-8", "surrogateescape"))
    before = bad.read_bytes()
    r = mr("verify", "bad.mlem")
    assert r.code == 1 and "Traceback" not in r.out + r.err
    (line,) = [x for x in r.out.splitlines() if x.startswith("bad.mlem")]
    assert line.startswith(f"{where}: error: ") and message in line
    assert bad.read_bytes() == before
    assert not (registry / "PWNED").exists()


def test_alias_bomb_is_rejected_quickly(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        levels.append(f"a{i}: &a{i} [{','.join([prev] * 9)}]")
    text = "object_type: link\nlink_type: model\npath: a.mlem\nparams:\n" + "".join(f"  {x}\n" for x in levels)
    (registry / "bomb.mlem").write_text(text)
    r = mr("verify", "bomb.mlem")
    assert r.code == 1 and "params.a0 must be a string" in r.out


def test_mlem_objects_are_skipped(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    (registry / "models").mkdir()
    (registry / "models" / "rf.mlem").write_text(MODEL)
    api.link("models/rf", target="alias")
    r = mr("verify")
    assert r.code == 0 and "1 link checked" in r.out and "1 MLEM object skipped" in r.out


def test_chains_cycles_and_depth(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    files = {"l0.mlem": "link_type: model\nobject_type: link\npath: models/rf.mlem\n"}
    for i in range(1, 20):
        files[f"l{i}.mlem"] = f"link_type: model\nobject_type: link\npath: l{i - 1}.mlem\n"
    files["c1.mlem"] = "link_type: model\nobject_type: link\npath: c2.mlem\n"
    files["c2.mlem"] = "link_type: model\nobject_type: link\npath: c1.mlem\n"
    commit(project, files)
    write_link(registry, "short", "../models", path="l3.mlem")
    write_link(registry, "deep", "../models", path="l19.mlem")
    write_link(registry, "cycle", "../models", path="c1.mlem")
    report = api.verify()
    status = {c.name: c.status for c in report.checks}
    assert status == {"short": "ok", "deep": "error", "cycle": "error"}
    text = "\n".join(problems(report))
    assert "deeper than 16" in text and "cycle" in text


def test_policy(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.link("models/rf", source_project=str(project), target="a")  # before the policy: it refuses the link
    (registry / ".mr.yaml").write_text(
        "stages: [dev, prod]\npolicy:\n  dev:\n    require_pinned: true\nallowed_sources: ['https://git.example.com/']\n"
    )
    report = api.verify()
    text = "\n".join(problems(report))
    assert "a.mlem:5: error: stage dev requires pinned links" in text
    assert "a.mlem:4: error: project ../models is not under allowed_sources" in text


def test_stage_policy_comes_from_the_stage_branch(registry: Path, project: Path) -> None:
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link")
    git(registry, "checkout", "-q", "production")
    git(registry, "merge", "-q", "dev")
    # production's own .mr.yaml (from init) requires pins
    report = api.verify(stage="production")
    assert "stage production requires pinned links" in "\n".join(problems(report))
    # loosening the rule in the work tree of another branch does not help
    git(registry, "checkout", "-q", "dev")
    (registry / ".mr.yaml").write_text("stages: [dev, staging, production]\n")
    assert not api.verify(stage="production").ok


def test_pin_moved_off_branch_is_a_warning(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    commit(project, {"models/rf.mlem": MODEL + "# 2\n"})
    api.link("models/rf", source_project=str(project), target="p", pin=True)
    git(project, "reset", "-q", "--hard", "HEAD~1")
    r = mr("verify")
    assert r.code == 0
    assert "p.mlem:7: warning: pinned commit" in r.out and "no longer on branch main" in r.out


def test_verify_stage_reads_git_not_worktree(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    write_link(registry, "bad", "../models", rev="nope")
    assert mr("verify").code == 1
    assert mr("verify", "--stage", "dev").code == 0  # not committed there
    assert mr("verify", "--stage", "dev", "bad.mlem").code == 2


def test_json_report(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    api.link("models/rf", source_project=str(project), target="good")
    write_link(registry, "bad", "../models", rev="nope")
    r = mr("verify", "--json")
    data = json.loads(r.out)
    assert r.code == 1 and data["ok"] is False and data["errors"] == 1
    by = {x["name"]: x for x in data["links"]}
    assert by["good"]["status"] == "ok" and by["good"]["sha"] == git(project, "rev-parse", "HEAD")
    assert by["bad"]["problems"][0]["line"] == 5


def test_missing_file_argument(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    r = mr("verify", "nope.mlem")
    assert r.code == 1 and "nope.mlem: error: no such file" in r.out


def test_remote_reachable_stopped_and_offline(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path / "srv"
    make_project(base / "p")
    daemon = GitDaemon(base)
    daemon.start()
    try:
        write_link(registry, "r", daemon.url("p"))
        assert mr("verify").code == 0
    finally:
        daemon.stop()
    r = mr("verify")
    assert r.code == 1 and "cannot fetch" in r.out and "not checked: git://" in r.out
    r = mr("verify", "--offline")
    assert r.code == 0  # the cache still knows main
    write_link(registry, "other", daemon.url("never-fetched"))
    r = mr("verify", "--offline")
    assert r.code == 1 and "not in the cache (offline)" in r.out


def test_each_project_fetched_once(registry: Path, served: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mr import cache

    _, url = served
    tag(served[0], "v1")
    for i in range(5):
        write_link(registry, f"l{i}", url, rev="v1" if i % 2 else "main")
    calls: list[str] = []
    real = cache.fetch
    monkeypatch.setattr(cache, "fetch", lambda u, **kw: calls.append(u) or real(u, **kw))
    assert api.verify().ok
    assert calls == [url]


def test_silent_remote_fails_its_links_within_the_timeout(
    registry: Path,
    project: Path,
    mr,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import socket

    monkeypatch.setenv("MR_GIT_TIMEOUT", "2")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)  # accepts, never answers
        url = f"git://127.0.0.1:{server.getsockname()[1]}/x"
        write_link(registry, "silent", url)
        api.link("models/rf", source_project=str(project), target="fine")
        report = api.verify()
    status = {c.name: c.status for c in report.checks}
    assert status == {"fine": "ok", "silent": "error"}
    assert "timed out" in "\n".join(problems(report))


def test_credentials_flagged_and_never_printed(registry: Path, served: tuple[Path, str], mr) -> None:  # type: ignore[no-untyped-def]
    _, url = served
    write_link(registry, "secret", url.replace("git://", "git://bob:hunter2@"))
    r = mr("verify")
    assert r.code == 1 and "secret.mlem:4: error: the project URL carries a password" in r.out
    assert "hunter2" not in r.out + r.err
    assert "hunter2" not in mr("show", "--resolve", "--json").out


def test_reading_a_source_runs_nothing_from_it(registry: Path, project: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "RAN"
    git(project, "config", "filter.evil.smudge", f"touch {marker}; cat")
    commit(project, {".gitattributes": "*.mlem filter=evil\n"})
    for hook in ("post-checkout", "post-merge", "reference-transaction", "pre-auto-gc"):
        h = project / ".git" / "hooks" / hook
        h.write_text(f"#!/bin/sh\ntouch {marker}\n")
        h.chmod(0o755)
    marker.unlink(missing_ok=True)
    api.link("models/rf", source_project=str(project), target="m", pin=True)
    assert mr("verify").code == 0
    assert mr("show", "--resolve").code == 0
    assert not marker.exists()


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from mr import render

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with render.progress() as update:
        assert update is not None
        update("projects", 1, 2)
        update("links", 3, 3)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    with render.progress() as update:
        assert update is None


def test_a_broken_chain_names_each_hop_in_every_command(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    """A chain that breaks after some hops: every command that follows it says through which links."""
    commit(
        project,
        {
            "rev_link/the_link.mlem": "link_type: model\nobject_type: link\npath: mid.mlem\n",
            "mid.mlem": "link_type: model\nobject_type: link\npath: first.mlem\nrev: first_rev_link\n",
        },
    )
    git(project, "branch", "first_rev_link", "HEAD~1")  # a branch without first.mlem
    via = "via rev_link/the_link.mlem -> mid.mlem: first.mlem not found in"
    r = mr("link", "rev_link/the_link", "x", "--sp", str(project))
    assert r.code == 1 and via in r.err and "at first_rev_link" in r.err, r.err
    assert not (registry / "x.mlem").exists()
    write_link(registry, "chained", "../models", path="rev_link/the_link.mlem")
    r = mr("verify")
    assert r.code == 1 and via in r.out and "following" not in r.out, r.out
    commit_all(registry)
    r = mr("get", "chained", "-o", str(registry.parent / "out"))
    assert r.code == 1 and via in r.err, r.err
    r = mr("promote", "chained", "--to", "staging", "--yes")
    assert r.code == 1 and via in (r.out + r.err), r.out + r.err
