"""Random hostile stage trees: mr reads them without a traceback, a write outside the
registry, or a raw control character on stdout."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mr import api
from tests.helpers import MODEL, git
from tests.plumbing import Tree, build

LINK = b"link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: ../models\nrev: main\n"
ALPHABET = "ab.-_ [] \x1b\x07\x00\n\r\t\x7f\x9b\u202e\u2028\xe9"


def _name(text: str) -> str:
    return text.replace("\x00", "") or "x"


names = st.text(alphabet=ALPHABET, min_size=1, max_size=6).map(_name).filter(lambda n: n not in (".", "..", ".git"))


def leaves(outside: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(LINK),
        st.just(MODEL.encode()),
        st.binary(max_size=40),
        st.sampled_from(
            [("link", outside), ("link", outside + "/x.mlem"), ("link", "../../../etc/passwd"), ("link", ".")]
        ),
    )


def trees(outside: str) -> st.SearchStrategy[Tree]:
    def entries(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Tree]:
        keys = st.tuples(names, st.booleans()).map(lambda t: t[0] + (".mlem" if t[1] else ""))
        return st.dictionaries(keys, children, max_size=5)

    return st.recursive(entries(leaves(outside)), entries, max_leaves=12)  # type: ignore[arg-type]


def _commit_tree(repo: Path, branch: str, tree: Tree, config: bytes | tuple[str, str]) -> None:
    sha = build(repo, {**tree, ".mr.yaml": config})
    parent = git(repo, "rev-parse", branch)
    commit = subprocess.run(
        ["git", "commit-tree", sha, "-p", parent, "-m", "hostile\x1b[31m\n\nMr-Link: \x1b]0;x\x07"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    git(repo, "update-ref", f"refs/heads/{branch}", commit)


def _link_names(tree: Tree, prefix: str = "") -> list[str]:
    out = []
    for name, value in tree.items():
        if isinstance(value, dict):
            out += _link_names(value, prefix + name + "/")
        elif name.endswith(".mlem"):
            out.append(prefix + name[: -len(".mlem")])
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


RAW = {chr(c) for c in range(32) if chr(c) != "\n"} | {chr(c) for c in range(0x7F, 0xA0)} | {"\u202e", "\u2028"}


@pytest.fixture
def hostile_registry(registry: Path, project: Path, tmp_path: Path) -> tuple[Path, Path]:
    api.link("models/rf", source_project=str(project), target="churn")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.mlem").write_bytes(LINK)
    (outside / "keep").write_text("untouched\n")
    return registry, outside


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_hostile_stage_trees(hostile_registry: tuple[Path, Path], mr, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    registry, outside = hostile_registry
    tree = data.draw(trees(str(outside)), label="tree")
    config: bytes | tuple[str, str] = data.draw(
        st.sampled_from([b"stages: [dev, staging, production]\n", ("link", str(outside / "keep"))]), label="config"
    )
    _commit_tree(registry, "staging", tree, config)
    before = _snapshot(outside)
    runs = [
        ("show", "--stage", "staging"),
        ("show", "--all-stages"),
        ("show", "--diff", "dev", "staging"),
        ("verify", "--stage", "staging", "--offline"),
        ("promote", "churn", "--to", "staging", "--from", "dev", "--dry-run"),
    ]
    candidates = _link_names(tree)
    if candidates:
        name = data.draw(st.sampled_from(candidates), label="name")
        runs += [
            ("promote", name, "--to", "production", "--from", "staging", "--dry-run", "--no-verify"),
            ("show", name),
        ]
    for args in runs:
        r = mr(*args)
        assert r.code in (0, 1, 2), (args, r.code)
        assert "internal error" not in r.err and "Traceback" not in r.err, (args, r.err)
        assert not RAW & set(r.out), (args, r.out)
        assert not RAW & set(r.err.replace("\n", "")), (args, r.err)
    assert _snapshot(outside) == before
    assert git(registry, "status", "--porcelain") == ""
