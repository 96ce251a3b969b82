"""``mr get`` and ``mr verify --artifacts`` for artifacts kept in DVC, against real DVC.

The projects are made with the real ``dvc`` (``dvc init``, ``dvc add``, ``dvc push`` to a local folder
remote and to an HTTP remote served read-only on 127.0.0.1); the dvc executable lives in an
environment of its own (.ci/run prepares it) and is named by MR_DVC. mr reads the remotes through
DVC's libraries (the ``dvc`` extra, installed with the test extra).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mr import api
from tests.commands.test_get import link_and_commit, meta, write_files
from tests.helpers import git, serve_http

DVC = os.environ.get("MR_DVC")

pytestmark = pytest.mark.skipif(not DVC, reason="MR_DVC names no dvc executable (.ci/run prepares one)")

WEIGHTS = os.urandom(300_000)


def dvc(cwd: Path, *args: str) -> str:
    assert DVC
    env = dict(os.environ, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(cwd.parent / "dvc-site"))
    done = subprocess.run([DVC, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def dvc_meta(data: bytes, **overrides: str) -> str:
    """A meta as MLEM writes it for DVC storage: the artifact's ``type: dvc``."""
    text = meta({"data.pkl": ("rf", data)}).replace("    hash:", "    type: dvc\n    hash:", 1)
    for key, value in overrides.items():
        text = text.replace(f"    {key}: ", f"    {key}: {value}\n    old_{key}: ", 1)
    return text


@pytest.fixture
def dvc_project(tmp_path: Path) -> tuple[Path, Path]:
    """A MLEM project whose model file models/rf is tracked by ``dvc add`` and pushed to a folder
    remote (its default, ``storage``): (the project, the remote)."""
    src, remote = tmp_path / "models", tmp_path / "remote"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    write_files(src, {".mlem.yaml": "", "models/rf.mlem": dvc_meta(WEIGHTS), "models/rf": WEIGHTS})
    dvc(src, "init", "-q")
    dvc(src, "remote", "add", "-d", "storage", str(remote))
    dvc(src, "add", "-q", "models/rf")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "a model kept in DVC")
    dvc(src, "push", "-q")
    return src, remote


def object_of(remote: Path, data: bytes = WEIGHTS) -> Path:
    md5 = hashlib.md5(data).hexdigest()
    return remote / "files" / "md5" / md5[:2] / md5[2:]


def released(registry: Path, src: Path) -> None:
    link_and_commit(registry, str(src))
    api.promote(["churn"], "staging")
    api.promote(["churn"], "production")


