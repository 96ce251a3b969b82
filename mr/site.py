"""``mr site``: the registry as a static site (the stage matrix, each link's history), for everyone who
never opens a terminal.

The pages are plain HTML that any static host or ``file://`` serves: no
server, no request leaving the folder (a Content-Security-Policy with
``default-src 'none'`` says so to the browser, and the one inline style and
script are allowed by their hashes only), readable without JavaScript. Every
value from the registry or a source is untrusted: control and bidirectional
characters are escaped as on a terminal, credentials in URLs redacted, and
the result HTML-escaped; only ``http(s)`` URLs become links.

The site is written into a temporary folder beside the target and renamed
into place; a folder is replaced only when it is a previous ``mr site``
output holding nothing its marker (``.mr-site.json``) does not list.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mr import __version__, outfolder
from mr.errors import MrError, OutputRefused, UsageError
from mr.model import COMPACT_SHA, SHORT_SHA, Link, Problem, version_key, version_of
from mr.results import HistoryEntry, RecordedLink, RegistryRecord, SiteResult, StageCell, VerifyReport
from mr.terminal import field, lines
from mr.urls import is_url, strip_credentials

#: the folder ``mr site`` writes when ``-o`` is not given
DEFAULT_FOLDER = "site"
#: the marker that makes a folder ``mr site``'s to replace: the files it wrote
MARKER = ".mr-site.json"
MARKER_FORMAT = 1
#: the largest marker read (a site of 100,000 links lists about 6 MB of names)
MAX_MARKER_BYTES = 64 * 1024 * 1024
#: the temporary siblings' kind (``.site.mr-site-XXXXXXXX``)
WRITING = outfolder.SITE_WRITING

_UNSAFE_NAME = re.compile(r"[^a-z0-9._-]+")

_CSS = """
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--head:#f6f8fa;
--ok:#116329;--bad:#a40e26;--warn:#7d4e00;--link:#0550ae;--focus:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9da7b3;--line:#3d444d;
--head:#161b22;--ok:#56d364;--bad:#ff7b72;--warn:#e3b341;--link:#79c0ff;--focus:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif}
header,main,footer{max-width:80rem;margin:0 auto;padding:.75rem 1rem}
header{border-bottom:1px solid var(--line)}
h1{font-size:1.5rem;margin:.25rem 0}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
a{color:var(--link)}
a:focus-visible,input:focus-visible,.scroll:focus-visible,summary:focus-visible{outline:3px solid var(--focus);
outline-offset:2px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;min-width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}
thead th{background:var(--head);position:sticky;top:0}
tbody th{font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.muted,.since{color:var(--muted)}.since,.flag{display:block;font-size:.85em}
td:first-child,time{white-space:nowrap}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.state-never{color:var(--muted)}
.msg{white-space:pre-wrap;margin:0;font:inherit}
.flag{font-weight:600}
label{display:block;margin:.5rem 0 .25rem}
input{font:inherit;padding:.3rem .5rem;border:1px solid var(--line);background:var(--bg);color:var(--fg);
width:min(24rem,100%)}
.filter{display:none}.js .filter{display:block}
footer{border-top:1px solid var(--line);color:var(--muted);font-size:.9em;margin-top:2rem}
"""

_SCRIPT = """
document.documentElement.classList.add("js");
(function(){var box=document.getElementById("filter");if(!box)return;
var rows=document.querySelectorAll("#matrix tbody tr");
box.addEventListener("input",function(){var q=box.value.toLowerCase();
for(var i=0;i<rows.length;i++){rows[i].hidden=rows[i].getAttribute("data-name").toLowerCase().indexOf(q)<0;}});
})();
"""


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


#: the browser may load nothing at all: the style and the script are inline, allowed by their hashes
_CSP = (
    f"default-src 'none'; style-src '{_hash(_CSS)}'; script-src '{_hash(_SCRIPT)}'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)


# --- building -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stage:
    """A stage as the pages show it: the record's reading and, with ``--verify``, its verdict."""

    name: str
    commit: str | None
    commit_time: int | None
    read_from: str | None
    flag: str | None
    #: a word for the matrix's column head: ``diverged``, ``behind`` or ``ahead`` (None: the copies agree)
    condition: str | None = None
    verify: VerifyReport | None = None
    verify_error: str | None = None


def _condition(diverged: bool, stale: bool, note: str | None) -> str | None:
    if note is None:
        return None
    return "diverged" if diverged else "behind" if stale else "ahead"


def build(
    out: str | None = None,
    registry: str | None = None,
    remote: str | None = None,
    resolve: bool = False,
    verify: bool = False,
    title: str | None = None,
    now: int | None = None,
) -> SiteResult:
    """Write the registry's static site into ``out`` (default ``./site``): ``index.html`` with the stage
    matrix, and one page per link with its history on every stage.

    ``resolve`` adds each link's newest version tag and whether each stage is
    behind it; ``verify`` runs ``mr verify --stage`` on each stage and shows the
    result. The folder is written whole or not at all, and replaces only a
    previous ``mr site`` output.
    """
    from mr.commands.show import record_of
    from mr.registry import Registry

    if out is not None and out == "":
        raise UsageError("-o/--out is empty: name the folder to write")
    if title is not None and not title.strip():
        raise UsageError("--title is empty: give the page a title, or leave the option out")
    folder = os.path.abspath(out if out is not None else DEFAULT_FOLDER)
    reg = Registry.open(registry, remote_ok=True, remote=remote)
    protected = [(reg.root, "the registry's root")] if reg.root else []
    outfolder.check_target(out, folder, True, protected, who="mr site", replaceable=check_replaceable)
    record = record_of(reg, resolve)
    stages = [
        _Stage(s.stage, s.commit, s.commit_time, s.read_from, s.note, _condition(s.diverged, s.stale, s.note))
        for s in record.stages
    ]
    if verify:
        stages = [_verified(s, registry, remote) for s in stages]
    built = int(time.time()) if now is None else now
    pages = _pages(record, stages, title or f"Model registry {field(record.registry)}", built, resolve)
    size = _write(folder, pages, record.registry, built)
    failed = tuple(s.name for s in stages if s.verify_error is not None or (s.verify is not None and not s.verify.ok))
    return SiteResult(
        folder,
        record.registry,
        len(pages),
        size,
        tuple((s.stage, s.commit) for s in record.stages),
        built,
        record.problems,
        record.notes,
        failed,
        record.read_from,
    )


def _verified(stage: _Stage, registry: str | None, remote: str | None) -> _Stage:
    from dataclasses import replace

    from mr.commands.verify import verify

    if stage.commit is None:
        return stage
    try:
        return replace(stage, verify=verify(registry=registry, stage=stage.name, remote=remote))
    except MrError as e:
        return replace(stage, verify_error=e.message)


def check_replaceable(folder: str, shown: str | None = None) -> None:
    """Refuse unless ``folder`` is a previous ``mr site`` output: a valid marker, and nothing it does not list."""
    shown = field(folder if shown is None else shown)
    marker = os.path.join(folder, MARKER)
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise OutputRefused(
            f"{shown} exists and has no {MARKER}: mr site did not write it, and replaces only a folder it wrote"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputRefused(f"{shown}: {MARKER} is not a regular file; mr site replaces only a folder it wrote")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_MARKER_BYTES + 1)
    finally:
        os.close(fd)
    listed = _listed(data)
    if listed is None:
        raise OutputRefused(f"{shown}: {MARKER} is not a marker mr site wrote; the folder is not replaced")
    extra = outfolder.unlisted(folder, listed, MARKER)
    if extra:
        names = ", ".join(field(e) for e in extra[: outfolder.NAMED])
        more = f" and {len(extra) - outfolder.NAMED} more" if len(extra) > outfolder.NAMED else ""
        raise OutputRefused(
            f"{shown} holds files mr site did not write ({names}{more}); move them away, or choose another folder"
        )


def _listed(data: bytes) -> set[str] | None:
    """The files a marker lists, or None when it is not one."""
    if len(data) > MAX_MARKER_BYTES:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("mr_site") != MARKER_FORMAT or not isinstance(doc.get("files"), list):
        return None
    files = doc["files"]
    if not all(isinstance(f, str) and _page_path_ok(f) for f in files):
        return None
    return set(files)


def _page_path_ok(path: str) -> bool:
    """A path the site writes: ``index.html`` or ``links/NAME.html``, never anything else."""
    if path == "index.html":
        return True
    head, _, tail = path.partition("/")
    return head == "links" and tail.endswith(".html") and _UNSAFE_NAME.sub("", tail) == tail and "/" not in tail


def _write(folder: str, pages: dict[str, str], registry: str, built: int) -> int:
    """Write ``pages`` into a temporary sibling of ``folder`` and rename it into place; the bytes written."""
    outfolder.remove_stale(folder)
    held = outfolder.Held(folder, WRITING)
    size = 0
    try:
        tmp = os.path.join(held.path, "site")
        os.mkdir(tmp)
        os.mkdir(os.path.join(tmp, "links"))
        for rel, text in pages.items():
            data = text.encode()
            size += len(data)
            with open(os.path.join(tmp, *rel.split("/")), "xb") as f:
                f.write(data)
        marker = {"mr_site": MARKER_FORMAT, "registry": registry, "built": built, "files": sorted(pages)}
        with open(os.path.join(tmp, MARKER), "x") as f:
            json.dump(marker, f, indent=1)
        outfolder.move_into_place(tmp, folder, True, who="mr site", replaceable=check_replaceable)
    finally:
        held.remove()
    return size


# --- the pages ------------------------------------------------------------------------------------


def _t(value: object) -> str:
    """One value as HTML text: control and bidi characters escaped, URLs redacted, then HTML-escaped."""
    return html.escape(field(value), quote=True)


def _m(value: object) -> str:
    """Text of several lines (a commit message) as HTML text."""
    return html.escape(lines(value), quote=True)


def page_name(name: str) -> str:
    """The file of a link's page: its name made safe, and a hash that keeps distinct names apart."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    slug = _UNSAFE_NAME.sub("-", name.lower()).strip("-.")[:60] or "link"
    return f"links/{slug}-{digest}.html"


def _when(ts: int | None, day: bool = False) -> str:
    """A moment as a ``<time>``: to the minute in UTC, or (``day``) its date, the minute in its title."""
    if ts is None:
        return ""
    moment = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
    if day:
        return f'<time datetime="{iso}" title="{moment}">{moment[:10]}</time>'
    return f'<time datetime="{iso}">{moment}</time>'


def _age(seconds: int) -> str:
    """How long, in the largest whole unit."""
    seconds = max(0, seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    n = seconds // 60
    if n == 0:
        return "under a minute"
    return f"{n} minute{'s' if n != 1 else ''}"


def _project(link: Link) -> str:
    """A link's project: a link when it is an http(s) URL (credentials removed), else text."""
    project = link.project
    if project is None:
        return '<span class="muted">this registry</span>'
    if is_url(project) and re.match(r"https?://", project, re.IGNORECASE):
        clean = strip_credentials(project)
        if clean == field(clean):  # nothing to escape: the address is the text shown
            return f'<a href="{html.escape(clean, quote=True)}" rel="noopener noreferrer">{_t(clean)}</a>'
    return f"<code>{_t(project)}</code>"


def _document(title: str, body: str, built: int, footer: str, script: bool = False, depth: int = 0) -> str:
    nav = f'<nav aria-label="Site"><a href="{"../" * depth}index.html">All links and stages</a></nav>' if depth else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="mr {_t(__version__)}">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header>{nav}<h1>{title}</h1></header>\n"
        f'<main id="main">\n{body}</main>\n<footer>\n{footer}</footer>\n'
        + (f"<script>{_SCRIPT}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


def _footer(record: RegistryRecord, stages: Sequence[_Stage], built: int) -> str:
    parts = [f"<p>Registry <code>{_t(record.registry)}</code>, built {_when(built)} by mr {_t(__version__)}.</p>"]
    items = []
    for s in stages:
        at = f"<code>{_t(s.commit[:SHORT_SHA])}</code>" if s.commit else "no branch"
        read = f" ({_t(s.read_from)})" if s.read_from and s.read_from != s.name else ""
        items.append(f"<li>{_t(s.name)}{read}: {at}</li>")
    parts.append(f'<ul aria-label="Stage commits">{"".join(items)}</ul>')
    return "\n".join(parts) + "\n"


def _pages(record: RegistryRecord, stages: Sequence[_Stage], title: str, built: int, resolve: bool) -> dict[str, str]:
    footer = _footer(record, stages, built)
    pages = {"index.html": _index(record, stages, title, built, footer, resolve)}
    for link in record.links:
        name = link.history.name
        pages[page_name(name)] = _link_page(link, record, f"{_t(name)}", built, footer, resolve)
    return pages


def _index(record: RegistryRecord, stages: Sequence[_Stage], title: str, built: int, footer: str, resolve: bool) -> str:
    out: list[str] = []
    out.append('<section aria-labelledby="stages-h">\n<h2 id="stages-h">Stages</h2>\n')
    out.append(_stage_table(stages, built))
    out.append("</section>\n")
    out.append('<section aria-labelledby="matrix-h">\n<h2 id="matrix-h">Links on each stage</h2>\n')
    if record.links:
        out.append(
            '<div class="filter"><label for="filter">Filter links by name</label>'
            '<input id="filter" type="search" autocomplete="off"></div>\n'
        )
        out.append(_matrix(record, stages, built, resolve))
    else:
        out.append("<p>No links on any stage yet.</p>\n")
    out.append("</section>\n")
    out.append(_problems(record.problems, record.notes))
    return _document(_t(title), "".join(out), built, footer, script=bool(record.links))


def _stage_table(stages: Sequence[_Stage], built: int) -> str:
    verified = any(s.verify is not None or s.verify_error is not None for s in stages)
    head = '<th scope="col">Stage</th><th scope="col">Commit</th><th scope="col">Last change</th>'
    head += '<th scope="col">Copy read</th>' + ('<th scope="col">Verify</th>' if verified else "")
    rows = []
    for s in stages:
        if s.commit is None:
            commit, changed = '<span class="bad">no branch</span>', ""
        else:
            commit = f"<code>{_t(s.commit[:SHORT_SHA])}</code>"
            changed = f"{_when(s.commit_time)}" + (
                f'<span class="since">{_age(built - s.commit_time)} ago</span>' if s.commit_time else ""
            )
        read = _t(s.read_from or "")
        if s.flag:
            read += f'<br><span class="flag warn">{_t(s.flag)}</span>'
        cells = f'<th scope="row">{_t(s.name)}</th><td>{commit}</td><td>{changed}</td><td>{read}</td>'
        if verified:
            cells += f"<td>{_verify_cell(s)}</td>"
        rows.append(f'<tr data-stage="{_t(s.name)}">{cells}</tr>\n')
    return (
        '<div class="scroll" tabindex="0" role="region" aria-label="Stages">\n'
        f'<table id="stages">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{"".join(rows)}</tbody>\n</table>\n</div>\n'
    )


def _verify_cell(stage: _Stage) -> str:
    if stage.verify_error is not None:
        return f'<span class="bad">failed</span>: {_t(stage.verify_error)}'
    report = stage.verify
    if report is None:
        return '<span class="muted">not checked</span>'
    problems = [p for c in report.checks for p in c.problems if p.severity == "error"]
    if report.ok:
        return f'<span class="ok">ok</span> ({len(report.checks)} link{"s" if len(report.checks) != 1 else ""})'
    items = "".join(f"<li>{_t(_problem_text(p))}</li>" for p in problems[:20])
    more = f"<li>and {len(problems) - 20} more</li>" if len(problems) > 20 else ""
    return f'<span class="bad">{len(problems)} error{"s" if len(problems) != 1 else ""}</span><ul>{items}{more}</ul>'


def _problem_text(p: Problem) -> str:
    return str(p)


def _matrix(record: RegistryRecord, stages: Sequence[_Stage], built: int, resolve: bool) -> str:
    head = '<th scope="col">Link</th>' + "".join(
        f'<th scope="col">{_t(s.name)}'
        + (f' <span class="flag warn" title="{_t(s.flag)}">{s.condition}</span>' if s.condition else "")
        + "</th>"
        for s in stages
    )
    if resolve:
        head += '<th scope="col">Latest</th>'
    rows = []
    for link in record.links:
        name = link.history.name
        cells = [f'<th scope="row"><a href="{page_name(name)}">{_t(name)}</a></th>']
        latest = link.history.latest if resolve else None
        cells += [_cell(c, built, latest) for c in link.cells]
        if resolve:
            cells.append(f"<td>{_t(latest) if latest else '<span class=muted>no tags</span>'}</td>")
        rows.append(f'<tr data-name="{_t(name)}">{"".join(cells)}</tr>\n')
    return (
        '<div class="scroll" tabindex="0" role="region" aria-label="Links on each stage">\n'
        '<table id="matrix">\n<caption>Each link\'s version on each stage, and since when</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table>\n</div>\n"
    )


def _cell(cell: StageCell, built: int, latest: str | None) -> str:
    since = ""
    if cell.since is not None:
        since = f'<span class="since">{_age(built - cell.since)}, since {_when(cell.since, day=True)}</span>'
    if cell.state == "on" and cell.link is not None:
        version = version_of(cell.link)
        behind = ""
        if _is_behind(version, latest):
            behind = f'<span class="flag warn">behind {_t(latest)}</span>'
        return (
            f'<td data-stage="{_t(cell.stage)}" data-state="on" data-version="{_t(version)}">'
            f'<code class="version">{_t(version)}</code>{behind}{since}</td>'
        )
    if cell.state == "never":
        return f'<td data-stage="{_t(cell.stage)}" data-state="never" class="state-never">never promoted</td>'
    return f'<td data-stage="{_t(cell.stage)}" data-state="{cell.state}" class="warn">{cell.state}{since}</td>'


def _is_behind(version: str, latest: str | None) -> bool:
    """Whether a version tag is older than ``latest`` (of the same prefix); a branch or a bare commit is
    neither behind nor ahead of a tag."""
    mine, theirs = version_key(version), None if latest is None else version_key(latest)
    return mine is not None and theirs is not None and mine[0] == theirs[0] and mine < theirs


def _problems(problems: Iterable[Problem], notes: Iterable[str]) -> str:
    items = [f"<li>{_t(_problem_text(p))}</li>" for p in problems] + [f"<li>{_t(n)}</li>" for n in notes]
    if not items:
        return ""
    return (
        '<section aria-labelledby="problems-h">\n<h2 id="problems-h">Problems and notes</h2>\n'
        f"<ul>{''.join(items)}</ul>\n</section>\n"
    )


_KINDS = {"promotion": "promoted", "rollback": "rolled back", "retirement": "retired", "direct change": "changed"}


def _link_page(link: RecordedLink, record: RegistryRecord, title: str, built: int, footer: str, resolve: bool) -> str:
    history = link.history
    out: list[str] = []
    out.append('<section aria-labelledby="on-h">\n<h2 id="on-h">On each stage</h2>\n')
    out.append('<div class="scroll" tabindex="0" role="region" aria-label="On each stage">\n<table id="on-stages">\n')
    out.append(
        '<thead><tr><th scope="col">Stage</th><th scope="col">Version</th><th scope="col">Project</th>'
        '<th scope="col">Path</th><th scope="col">Rev</th><th scope="col">Since</th></tr></thead>\n<tbody>\n'
    )
    for cell in link.cells:
        since = f"{_when(cell.since)}" if cell.since else ""
        if cell.link is None:
            what = "never promoted" if cell.state == "never" else cell.state
            out.append(
                f'<tr data-stage="{_t(cell.stage)}" data-state="{cell.state}"><th scope="row">{_t(cell.stage)}</th>'
                f'<td colspan="4" class="muted">{what}</td><td>{since}</td></tr>\n'
            )
            continue
        item = cell.link
        rev = item.rev or ""
        pinned = f' <span class="muted">(pinned from {_t(item.pinned_from)})</span>' if item.pinned_from else ""
        out.append(
            f'<tr data-stage="{_t(cell.stage)}" data-state="on"><th scope="row">{_t(cell.stage)}</th>'
            f'<td><code class="version">{_t(version_of(item))}</code></td><td>{_project(item)}</td>'
            f"<td><code>{_t(item.path)}</code></td><td><code>{_t(rev)}</code>{pinned}</td><td>{since}</td></tr>\n"
        )
    out.append("</tbody>\n</table>\n</div>\n")
    if resolve and history.latest:
        on = ", ".join(_t(s) for s in history.latest_on) or "no stage yet"
        out.append(f"<p>Latest version in the project: <code>{_t(history.latest)}</code> (on {on}).</p>\n")
    out.append("</section>\n")
    out.append('<section aria-labelledby="history-h">\n<h2 id="history-h">History</h2>\n')
    if history.history:
        out.append(_history_table(history.history, record))
    else:
        out.append("<p>No commit on a stage branch changed this link.</p>\n")
    out.append("</section>\n")
    out.append(_problems(history.problems, ()))
    return _document(title, "".join(out), built, footer, depth=1)


def _history_table(entries: Sequence[HistoryEntry], record: RegistryRecord) -> str:
    signed = any(e.signature is not None for e in entries)
    head = (
        '<th scope="col">When</th><th scope="col">Stage</th><th scope="col">What</th><th scope="col">Version</th>'
        '<th scope="col">From</th><th scope="col">Who</th><th scope="col">Commit</th>'
        + ('<th scope="col">Signature</th>' if signed else "")
        + '<th scope="col">Message</th>'
    )
    rows = []
    for e in entries:
        before, after = e.version_before or "-", e.version_after or "-"
        version = _t(after) if e.version_before is None else f"{_t(before)} &rarr; {_t(after)}"
        source = ""
        if e.source:
            source = _t(e.source) + (f" <code>{_t(e.source_commit[:COMPACT_SHA])}</code>" if e.source_commit else "")
        elif e.rollback_to:
            source = f"back to <code>{_t(e.rollback_to[:COMPACT_SHA])}</code>"
        what = _KINDS.get(e.kind, e.kind)
        if e.note:
            what += f'<br><span class="warn">{_t(e.note)}</span>'
        who = f'{_t(e.author)} <span class="muted">&lt;{_t(e.email)}&gt;</span>'
        message = record_message(record, e.commit)
        cells = (
            f"<td>{_when(e.time)}</td><td>{_t(e.stage)}</td><td>{what}</td><td><code>{version}</code></td>"
            f"<td>{source}</td><td>{who}</td><td><code>{_t(e.commit[:SHORT_SHA])}</code></td>"
            + (f"<td>{_t(e.signature or '')}</td>" if signed else "")
            + f'<td><pre class="msg">{_m(message)}</pre></td>'
        )
        rows.append(f'<tr data-commit="{_t(e.commit)}" data-kind="{_t(e.kind)}">{cells}</tr>\n')
    return (
        '<div class="scroll" tabindex="0" role="region" aria-label="History">\n<table id="history">\n'
        "<caption>Every commit that changed this link on a stage branch, newest first</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table>\n</div>\n"
    )


def record_message(record: RegistryRecord, commit: str) -> str:
    """A commit's message as the record holds it (trailers left out: the table says what they say)."""
    message = record.messages.get(commit, "")
    body = message.rstrip("\n").split("\n")
    while body and re.match(r"^Mr-[A-Za-z-]+: ", body[-1]):
        body.pop()
    return "\n".join(body).rstrip()
