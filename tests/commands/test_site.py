"""``mr site``: what it writes, what it refuses to replace, and hostile values kept as text."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mr import api, site
from tests.commands.test_site_record import busy_registry
from tests.helpers import commit_all, git
from tests.test_shared_remote import origin, push_daemon  # noqa: F401 - fixtures

HOSTILE_NAMES = [
    "<script>alert(1)",
    "<img src=x onerror=alert(3)>",
    "q\"uote's &amp; <b>bold<b>",
    "bidi\u202etxt.exe",
    "tab\there",
]


class Elements(HTMLParser):
    """Every element of a page, with its attributes, and the text of the whole."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(path: Path) -> Elements:
    parser = Elements()
    parser.feed(path.read_text())
    return parser


def hostile_registry(registry: Path, project: Path) -> list[str]:
    """busy_registry, plus links with hostile names, a hostile commit message and author, a hostile
    project URL and one with a password; the names of the hostile links."""
    busy_registry(registry, project)
    template = (registry / "churn.mlem").read_text()
    for name in HOSTILE_NAMES:
        (registry / f"{name}.mlem").write_text(template)
    (registry / "js.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: javascript:alert(1)//x\nrev: v1\n"
    )
    (registry / "secret.mlem").write_text(
        "link_type: model\nobject_type: link\npath: models/rf.mlem\n"
        "project: https://alice:hunter2@example.com/acme/models\nrev: v1\n"
    )
    git(registry, "add", "-A")
    git(
        registry,
        "-c",
        'user.name="><svg onload=alert(1)>',
        "commit",
        "-q",
        "-m",
        "</pre><img src=x onerror=alert(1)> and <script>alert(2)</script>\n\nsee https://bob:s3cret@example.com/x",
    )
    return [*HOSTILE_NAMES, "js", "secret"]


