"""Build benchmark fixtures with git plumbing (``git fast-import``), cached between runs.

Every fixture lives in a folder named by its parameters under the cache
folder; a folder that exists with a ``.done`` marker is reused as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

MODEL = b"object_type: model\nprocessors: {}\nrequirements: []\n"
WHEN = "1700000000 +0000"
IDENT = "Bench <bench@example.com>"


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _fast_import(repo: Path, stream: bytes, bare: bool = False) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", *(["--bare"] if bare else []), "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "fast-import", "--quiet"], input=stream, cwd=repo, check=True)


def _cached(path: Path) -> bool:
    return (path / ".done").exists()


def _done(path: Path) -> None:
    (path / ".done").write_text("")


def project(path: Path, models: int, tags: int = 2) -> Path:
    """A MLEM project: models/m0..mN-1 on main, tags v1..vT (annotated), main one commit ahead."""
    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    out = bytearray()
    for t in range(tags + 1):
        out += b"commit refs/heads/main\nmark :%d\n" % (t + 1)
        out += f"committer {IDENT} {WHEN}\n".encode()
        out += _data(f"version {t}".encode())
        if t:
            out += b"from :%d\n" % t
        if t == 0:
            out += b"M 100644 inline .mlem.yaml\n" + _data(b"")
        for m in range(models):
            out += f"M 100644 inline models/m{m}.mlem\n".encode() + _data(MODEL + f"# v{t}\n".encode())
        if t < tags:
            out += f"tag v{t + 1}\nfrom :{t + 1}\ntagger {IDENT} {WHEN}\n".encode() + _data(f"v{t + 1}".encode())
    _fast_import(path, bytes(out), bare=True)
    _done(path)
    return path


def registry(
    path: Path, links: int, projects: int, stages: int = 3, history: int = 1, bare_projects: Path | None = None
) -> Path:
    """A registry of ``links`` links spread over ``projects`` projects, ``history`` commits deep.

    The projects are built beside it (``projects/p0`` ...). Every stage branch
    holds the links; ``dev`` is one commit ahead of the others (l0's rev
    changed), so ``mr promote l0 --to <second stage>`` has work to do.
    """
    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    per = max(1, -(-links // projects))
    base = bare_projects or path.parent / f"projects-{per}"
    for p in range(projects):
        project(base / f"p{p}", per)
    names = [f"s{i}" for i in range(stages)]
    stage_list = ", ".join(names)
    out = bytearray()

    def link(i: int, rev: str) -> bytes:
        p = i % projects
        m = i // projects
        return (
            f"link_type: model\nobject_type: link\npath: models/m{m}.mlem\nproject: {base / f'p{p}'}\nrev: {rev}\n"
        ).encode()

    out += b"commit refs/heads/s0\nmark :1\n" + f"committer {IDENT} {WHEN}\n".encode() + _data(b"links")
    out += b"M 100644 inline .mlem.yaml\n" + _data(b"")
    out += b"M 100644 inline .mr.yaml\n" + _data(f"stages: [{stage_list}]\n".encode())
    for i in range(links):
        out += f"M 100644 inline l{i}.mlem\n".encode() + _data(link(i, "main"))
    mark = 1
    for h in range(1, history):
        mark += 1
        i = h % links
        out += b"commit refs/heads/s0\nmark :%d\n" % mark
        out += f"committer {IDENT} {WHEN}\n".encode() + _data(f"history {h}".encode())
        out += b"from :%d\n" % (mark - 1)
        out += f"M 100644 inline l{i}.mlem\n".encode() + _data(link(i, "v1" if h % 2 else "main"))
    for name in names[1:]:
        out += f"reset refs/heads/{name}\nfrom :{mark}\n".encode()
    mark += 1
    out += b"commit refs/heads/s0\nmark :%d\n" % mark
    out += f"committer {IDENT} {WHEN}\n".encode() + _data(b"l0 to v2")
    out += b"from :%d\n" % (mark - 1)
    out += b"M 100644 inline l0.mlem\n" + _data(link(0, "v2"))
    _fast_import(path, bytes(out))
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/s0"], cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "s0"], cwd=path, check=True)
    _done(path)
    return path


def gto_repo(path: Path, artifacts: int = 50, versions: int = 5, assignments: int = 8) -> Path:
    """GTO's layout: annotated tags NAME@vX.Y.Z (versions) and NAME#STAGE#N (stage assignments)."""
    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    # GTO allows one version of an artifact per commit: version K of every
    # artifact sits on commit K
    out = bytearray()
    for v in range(versions):
        out += b"commit refs/heads/main\nmark :%d\n" % (v + 1)
        out += f"committer {IDENT} {WHEN}\n".encode() + _data(f"models v{v + 1}".encode())
        if v:
            out += b"from :%d\n" % v
        for a in range(artifacts):
            out += f"M 100644 inline models/a{a}.pkl\n".encode() + _data(f"weights {v}".encode())
    stages = ["dev", "staging", "prod"]
    for a in range(artifacts):
        for v in range(versions):
            out += f"tag a{a}@v0.0.{v + 1}\nfrom :{v + 1}\ntagger {IDENT} {WHEN}\n".encode() + _data(
                b"Registering version"
            )
        for n in range(assignments):
            stage = stages[n % len(stages)]
            v = n % versions
            out += f"tag a{a}#{stage}#{n + 1}\nfrom :{v + 1}\ntagger {IDENT} {WHEN}\n".encode() + _data(
                b"Assigning stage"
            )
    _fast_import(path, bytes(out))
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)
    _done(path)
    return path


