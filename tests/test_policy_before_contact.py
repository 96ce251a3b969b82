"""allowed_sources is asked before any connection: a forbidden source is never contacted, by any command.

The forbidden source is a server that counts its connections (and would hold
each one open, a byte a second, until mr gave up): every command must leave
it at zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import commit_all, git
from tests.servers import Trickler
from tests.test_wire import wait_for

POLICY = "stages: [dev, staging, production]\nallowed_sources: ['https://git.example.com/']\n"
LINK = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {url}\nrev: main\n"
#: an allowed hop whose link goes on to the forbidden source
HOP = "link_type: model\nobject_type: link\npath: hop.mlem\n"


def contacts(server: Trickler) -> int:
    """Connections to ``server`` since it started (its own start-up probe left out)."""
    return server.connections - 1


@pytest.fixture(autouse=True)
def probed(trickler: Trickler) -> None:
    """The server's start-up probe is counted before a test begins."""
    wait_for(lambda: trickler.connections >= 1)


@pytest.fixture
def forbidden(registry: Path, trickler: Trickler, monkeypatch: pytest.MonkeyPatch) -> Trickler:
    """dev (and every stage) holds ``far``, a link to the counting server; the policy allows only another host."""
    monkeypatch.setenv("MR_GIT_TIMEOUT", "20")
    (registry / ".mr.yaml").write_text(POLICY)
    (registry / "far.mlem").write_text(LINK.format(url=trickler.url()))
    commit_all(registry, "a link to a forbidden source")
    for stage in ("staging", "production"):
        git(registry, "branch", "-f", stage, "dev")
    return trickler


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("verify",), "far.mlem:4: error: project git://"),
        (("verify", "--artifacts"), "far.mlem:4: error: project git://"),
        (("verify", "--stage", "production"), "production:far.mlem:4: error: project git://"),
        (("show", "--resolve"), "not under allowed_sources"),
        (("show", "--outdated"), "not under allowed_sources"),
        (("promote", "far", "--to", "staging", "--yes"), "far.mlem:4: error: project git://"),
        (("get", "far", "-o", "out"), "far.mlem:4: error: project git://"),
    ],
)
def test_no_command_contacts_a_source_outside_allowed_sources(
    forbidden: Trickler, mr, args: tuple[str, ...], says: str
) -> None:  # type: ignore[no-untyped-def]
    r = mr(*args)
    assert r.code == 1, r.out + r.err
    assert says in r.out + r.err
    assert "not under allowed_sources (https://git.example.com/)" in r.out + r.err
    assert contacts(forbidden) == 0


def test_mr_link_refuses_a_forbidden_source_before_contacting_it(
    registry: Path, trickler: Trickler, monkeypatch: pytest.MonkeyPatch, mr
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MR_GIT_TIMEOUT", "20")
    (registry / ".mr.yaml").write_text(POLICY)
    r = mr("link", "--sp", trickler.url(), "models/rf", "far")
    assert r.code == 1
    assert r.err == (f"mr: error: project {trickler.url()} is not under allowed_sources (https://git.example.com/)\n")
    assert contacts(trickler) == 0
    assert not (registry / "far.mlem").exists()


def test_a_later_hop_is_refused_before_its_own_fetch(
    registry: Path, trickler: Trickler, monkeypatch: pytest.MonkeyPatch, mr
) -> None:  # type: ignore[no-untyped-def]
    # near is an alias inside the registry (allowed), whose target hop.mlem names the forbidden source
    monkeypatch.setenv("MR_GIT_TIMEOUT", "20")
    (registry / ".mr.yaml").write_text(POLICY)
    (registry / "hop.mlem").write_text(LINK.format(url=trickler.url()))
    (registry / "near.mlem").write_text(HOP)
    commit_all(registry, "a chain")
    r = mr("verify", "near.mlem")
    assert r.code == 1
    assert "not under allowed_sources" in r.out
    assert contacts(trickler) == 0
