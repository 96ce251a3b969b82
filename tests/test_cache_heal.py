"""A cache entry whose pack is damaged is set aside and fetched again, with a note; offline, it is named."""

from __future__ import annotations

from pathlib import Path

from mr import api
from tests.helpers import commit_all


def damage_packs(cache: Path) -> int:
    packs = list(cache.rglob("*.pack"))
    for pack in packs:
        pack.chmod(0o644)
        data = bytearray(pack.read_bytes())
        data[20:-20] = b"A" * (len(data) - 40)  # the header and trailer kept: git still lists it
        pack.write_bytes(bytes(data))
    return len(packs)


def test_a_damaged_pack_is_fetched_again_once_with_a_note(  # type: ignore[no-untyped-def]
    registry: Path, project: Path, tmp_path: Path, mr
) -> None:
    import os

    api.link("models/rf", source_project=f"file://{project}", target="churn")
    commit_all(registry, "churn")
    assert mr("verify").code == 0
    cache = Path(os.environ["MR_CACHE_DIR"])
    assert damage_packs(cache) >= 1
    # offline: nothing to fetch with, so the entry is named with what clears it
    r = mr("verify", "--offline")
    assert r.code == 1
    assert f"the cache of file://{project} is damaged (" in r.out and "run without --offline" in r.out
    r = mr("verify")
    assert r.code == 0, r.out + r.err
    assert r.err == f"mr: warning: the cache of file://{project} was damaged; fetched again\n"
    # healed: the next run says nothing
    r = mr("verify")
    assert (r.code, r.err) == (0, "")
