"""``mr site`` pages as a real browser renders them: headless Chromium (Debian's package, which .ci/run
installs) opens them from ``file://``; the tests read the DOM it built, count the requests a server on
127.0.0.1 receives (none may come), and take a screenshot."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mr import api, site
from tests.commands.test_site import hostile_registry
from tests.commands.test_site_record import busy_registry
from tests.helpers import git, serve_http

pytestmark = pytest.mark.slow

#: no network of its own: no updates, no sync, no QUIC, nothing started in the background
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1280,1000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is needed (.ci/run installs Debian's chromium package)")
    return found


def browse(url: str, tmp_path: Path, *extra: str) -> str:
    """What Chromium prints for ``url`` with ``extra`` flags (``--dump-dom``: the DOM after load)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class Dom(HTMLParser):
    """The elements of a dumped DOM, with attributes and the text inside each element that has an id or
    data attributes (enough to read tables)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self._open: list[tuple[dict[str, str | None], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag in ("td", "th", "tr"):
            self._open.append((a, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr") and self._open:
            a, text = self._open.pop()
            self.cells.append((a, "".join(text)))
            if self._open:
                self._open[-1][1].append("".join(text))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)


def dom(text: str) -> Dom:
    parsed = Dom()
    parsed.feed(text)
    return parsed


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 that records every request it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    url, stop = serve_http(Handler)
    try:
        yield url.removeprefix("http://"), seen
    finally:
        stop()


def test_the_matrix_the_browser_renders_is_mr_show_s(registry: Path, project: Path, tmp_path: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    page = dom(browse((registry / "out" / "index.html").as_uri(), tmp_path, "--dump-dom"))
    html_tag = next(a for tag, a in page.elements if tag == "html")
    assert "js" in (html_tag.get("class") or "")  # the inline script ran: the policy allows exactly it
    matrix = api.stage_matrix()
    rows = {a["data-name"]: a for a, _ in page.cells if "data-name" in a}
    assert sorted(rows) == sorted(matrix.rows)
    cells = {}
    current = None  # the row each cell is in, in document order
    for tag, a in page.elements:
        if tag == "tr" and "data-name" in a:
            current = a["data-name"]
        elif tag == "td" and current is not None and "data-stage" in a:
            cells[current, a["data-stage"]] = a
    for name, links in matrix.rows.items():
        for stage, link in zip(matrix.stages, links, strict=True):
            cell = cells[name, stage]
            if link is not None:
                assert (
                    cell["data-state"] == "on"
                    and cell["data-version"]
                    == api.show(stage=stage)
                    .entries[[e.name for e in api.show(stage=stage).entries].index(name)]
                    .version
                )
            elif name in matrix.retired.get(stage, ()):
                assert cell["data-state"] == "retired"
            else:
                assert cell["data-state"] in ("never", "removed")


def test_a_link_page_the_browser_renders_is_mr_show_name_s(registry: Path, project: Path, tmp_path: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    shown = json.loads(
        subprocess.run(
            ["mr", "show", "churn", "--json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=registry,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        ).stdout
    )
    page = dom(browse((registry / "out" / site.page_name("churn")).as_uri(), tmp_path, "--dump-dom"))
    rows = [(a["data-commit"], text) for a, text in page.cells if "data-commit" in a]
    assert [c for c, _ in rows] == [e["commit"] for e in shown["history"]]
    for (_, text), entry in zip(rows, shown["history"], strict=True):
        assert entry["version_after"] is None or entry["version_after"] in text
        assert entry["author"] in text and entry["stage"] in text


def test_no_request_leaves_the_folder_even_for_hostile_values(
    registry: Path, project: Path, tmp_path: Path, listener: tuple[str, list[str]]
) -> None:
    where, seen = listener
    hostile_registry(registry, project)
    # hostile values that would each make the browser call the listener, were they markup
    (registry / f"<img src=http:{where}>.mlem").write_text((registry / "churn.mlem").read_text())
    git(registry, "add", "-A")
    git(
        registry,
        "commit",
        "-q",
        "-m",
        f'<img src="http://{where}/message"><link rel=stylesheet href=http://{where}/css>',
    )
    api.site("out")
    out = registry / "out"
    pages = [out / "index.html", out / site.page_name(f"<img src=http:{where}>"), out / site.page_name("js")]
    for page in pages:
        rendered = dom(browse(page.as_uri(), tmp_path, "--dump-dom", "--virtual-time-budget=2000"))
        assert not [tag for tag, _ in rendered.elements if tag in ("img", "svg", "link", "iframe", "object")]
    assert seen == []
    # and the listener does hear a page that asks it: the check above can fail
    control = tmp_path / "control.html"
    control.write_text(f'<!DOCTYPE html><img src="http://{where}/control">')
    browse(control.as_uri(), tmp_path, "--dump-dom", "--virtual-time-budget=2000")
    assert seen == ["/control"]


def test_a_screenshot_is_made(registry: Path, project: Path, tmp_path: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    shot = tmp_path / "index.png"
    browse((registry / "out" / "index.html").as_uri(), tmp_path, f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