def tag_count(path: Path) -> int:
    out = subprocess.run(["git", "tag"], cwd=path, capture_output=True, text=True, check=True).stdout
    return len(out.split())


def link_history(path: Path, changes: int, links: int = 10) -> Path:
    """A registry (stages s0, s1, s2) where link ``l0`` changed ``changes`` times on s0 and was promoted
    ``changes`` times onto s1, each promotion recording its ``Mr-From`` commit as ``mr promote`` does.

    One commit a second, so the history is ordered by time as a real one is. Built in two
    fast-imports: the promotions name s0's commits by SHA, known only after the first.
    """
    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    start = 1700000000

    def link(i: int, rev: str) -> bytes:
        return (
            f"link_type: model\nobject_type: link\npath: models/m{i}.mlem\nproject: /nowhere/p\nrev: {rev}\n".encode()
        )

    def committer(t: int) -> bytes:
        return f"committer {IDENT} {start + t} +0000\n".encode()

    out = bytearray(b"commit refs/heads/s0\nmark :1\n" + committer(0) + _data(b"links"))
    out += b"M 100644 inline .mlem.yaml\n" + _data(b"")
    out += b"M 100644 inline .mr.yaml\n" + _data(b"stages: [s0, s1, s2]\n")
    for i in range(links):
        out += f"M 100644 inline l{i}.mlem\n".encode() + _data(link(i, "main"))
    for k in range(1, changes + 1):
        out += b"commit refs/heads/s0\nmark :%d\n" % (k + 1) + committer(2 * k) + _data(f"l0 to v{k}".encode())
        out += b"from :%d\n" % k
        out += b"M 100644 inline l0.mlem\n" + _data(link(0, f"v{k}"))
    for name in ("s1", "s2"):
        out += f"reset refs/heads/{name}\nfrom :1\n".encode()
    path.mkdir(parents=True, exist_ok=True)
    marks = path.parent / f"{path.name}.marks"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "fast-import", "--quiet", f"--export-marks={marks}"], input=bytes(out), cwd=path, check=True)
    sha = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    out = bytearray()
    for k in range(1, changes + 1):
        message = f"Promote l0 to s1\n\nMr-From: s0 {sha[f':{k + 1}']}\nMr-Link: l0\nMr-Rev: v{k} -\n"
        out += b"commit refs/heads/s1\n" + committer(2 * k + 1) + _data(message.encode())
        if k == 1:
            out += f"from {sha[':1']}\n".encode()
        out += b"M 100644 inline l0.mlem\n" + _data(link(0, f"v{k}"))
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(out), cwd=path, check=True)
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/s0"], cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "s0"], cwd=path, check=True)
    _done(path)
    return path


def ten_links(reg: Path) -> str:
    """Branch ``ten`` of a ``registry``: one commit on ``s2`` that changes the rev of links l1..l10."""
    import pygit2

    repo = pygit2.Repository(str(reg))
    if "refs/heads/ten" in repo.references:
        return str(repo.references["refs/heads/ten"].target)
    base = repo.revparse_single("s2").peel(pygit2.Commit)
    builder = repo.TreeBuilder(base.tree)
    for i in range(1, 11):
        data = repo[base.tree[f"l{i}.mlem"].id].read_raw()
        changed = data.replace(b"\nrev: main\n", b"\nrev: v2\n").replace(b"\nrev: v1\n", b"\nrev: v2\n")
        builder.insert(f"l{i}.mlem", repo.create_blob(changed), pygit2.GIT_FILEMODE_BLOB)
    who = pygit2.Signature("Bench", "bench@example.com", 1700000000, 0)
    return str(repo.create_commit("refs/heads/ten", who, who, "ten links", builder.write(), [base.id]))


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".cache"))
    print(registry(root / "reg-1000", 1000, 20))