def test_get_fetches_a_dvc_artifact_from_a_folder_remote(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    assert object_of(remote).is_file()
    released(registry, src)
    out = tmp_path / "out"
    r = mr("get", "churn", "--stage", "production", "-o", str(out), "--json")
    assert r.code == 0, r.err
    assert (out / "rf").read_bytes() == WEIGHTS
    receipt = json.loads((out / ".mr-get.json").read_text())
    assert [(f["path"], f["source"]) for f in receipt["files"]] == [("rf.mlem", "git"), ("rf", "dvc")]
    # the bytes are beside the meta now: MLEM reads the artifact as a local one
    written = (out / "rf.mlem").read_text()
    assert "type: local" in written and "type: dvc" not in written
    assert written.replace("type: local", "type: dvc") == (src / "models" / "rf.mlem").read_text()
    assert mr("get", "--check", str(out)).code == 0


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A read-only static web server for tmp_path/remote on 127.0.0.1: its URL, and the paths asked for."""
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            asked.append(self.path)
            super().do_GET()

        def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
            asked.append(self.path)
            super().do_HEAD()

        def log_message(self, *args: object) -> None:
            pass

    url, stop = serve_http(functools.partial(Handler, directory=str(tmp_path / "remote")))
    try:
        yield url, asked
    finally:
        stop()


def point_remote(src: Path, url: str, name: str = "storage") -> None:
    dvc(src, "remote", "modify", name, "url", url)
    git(src, "commit", "-q", "-am", f"DVC remote {name} at {url}")


def test_get_fetches_from_an_http_remote(
    registry: Path, dvc_project: tuple[Path, Path], static_server: tuple[str, list[str]], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    url, asked = static_server
    point_remote(src, url)
    released(registry, src)
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    assert r.code == 0, r.err
    assert (tmp_path / "out" / "rf").read_bytes() == WEIGHTS
    md5 = hashlib.md5(WEIGHTS).hexdigest()
    assert f"/files/md5/{md5[:2]}/{md5[2:]}" in asked


@pytest.mark.parametrize("damage", ["corrupted", "oversized", "missing object", "missing remote"])
def test_a_bad_remote_object_fails_with_nothing_left(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr, damage: str
) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    released(registry, src)
    target = object_of(remote)
    if damage == "corrupted":
        target.chmod(0o644)
        target.write_bytes(WEIGHTS[:-1] + b"!")
    elif damage == "oversized":
        target.chmod(0o644)
        target.write_bytes(WEIGHTS + b"x" * 5_000_000)  # an endless stream stands in: it is not read to its end
    elif damage == "missing object":
        target.unlink()
    else:
        shutil.rmtree(remote)
    out = tmp_path / "out"
    r = mr("get", "churn", "--stage", "production", "-o", str(out))
    assert r.code == 1
    line = r.err.splitlines()[0]
    assert line.startswith("models/rf (artifact data.pkl): ")
    if damage == "corrupted":
        assert f"md5 {hashlib.md5(WEIGHTS[:-1] + b'!').hexdigest()} from DVC remote storage" in line
    elif damage == "oversized":
        assert f"{len(WEIGHTS) + 1} bytes, md5 {hashlib.md5(WEIGHTS + b'x').hexdigest()}" in line
    else:
        assert f"object {hashlib.md5(WEIGHTS).hexdigest()} is not in DVC remote storage" in line
    assert r.err.count("\n") == 2  # the line, and "nothing written"
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def test_an_unreachable_http_remote_is_one_line(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    import socket

    src, _ = dvc_project
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    point_remote(src, f"http://127.0.0.1:{port}/remote")
    released(registry, src)
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert r.err.splitlines()[0].startswith("models/rf (artifact data.pkl): DVC remote http://127.0.0.1:")
    assert "cannot be read" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "out").exists()


def test_another_remote_by_name(registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    backup = tmp_path / "backup"
    shutil.copytree(remote, backup)
    dvc(src, "remote", "add", "backup", str(backup))
    git(src, "commit", "-q", "-am", "a second DVC remote")
    object_of(remote).unlink()
    released(registry, src)
    assert mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "a")).code == 1
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "b"), "--dvc-remote", "backup")
    assert r.code == 0, r.err
    assert (tmp_path / "b" / "rf").read_bytes() == WEIGHTS
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "c"), "--dvc-remote", "nope")
    assert (
        r.code == 1
        and "no DVC remote nope in the project's or your DVC configuration (remotes: backup, storage)" in r.err
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("/srv/../etc/dvc", "its path climbs with .."),
        ("relative/remote", "a relative local path"),
        ("s3://bucket/path", "a s3:// remote; mr reads local and HTTP(S) DVC remotes"),
    ],
)
def test_remote_urls_mr_will_not_open(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr, url: str, why: str
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    point_remote(src, url)
    released(registry, src)
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert "DVC remote storage" in r.err and why in r.err
    assert not (tmp_path / "out").exists()


def test_allowed_sources_is_checked_before_the_remote_is_contacted(
    registry: Path, dvc_project: tuple[Path, Path], static_server: tuple[str, list[str]], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    url, asked = static_server
    point_remote(src, url)
    released(registry, src)
    config = registry / ".mr.yaml"
    # the project may be read (its folder is allowed), the remote's URL is not under allowed_sources
    text = config.read_text()
    assert "\nallowed_sources: []" in text
    config.write_text(text.replace("\nallowed_sources: []", f"\nallowed_sources: [{src.as_uri()}]"))
    api.link("models/rf", source_project=src.as_uri(), target="churn", target_project=str(registry), force=True)
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "allowed sources")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert "DVC remote storage" in r.err and "is not under allowed_sources" in r.err
    assert asked == []


def test_a_lock_that_disagrees_with_the_meta_fails_get_and_verify(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    other = hashlib.md5(b"another model").hexdigest()
    dvcfile = src / "models" / "rf.dvc"
    dvcfile.write_text(dvcfile.read_text().replace(hashlib.md5(WEIGHTS).hexdigest(), other))
    git(src, "commit", "-q", "-am", "rf.dvc now names another file")
    link_and_commit(registry, str(src))
    expected = f"models/rf (artifact data.pkl): models/rf.dvc records md5 {other} at "
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1 and r.err.startswith(expected)
    r = mr("verify", "--artifacts")
    assert r.code == 1 and expected in r.out + r.err


def test_verify_artifacts_checks_a_dvc_output_without_downloading_it(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    link_and_commit(registry, str(src))
    r = mr("verify", "--artifacts")
    assert r.code == 0, r.out + r.err
    object_of(remote).unlink()
    r = mr("verify", "--artifacts")
    assert r.code == 1
    assert f"object {hashlib.md5(WEIGHTS).hexdigest()} is not in DVC remote storage" in r.out + r.err


def test_without_dvc_support_the_hint_is_a_command_that_works(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    link_and_commit(registry, str(src))
    monkeypatch.setattr("mr.dvcremote.have_extra", lambda: False)
    out = tmp_path / "out"
    r = mr("get", "churn", "-o", str(out))
    assert r.code == 1 and not out.exists()
    line = r.err.splitlines()[0]
    assert (
        "is kept in DVC: install mr's DVC support (pip install 'mr-registry[dvc]', or its libraries: pip install dvc-objects dvc-http)"
        in line
    )
    command = line.split("fetch it with ", 1)[1]
    assert DVC
    env = dict(os.environ, PATH=f"{Path(DVC).parent}:{os.environ['PATH']}", DVC_NO_ANALYTICS="1")
    subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300)
    assert (out / "rf").read_bytes() == WEIGHTS  # where mr get would have put it


def test_verify_artifacts_without_dvc_support_checks_what_dvc_records(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    link_and_commit(registry, str(src))
    shutil.rmtree(remote)  # not even asked: without DVC's libraries only the records are compared
    monkeypatch.setattr("mr.dvcremote.have_extra", lambda: False)
    r = mr("verify", "--artifacts")
    assert r.code == 0, r.out + r.err


def test_a_remote_that_trickles_is_stopped_at_the_timeout(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    src, _ = dvc_project
    sent: list[int] = []

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Length", str(len(WEIGHTS)))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.do_HEAD()
            try:
                for byte in WEIGHTS:  # one byte at a time, each well inside any per-read timeout
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    sent.append(1)
                    threading.Event().wait(0.05)
            except OSError:
                pass  # mr hung up

        def log_message(self, *args: object) -> None:
            pass

    url, stop = serve_http(Trickle)
    try:
        point_remote(src, f"{url}/remote")
        released(registry, src)
        monkeypatch.setenv("MR_GIT_TIMEOUT", "2")
        r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    finally:
        stop()
    assert r.code == 1
    assert "no answer in time (MR_GIT_TIMEOUT bounds each read of the remote)" in r.err.splitlines()[0]
    assert 0 < len(sent) < len(WEIGHTS) and not (tmp_path / "out").exists()


def set_remote_url(src: Path, url: str) -> None:
    """Write the remote's URL into .dvc/config by hand (dvc itself refuses some of these)."""
    config = src / ".dvc" / "config"
    text = config.read_text()
    start = text.index("url = ")
    end = text.index("\n", start)
    config.write_text(text[:start] + f"url = {url}" + text[end:])
    git(src, "commit", "-q", "-am", "DVC remote by hand")


def test_a_control_character_in_the_remote_url_is_refused_and_never_printed(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    src, remote = dvc_project
    set_remote_url(src, f"{remote}\x1b]0;owned\x07")
    released(registry, src)
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert "its URL holds a control character" in r.err
    assert "\x1b" not in r.err and "\x07" not in r.err
    assert not (tmp_path / "out").exists()


def test_a_password_in_the_remote_url_is_never_printed(
    registry: Path, dvc_project: tuple[Path, Path], tmp_path: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    import socket

    src, _ = dvc_project
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    set_remote_url(src, f"http://alice:s3cret@127.0.0.1:{port}/remote")
    released(registry, src)
    r = mr("get", "churn", "--stage", "production", "-o", str(tmp_path / "out"))
    assert r.code == 1 and "cannot be read" in r.err
    assert "s3cret" not in r.err + r.out
    r = mr("verify", "--artifacts", "--stage", "production")
    assert r.code == 1 and "s3cret" not in r.err + r.out