def test_writes_an_index_and_a_page_per_link_with_a_marker(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    busy_registry(registry, project)
    result = mr("site", "-o", "out")
    assert result.code == 0, result.err
    out = registry / "out"
    marker = json.loads((out / site.MARKER).read_text())
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert marker["files"] == pages
    assert pages == sorted(["index.html", *(site.page_name(n) for n in ("churn", "fraud", "teams/ranker"))])
    assert "Wrote" in result.out and "3 link pages" in result.out
    index = parse(out / "index.html")
    hrefs = [a.get("href") for tag, a in index.elements if tag == "a"]
    assert all(site.page_name(n) in hrefs for n in ("churn", "fraud", "teams/ranker"))


def test_inline_style_and_script_are_the_ones_the_policy_allows(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    page = parse(registry / "out" / "index.html")
    policy = next(a["content"] for tag, a in page.elements if tag == "meta" and a.get("http-equiv"))
    assert policy is not None and "default-src 'none'" in policy

    def allowed(text: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert page.scripts and all(f"'{allowed(s)}'" in policy for s in page.scripts)
    assert page.styles and all(f"'{allowed(s)}'" in policy for s in page.styles)
    # nothing the page refers to lies outside the folder
    for _tag, attrs in page.elements:
        for key in ("src", "href", "action", "srcset", "poster", "data"):
            value = attrs.get(key)
            assert value is None or not re.match(r"[a-z]+:|//", value) or value.startswith("https://"), value


def test_hostile_values_are_text_never_markup(registry: Path, project: Path) -> None:
    names = hostile_registry(registry, project)
    api.site("out")
    out = registry / "out"
    for page_path in [out / "index.html", *(out / site.page_name(n) for n in names)]:
        page = parse(page_path)
        tags = [tag for tag, _ in page.elements]
        assert "img" not in tags and "svg" not in tags and "b" not in tags, page_path
        assert tags.count("script") <= 1 and tags.count("style") == 1
        for _tag, attrs in page.elements:
            assert not any(k.startswith("on") for k in attrs), attrs
            assert not (attrs.get("href") or "").lower().startswith("javascript:")
        raw = page_path.read_text()
        assert "hunter2" not in raw and "s3cret" not in raw
        assert "\u202e" not in raw and "\t" not in "".join(page.text).replace("\n", "")
    index = "".join(parse(out / "index.html").text)
    assert "<script>alert(1)" in index and "<img src=x onerror=alert(3)>" in index  # as text, as they are
    assert "bidi\\u202etxt.exe" in index
    history = "".join(parse(out / site.page_name("js")).text)
    assert "</pre><img src=x onerror=alert(1)>" in history
    assert "javascript:alert(1)//x" in history  # shown, never a link


def test_a_link_page_tells_the_history_link_history_tells(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    for name in ("churn", "fraud", "teams/ranker"):
        page = parse(registry / "out" / site.page_name(name))
        commits = [a["data-commit"] for tag, a in page.elements if tag == "tr" and "data-commit" in a]
        assert commits == [e.commit for e in api.link_history(name).history]


def test_a_previous_site_is_replaced_and_nothing_is_left_beside_it(registry: Path, project: Path) -> None:
    busy_registry(registry, project)
    api.site("out")
    first = (registry / "out" / "index.html").read_text()
    api.retire(["churn"], "production")
    api.site("out", now=2_000_000_000)
    assert (registry / "out" / "index.html").read_text() != first
    assert sorted(p.name for p in registry.iterdir() if p.name.startswith(".out")) == []


@pytest.mark.parametrize(
    "setup",
    ["foreign file", "extra file", "bad marker", "marker is a symlink"],
)
def test_a_folder_mr_site_did_not_write_is_never_replaced(registry: Path, project: Path, mr, setup: str) -> None:  # type: ignore[no-untyped-def]
    busy_registry(registry, project)
    out = registry / "out"
    if setup == "foreign file":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    else:
        api.site("out")
        if setup == "extra file":
            (out / "links" / "notes.txt").write_text("mine")
        elif setup == "bad marker":
            (out / site.MARKER).write_text(json.dumps({"mr_site": 1, "files": ["../../etc/passwd"]}))
        else:
            target = registry / "elsewhere.json"
            target.write_text((out / site.MARKER).read_text())
            (out / site.MARKER).unlink()
            (out / site.MARKER).symlink_to(target)
    before = sorted((p.relative_to(out).as_posix(), p.read_bytes()) for p in out.rglob("*") if p.is_file())
    result = mr("site", "-o", "out")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "mr site" in result.err and "out" in result.err
    after = sorted((p.relative_to(out).as_posix(), p.read_bytes()) for p in out.rglob("*") if p.is_file())
    assert after == before


@pytest.mark.parametrize("where", ["registry root", "above the registry", "symlink", "file", "git repo", "empty"])
def test_places_mr_site_never_writes(registry: Path, project: Path, mr, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    busy_registry(registry, project)
    target = {
        "registry root": str(registry),
        "above the registry": str(registry.parent),
        "symlink": str(tmp_path / "link"),
        "file": str(tmp_path / "a-file"),
        "git repo": str(project),
        "empty": "",
    }[where]
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    result = mr("site", "-o", target)
    assert result.code in (1, 2), result.err
    assert result.err.strip() and "Traceback" not in result.err
    assert not (tmp_path / "elsewhere" / "index.html").exists()
    assert (tmp_path / "a-file").read_text() == "x"


def test_a_failed_write_leaves_the_old_site_and_no_temporary_folder(
    registry: Path, project: Path, mr, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    busy_registry(registry, project)
    api.site("out")
    before = (registry / "out" / "index.html").read_text()
    real_open = open
    written = []

    def full_disk(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if "x" in str(mode) and str(path).endswith(".html"):
            written.append(path)
            if len(written) == 3:
                raise OSError(28, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk)
    result = mr("site", "-o", "out")
    monkeypatch.undo()
    assert result.code == 1 and "No space left on device" in result.err
    assert (registry / "out" / "index.html").read_text() == before
    assert [p.name for p in registry.iterdir() if p.name.startswith(".out.")] == []


def test_stale_and_diverged_stages_are_flagged(registry: Path, project: Path, tmp_path: Path) -> None:
    busy_registry(registry, project)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(registry, "remote", "add", "origin", str(remote))
    git(registry, "push", "-q", "origin", "dev", "staging", "production")
    git(registry, "fetch", "-q", "origin")
    git(registry, "branch", "-f", "staging", "staging~1")  # behind origin/staging
    (registry / "fraud.mlem").write_text((registry / "fraud.mlem").read_text() + "# local\n")
    commit_all(registry, "local only")  # dev: ahead of origin/dev
    result = api.site("out")
    assert dict(result.read_from) == {"dev": "dev", "staging": "origin/staging", "production": "production"}
    rows = {
        a["data-stage"]: a
        for tag, a in parse(registry / "out" / "index.html").elements
        if tag == "tr" and "data-stage" in a
    }
    assert set(rows) >= {"dev", "staging", "production"}
    text = (registry / "out" / "index.html").read_text()
    assert "reading origin/staging: your staging is 1 commit behind" in text
    assert "dev has 1 commit not on origin/dev" in text
    heads = re.findall(
        r'<th scope="col">([a-z]+)(?: <span class="flag warn" title="[^"]*">([a-z]+)</span>)?</th>', text
    )
    assert ("dev", "ahead") in heads and ("staging", "behind") in heads and ("production", "") in heads


def test_json_says_what_was_written(registry: Path, project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    busy_registry(registry, project)
    result = mr("site", "-o", "out", "--json")
    assert result.code == 0
    doc = json.loads(result.out)
    assert doc["pages"] == 4 and doc["folder"] == os.path.join(str(registry), "out")
    assert [s["stage"] for s in doc["stages"]] == ["dev", "staging", "production"]
    assert doc["read_from"] == {"dev": "dev", "staging": "staging", "production": "production"}
    assert doc["bytes"] == sum(p.stat().st_size for p in (registry / "out").rglob("*.html"))


def test_a_registry_by_url_is_read_from_its_remote(
    origin: str,  # noqa: F811
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = mr("site", "--registry", origin, "-o", "out", "--json")
    assert result.code == 0, result.err
    index = (elsewhere / "out" / "index.html").read_text()
    assert 'data-stage="production" data-state="on" data-version="v1"' in index
    assert json.loads(result.out)["registry"] == origin


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_colours_pass_wcag_aa_on_every_background(scheme: str) -> None:
    css = site._CSS
    dark = css.index("prefers-color-scheme:dark")
    block = css[:dark] if scheme == "light" else css[dark:]
    colours = dict(re.findall(r"--([a-z]+):(#[0-9a-f]{6})", block))
    assert {"bg", "head", "fg", "muted", "ok", "bad", "warn", "link", "focus"} <= set(colours)
    for text in ("fg", "muted", "ok", "bad", "warn", "link"):
        for background in ("bg", "head"):
            assert contrast(colours[text], colours[background]) >= 4.5, (scheme, text, background)
    assert contrast(colours["focus"], colours["bg"]) >= 3  # a focus ring: non-text contrast