def heavy_project(path: Path, commits: int, blob_mib: float) -> Path:
    """A MLEM project whose every commit carries a new model binary of ``blob_mib`` MiB (random, so
    incompressible): models/rf.mlem and models/rf.bin on main, tag v1 on the first commit."""
    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    out = bytearray()
    size = int(blob_mib * 1024 * 1024)
    for c in range(commits):
        out += b"commit refs/heads/main\nmark :%d\n" % (c + 1)
        out += f"committer {IDENT} {WHEN}\n".encode()
        out += _data(f"retrain {c}".encode())
        if c:
            out += b"from :%d\n" % c
        else:
            out += b"M 100644 inline .mlem.yaml\n" + _data(b"")
        out += b"M 100644 inline models/rf.mlem\n" + _data(MODEL + f"# version {c}\n".encode())
        out += b"M 100644 inline models/rf.bin\n" + _data(os.urandom(size))
        if c == 0:
            out += f"tag v1\nfrom :1\ntagger {IDENT} {WHEN}\n".encode() + _data(b"v1")
    _fast_import(path, bytes(out), bare=True)
    _done(path)
    return path


def model_history(path: Path, commits: int, blob_mib: float) -> Path:
    """A MLEM project whose every commit retrains the model: models/rf.bin (random, ``blob_mib`` MiB) and
    models/rf.mlem recording its md5 and size as MLEM 0.4.14 does. Streamed into fast-import, so a
    history of gigabytes never sits in memory."""
    import hashlib

    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], stdin=subprocess.PIPE, cwd=path)
    assert proc.stdin is not None
    size = int(blob_mib * 1024 * 1024)
    for c in range(commits):
        weights = os.urandom(size)
        meta = (
            "artifacts:\n  data.pkl:\n"
            f"    hash: {hashlib.md5(weights).hexdigest()}\n    size: {size}\n    uri: rf.bin\n"
            "object_type: model\nprocessors: {}\nrequirements: []\n"
        ).encode()
        head = b"commit refs/heads/main\nmark :%d\n" % (c + 1) + f"committer {IDENT} {WHEN}\n".encode()
        head += _data(f"retrain {c}".encode())
        head += b"from :%d\n" % c if c else b"M 100644 inline .mlem.yaml\n" + _data(b"")
        proc.stdin.write(head)
        proc.stdin.write(b"M 100644 inline models/rf.mlem\n" + _data(meta))
        proc.stdin.write(b"M 100644 inline models/rf.bin\n" + b"data %d\n" % size)
        proc.stdin.write(weights)
        proc.stdin.write(b"\n")
        del weights
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    _done(path)
    return path


def dvc_project(path: Path, remote: Path, mib: float, dvc: str) -> Path:
    """A bare MLEM project (``path``) whose model file models/rf (random, ``mib`` MiB) is kept in DVC:
    the meta records it as ``type: dvc``, ``dvc add`` tracks it, ``dvc push`` put it in the folder
    remote ``remote`` (the project's default remote)."""
    import hashlib

    if _cached(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(remote, ignore_errors=True)
    work = path.with_name(path.name + ".work")
    shutil.rmtree(work, ignore_errors=True)
    (work / "models").mkdir(parents=True)
    env = dict(os.environ, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(work.parent / "dvc-site"))

    def run(*argv: str) -> None:
        subprocess.run(argv, cwd=work, env=env, check=True, capture_output=True)

    data = os.urandom(int(mib * 2**20))
    (work / "models" / "rf").write_bytes(data)
    (work / ".mlem.yaml").write_text("")
    (work / "models" / "rf.mlem").write_text(
        "artifacts:\n  data.pkl:\n"
        f"    hash: {hashlib.md5(data).hexdigest()}\n    size: {len(data)}\n    type: dvc\n    uri: rf\n"
        "object_type: model\nrequirements:\n- module: sklearn\n"
    )
    run("git", "init", "-q", "-b", "main")
    run(dvc, "init", "-q")
    run(dvc, "remote", "add", "-d", "storage", str(remote))
    run(dvc, "add", "-q", "models/rf")
    run("git", "add", "-A")
    run("git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "rf in DVC")
    run(dvc, "push", "-q")
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(path)], check=True)
    shutil.rmtree(work)
    _done(path)
    return path
