"""Turn results into output: rich on a terminal, plain text when piped, or JSON.

The only module that imports rich, and only when stdout is a terminal (or
FORCE_COLOR asks for it): piped output never pays for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mr.errors import file_line
from mr.model import (
    COMPACT_SHA,
    ERROR,
    OK,
    PIN,
    SHORT_SHA,
    SKIPPED,
    THIS_REGISTRY,
    WARNING,
    Link,
    Problem,
    version_of,
)
from mr.terminal import field, lines
from mr.urls import redact

if TYPE_CHECKING:
    from mr.results import (
        CheckResult,
        GetResult,
        HistoryEntry,
        InitResult,
        LinkAt,
        LinkChange,
        LinkEntry,
        LinkHistory,
        Matrix,
        OutdatedReport,
        P,
        Promotion,
        Retirement,
        RetireResult,
        Rollback,
        RollbackResult,
        ShowResult,
        SiteResult,
        StageDiff,
        StageResult,
        StageSync,
        SyncReport,
        VerifyReport,
    )

#: Version of the JSON documents ``mr show --json`` prints.
JSON_VERSION = 1


def rich_wanted() -> bool:
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def echo(text: str = "") -> None:
    """Print a line (or lines): control characters escaped, URLs redacted, whatever the text holds."""
    sys.stdout.write(lines(text) + "\n")


def warn(text: str) -> None:
    sys.stderr.write(lines(text) + "\n")


def _redacted(data: Any) -> Any:
    # strings in a dict or list are redacted in place of a call each: 100,000 links hold a million
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: redact(v) if type(v) is str else _redacted(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact(v) if type(v) is str else _redacted(v) for v in data]
    return data


def notes(items: tuple[str, ...]) -> None:
    """Warnings about the stages read (a local stage behind its remote), on stderr."""
    from mr.terminal import field as safe_text

    for note in items:
        warn(f"mr: warning: {safe_text(note)}")


def notes_and_problems(items: tuple[str, ...], problems: tuple[Problem, ...]) -> None:
    """What every view says on stderr first: the notes about the stages read, then a line per problem."""
    notes(items)
    for problem in problems:
        warn(problem_line(problem))


def print_json(data: Any) -> None:
    """JSON on stdout: every string redacted; control characters escaped as JSON escapes them."""
    # Indented for a person at a terminal; one line when piped, where json's
    # C encoder writes 100,000 links several times faster than indenting does.
    indent = 2 if sys.stdout.isatty() else None
    text = json.dumps(data, indent=indent, ensure_ascii=True)
    if "@" in text or "=" in text:
        # a secret needs one of them (user information, a token parameter), and json
        # writes both as they are: without them no string has anything to redact
        text = json.dumps(_redacted(data), indent=indent, ensure_ascii=True)
    sys.stdout.write(text + "\n")


def problem_line(problem: Problem) -> str:
    """``FILE:LINE: severity: message``, each part a single safe line."""
    return f"{file_line(field(problem.file), problem.line)}: {problem.severity}: {field(problem.message)}"


def link_json(link: Link, version: str | None = None) -> dict[str, Any]:
    """A link as JSON; ``version`` as the view worked it out, else by the link alone (``version_of``)."""
    return {
        "name": link.name,
        "file": link.file,
        "link_type": link.link_type,
        "project": redact(link.project) if link.project else None,
        "path": link.path,
        "rev": link.rev,
        "pinned_from": link.pinned_from,
        "params": dict(link.params),
        "version": version or version_of(link),
    }


def rev_text(link: Link) -> str:
    if link.rev is None:
        return "(default)" if link.project is not None else "(registry)"
    if link.is_pinned:
        return f"{link.pinned_from}@{link.rev[:SHORT_SHA]}"
    return link.rev


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None, markup: bool = False
) -> None:
    """A table: rich on a terminal, aligned plain columns when piped.

    With ``markup`` the cells are rich markup (already escaped); otherwise text.
    """
    if rich_wanted():
        from rich.table import Table
        from rich.text import Text

        t = Table(title=Text(field(title)) if title else None, title_justify="left", header_style="bold")
        for h in headers:
            t.add_column(h, overflow="fold")
        for row in rows:
            # markup cells were escaped (controls and rich markup) by the caller
            t.add_row(*(c if markup else Text(field(c)) for c in row))
        _console().print(t)
        return
    rows = [[field(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    for row in lines:
        echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())


# --- per command ----------------------------------------------------------------


def init_result(result: InitResult, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "path": result.path,
                "stages": list(result.stages),
                "created": list(result.created),
                "commit": result.commit,
                "branches_created": list(result.branches),
                "branch": result.branch,
                "pushed_to": result.pushed_to,
                "share": result.share,
            }
        )
        return
    if not (result.created or result.commit or result.branches):
        echo(f"{result.path} is already a registry (stages: {', '.join(result.stages)}); nothing to do")
        if result.pushed_to:
            echo(f"  pushed    {', '.join(_pushed(result))} to {field(result.pushed_to)}")
        return
    echo(f"Registry ready in {result.path}")
    if result.created:
        echo(f"  created   {', '.join(result.created)}")
    if result.commit:
        echo(f"  committed {result.commit[:SHORT_SHA]}")
    echo(f"  stages    {' -> '.join(result.stages)}")
    if result.branches:
        echo(f"  branches  {', '.join(result.branches)} created")
    if result.pushed_to:
        echo(f"  pushed    {', '.join(_pushed(result))} to {field(result.pushed_to)}")
    elif result.share:
        echo(f"  share it  {field(result.share)}")


def _pushed(result: InitResult) -> list[str]:
    """The branches ``mr init --push`` pushed: the registry's own, then each stage's."""
    return [b for b in dict.fromkeys([result.branch or "", *result.stages]) if b]


def link_result(link: Link, as_json: bool) -> None:
    if as_json:
        print_json({"version": JSON_VERSION, "link": link_json(link)})
        return
    where = redact(link.project) if link.project else THIS_REGISTRY
    echo(
        f"Saved {field(link.file)}: {field(link.link_type)} {field(link.path)} in {field(where)} at {field(rev_text(link))}"
    )


def entry_json(entry: LinkEntry) -> dict[str, Any]:
    link = entry.link
    # link_json's fields and two more, built at once: 100,000 of them are printed at a time
    return {
        "name": link.name,
        "file": link.file,
        "link_type": link.link_type,
        "project": redact(link.project) if link.project else None,
        "path": link.path,
        "rev": link.rev,
        "pinned_from": link.pinned_from,
        "params": dict(link.params),
        "version": entry.version or version_of(link),
        "rev_kind": entry.kind,
        "sha": entry.sha,
    }


def show_result(result: ShowResult, as_json: bool) -> None:
    notes_and_problems(result.notes, result.problems)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(result.read_from),
                "registry": result.registry,
                "stage": result.stage,
                "links": [entry_json(e) for e in result.entries],
                "problems": [problem_json(p) for p in result.problems],
                **(
                    {"at": result.at, "commit": result.commit, "commit_time": result.commit_time}
                    if result.at is not None
                    else {}
                ),
            }
        )
        return
    if result.at is not None and result.commit is not None:
        echo(_as_it_was(result.stage or "", result.at, result.commit, result.commit_time))
    if not result.entries:
        where = f"stage {result.stage}" if result.stage else "the work tree"
        warn(f"no links in {field(where)} of {field(result.registry)}")
        return
    resolved = any(e.sha for e in result.entries)
    headers = ["name", "type", "project", "path", "rev", "kind"] + (["commit"] if resolved else []) + ["version"]
    rows = []
    for e in result.entries:
        link = e.link
        row = [
            e.name,
            link.link_type,
            redact(link.project) if link.project else f"({THIS_REGISTRY})",
            link.path,
            rev_text(link) if e.kind != PIN else f"{link.pinned_from} (pinned)",
            e.kind,
        ]
        if resolved:
            row.append(e.sha[:SHORT_SHA] if e.sha else "")
        row.append(e.version)
        rows.append(row)
    title = f"stage {result.stage}" if result.stage and rich_wanted() else None
    table(headers, rows, title=title)


def _as_it_was(stage: str, at: int, commit: str, commit_time: int | None) -> str:
    from mr.when import text

    since = f" of {text(commit_time)}" if commit_time is not None else ""
    return f"{field(stage)} as it was at {text(at)}: commit {commit[:SHORT_SHA]}{since}"


def link_at(result: LinkAt, as_json: bool) -> None:
    """``mr show NAME --at``: the link on each stage then, and the commit each stage was at."""
    from mr.when import text

    notes_and_problems(result.notes, result.problems)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(result.read_from),
                "name": result.name,
                "at": result.at,
                "stages": {
                    s.stage: {
                        "commit": s.commit,
                        "commit_time": s.commit_time,
                        "link": link_json(s.link) if s.link else None,
                    }
                    if s.commit is not None
                    else None
                    for s in result.stages
                },
            }
        )
        return
    echo(f"{field(result.name)} as it was at {text(result.at)}:")
    rows = []
    for s in result.stages:
        if s.commit is None:
            rows.append([s.stage, "(no stage yet)", "", "", ""])
        elif s.link is None:
            rows.append([s.stage, "-", "", "", s.commit[:SHORT_SHA]])
        else:
            where = redact(s.link.project) if s.link.project else f"({THIS_REGISTRY})"
            rows.append([s.stage, cell(s.link), where, s.link.path, s.commit[:SHORT_SHA]])
    table(["stage", "rev", "project", "path", "stage commit"], rows)


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "severity": problem.severity,
        "message": problem.message,
    }


#: how long work runs before its progress bar appears (seconds); ``MR_PROGRESS_AFTER`` sets it (tests)
PROGRESS_AFTER = 1.0


@contextlib.contextmanager
def progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on stderr while work runs, when stderr is a terminal; it appears only once the
    work has run about a second (nothing flashes by on quick runs). Phases: ``projects`` and ``links``
    count, ``bytes`` (copied) and ``artifacts`` (read back to be hashed) count bytes (done, total, rate)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    import time

    try:
        after = float(os.environ.get("MR_PROGRESS_AFTER", PROGRESS_AFTER))
    except ValueError:
        after = PROGRESS_AFTER
    start = time.monotonic()
    labels = {
        "projects": "fetching projects",
        "links": "checking links",
        "bytes": "copying and checking",
        "artifacts": "reading artifacts back",
    }
    tasks: dict[str, Any] = {}
    bars: dict[str, Any] = {}

    def bar_for(phase: str) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        kind = "bytes" if phase in ("bytes", "artifacts") else "count"
        if kind not in bars:
            counts = [DownloadColumn(), TransferSpeedColumn()] if kind == "bytes" else [MofNCompleteColumn()]
            bars[kind] = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                *counts,
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=kind != "bytes",  # what was copied stays on the screen
            )
            bars[kind].start()
        return bars[kind]

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            if time.monotonic() - start < after:
                return  # not yet: a quick run shows no bar
            tasks[phase] = bar_for(phase).add_task(labels.get(phase, phase), total=total or None)
        bar_for(phase).update(tasks[phase], completed=done)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.stop()


def verify_report(report: VerifyReport, as_json: bool, quiet: bool = False, verbose: bool = False) -> None:
    notes(report.notes)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(report.read_from),
                "registry": report.registry,
                "stage": report.stage,
                "ok": report.ok,
                "errors": report.errors,
                "warnings": report.warnings,
                "unchecked_projects": list(report.unchecked),
                "policy": (
                    {"stage": report.policy_stage, "from": report.policy_from}
                    if report.policy_stage is not None
                    else None
                ),
                "links": [
                    {
                        "file": c.file,
                        "name": c.name,
                        "status": c.status,
                        "sha": c.sha,
                        "problems": [problem_json(p) for p in c.problems],
                    }
                    for c in report.checks
                ],
            }
        )
        return
    for check in report.checks:
        if verbose:
            sha = f" {check.sha[:SHORT_SHA]}" if check.sha else ""
            echo(f"{field(check.file)}: {check.status}{sha}")
        for p in check.problems:
            if not quiet or p.severity == ERROR:
                echo(problem_line(p))
    if quiet:
        return
    counts = {s: sum(1 for c in report.checks if c.status == s) for s in (OK, WARNING, ERROR, SKIPPED)}
    checked = counts[OK] + counts[WARNING] + counts[ERROR]
    parts = [f"{checked} link{'s' if checked != 1 else ''} checked", f"{counts[ERROR]} failed"]
    if counts[WARNING]:
        parts.append(f"{counts[WARNING]} with warnings")
    if counts[SKIPPED]:
        parts.append(f"{counts[SKIPPED]} MLEM object{'s' if counts[SKIPPED] != 1 else ''} skipped")
    echo(("ok: " if report.ok else "failed: ") + ", ".join(parts))
    if report.unchecked:
        echo("not checked: " + ", ".join(field(u) for u in report.unchecked))
    if report.policy_stage is not None:
        echo(f"policy: {field(report.policy_stage)} ({field(report.policy_from or '')})")
    else:
        echo("policy: none")
        if os.environ.get("CI"):
            warn(
                "no stage's policy applied in CI: name it with --policy-stage, or run on a stage's branch "
                "or for a merge request into one"
            )


def print_diff(text: str) -> None:
    """A unified diff, coloured on a terminal."""
    if not rich_wanted():
        sys.stdout.write(lines(text))
        return
    from rich.text import Text

    console = _console()
    for line in text.splitlines():
        style = (
            "bold"
            if line.startswith(("---", "+++"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else None
        )
        console.print(Text(lines(line), style=style or ""))


def promotion_plan(plan: Promotion) -> None:
    notes(plan.notes)
    if not plan.changes:
        echo(
            f"Nothing to promote: {', '.join(field(p.name) for p in plan.links)} on {field(plan.to)} "
            f"{'is' if len(plan.links) == 1 else 'are'} already as on {field(plan.source)}"
        )
        return
    echo(
        f"Promote {', '.join(field(p.name) for p in plan.changes)} from {plan.source} ({plan.source_sha[:SHORT_SHA]}) to {plan.to}:"
    )
    for p in plan.changes:
        print_diff(p.diff(plan.to))


def promotion_result(result: StageResult[Promotion]) -> None:
    plan = result.plan
    _landed(result, f"Promoted {', '.join(field(p.name) for p in plan.changes)}")


def _landed(result: StageResult[P], done: str) -> None:
    """Where the commit of a promotion, rollback or retirement went: the stage, or a review branch."""
    plan = result.plan
    if result.commit is None:
        if result.pushed_to:
            echo(f"  pushed {plan.stage} to {result.pushed_to}")
        return
    if result.branch:
        echo(
            f"{done} onto branch {result.branch} (from {plan.stage} at {plan.base[:SHORT_SHA]}): commit {result.commit[:SHORT_SHA]}"
        )
        echo(f"  {plan.stage} is unchanged; merge {result.branch} into it through review")
        if result.pushed_to:
            echo(f"  pushed {result.branch} to {result.pushed_to}")
        if result.review_url:
            echo(f"  open a merge request: {result.review_url}")
        return
    where = "on" if plan.verb == "rollback" else "from" if plan.verb == "retire" else "to"
    echo(f"{done} {where} {plan.stage}: commit {result.commit[:SHORT_SHA]}")
    if result.worktree_updated:
        echo(f"  {plan.stage} is checked out: work tree and index updated")
    if result.pushed_to:
        echo(f"  pushed {plan.stage} to {result.pushed_to}")


def _result_json(result: StageResult[P] | None, dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run,
        "commit": result.commit if result else None,
        "pushed_to": result.pushed_to if result else None,
        "branch": result.branch if result else None,
        "review_url": result.review_url if result else None,
    }


def rollback_plan(plan: Rollback) -> None:
    notes(plan.notes)
    if not plan.changes:
        names = ", ".join(field(p.name) for p in plan.links)
        echo(f"Nothing to roll back: {names} already as it was then, on {plan.stage}")
        return
    echo(f"Roll back {', '.join(field(p.name) for p in plan.changes)} on {plan.stage}:")
    for p in plan.changes:
        undone = f"undoes {len(p.undone)} change{'s' if len(p.undone) != 1 else ''}: " + ", ".join(
            u[:SHORT_SHA] for u in p.undone
        )
        at = f"{plan.stage} at {p.to_commit[:SHORT_SHA]}" if p.to_commit else f"the start of {plan.stage}"
        if p.removed or p.link is None:
            echo(f"  {field(p.name)}: removed, as {at} did not have it ({undone})")
        else:
            echo(f"  {field(p.name)}: back to {field(version_of(p.link))}, as {at} ({undone})")
    for p in plan.changes:
        print_diff(p.diff(plan.stage))


def rollback_result(result: RollbackResult) -> None:
    plan = result.plan
    _landed(result, f"Rolled back {', '.join(field(p.name) for p in plan.changes)}")
    removed = [field(p.name) for p in plan.changes if p.removed]
    if result.commit and removed:
        echo(f"  removed {', '.join(removed)}: {plan.stage} did not have {'it' if len(removed) == 1 else 'them'} then")


def rollback_json(plan: Rollback, result: RollbackResult | None, dry_run: bool = False) -> None:
    notes(plan.notes)
    print_json(
        {
            "version": JSON_VERSION,
            "read_from": dict(plan.read_from),
            "stage": plan.stage,
            "base": plan.base,
            **_result_json(result, dry_run),
            "links": [
                {
                    "name": p.name,
                    "changed": p.changed,
                    "removed": p.removed,
                    "to_commit": p.to_commit,
                    "undone": list(p.undone),
                    "rev": p.link.rev if p.link else None,
                    "pinned_from": p.link.pinned_from if p.link else None,
                    "sha": p.sha,
                    "diff": p.diff(plan.stage),
                }
                for p in plan.links
            ],
        }
    )


def retirement_plan(plan: Retirement) -> None:
    notes(plan.notes)
    echo(f"Retire {', '.join(field(p.name) for p in plan.changes)} from {plan.stage} (other stages keep theirs):")
    for p in plan.changes:
        print_diff(p.diff(plan.stage))


def retirement_result(result: RetireResult) -> None:
    _landed(result, f"Retired {', '.join(field(p.name) for p in result.plan.changes)}")


def retirement_json(plan: Retirement, result: RetireResult | None, dry_run: bool = False) -> None:
    notes(plan.notes)
    print_json(
        {
            "version": JSON_VERSION,
            "read_from": dict(plan.read_from),
            "stage": plan.stage,
            "base": plan.base,
            **_result_json(result, dry_run),
            "links": [
                {
                    "name": p.name,
                    "rev": p.link.rev if p.link else None,
                    "pinned_from": p.link.pinned_from if p.link else None,
                    "diff": p.diff(plan.stage),
                }
                for p in plan.links
            ],
        }
    )


def promotion_json(plan: Promotion, result: StageResult[Promotion] | None, dry_run: bool = False) -> None:
    notes(plan.notes)
    print_json(
        {
            "version": JSON_VERSION,
            "read_from": dict(plan.read_from),
            "to": plan.to,
            "from": plan.source,
            "from_commit": plan.source_sha,
            "dry_run": dry_run,
            "commit": result.commit if result else None,
            "pushed_to": result.pushed_to if result else None,
            "branch": result.branch if result else None,
            "review_url": result.review_url if result else None,
            "links": [
                {
                    "name": p.name,
                    "changed": p.changed,
                    "rev": p.link.rev,
                    "pinned_from": p.link.pinned_from,
                    "sha": p.sha,
                    "diff": p.diff(plan.to),
                }
                for p in plan.links
            ],
        }
    )


def cell(link: Link | None) -> str:
    if link is None:
        return "-"
    if link.is_pinned:
        return f"{link.pinned_from}@{(link.rev or '')[:COMPACT_SHA]}"
    return rev_text(link)


def matrix(m: Matrix, as_json: bool) -> None:
    notes_and_problems(m.notes, m.problems)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(m.read_from),
                "stages": list(m.stages),
                "links": [
                    {
                        "name": name,
                        "stages": {s: (link_json(x) if x else None) for s, x in zip(m.stages, row, strict=False)},
                        "retired_from": [s for s in m.stages if name in m.retired.get(s, ())],
                    }
                    for name, row in m.rows.items()
                ],
            }
        )
        return
    if not m.rows:
        warn("no links on any stage")
        return
    fancy = rich_wanted()
    rows = []
    differs = False
    for name, row in m.rows.items():
        cells = [_escape(field(name)) if fancy else field(name)]
        for i, link in enumerate(row):
            text = (
                version_of(link) if link is not None else "retired" if name in m.retired.get(m.stages[i], ()) else "-"
            )
            if i and link != row[i - 1]:
                differs = True
                text = f"[yellow bold]{_escape(field(text))}[/]" if fancy else f"{field(text)} *"
            elif fancy:
                text = _escape(field(text))
            else:
                text = field(text)
            cells.append(text)
        rows.append(cells)
    table(["name", *m.stages], rows, markup=True)
    if differs and not fancy:
        echo("* differs from the stage before; retired: taken off by mr retire; -: never there")


def _escape(text: str) -> str:
    from rich.markup import escape

    return str(escape(text))


def stage_diff(d: StageDiff, as_json: bool, patch: bool = False) -> None:
    """What differs between two stages: per link, its version before and after and what else
    changed (``patch``: field by field, as a diff of the files would show)."""
    notes_and_problems(d.notes, d.problems)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(d.read_from),
                "from": d.source,
                "to": d.target,
                "from_commit": d.source_commit,
                "to_commit": d.target_commit,
                "changes": [
                    {
                        "name": c.name,
                        "change": c.kind,
                        "from": _diff_side(c.old),
                        "to": _diff_side(c.new),
                        "fields": {f: {"from": a, "to": b} for f, (a, b) in c.changed_fields().items()},
                    }
                    for c in d.changes
                ],
            }
        )
        return
    if not d.changes:
        echo(f"{field(d.source)} and {field(d.target)} hold the same links")
        return
    if not patch:
        echo(f"from {field(d.source)} to {field(d.target)}:")
        for c in d.changes:
            echo(f"  {_version_change(c)}")
        return
    out = [f"--- {d.source}", f"+++ {d.target}"]
    for c in d.changes:
        if c.kind == "added" and c.new is not None:
            out.append(f"+ {field(c.name)}: {field(_summary(c.new))}")
        elif c.kind == "removed" and c.old is not None:
            out.append(f"- {field(c.name)}: {field(_summary(c.old))}")
        else:
            out.append(f"@@ {field(c.name)}")
            for f, (a, b) in c.changed_fields().items():
                out.append(f"-   {f}: {field(a) if a is not None else '(none)'}")
                out.append(f"+   {f}: {field(b) if b is not None else '(none)'}")
    print_diff("\n".join(out) + "\n")


def _version_change(c: LinkChange) -> str:
    """``churn: v1.2.0 -> v1.1.0``, and what else changed (project, path, type, params)."""
    before = version_of(c.old) if c.old is not None else "(absent)"
    after = version_of(c.new) if c.new is not None else "(absent)"
    line = f"{field(c.name)}: {field(before)} -> {field(after)}"
    if c.old is None or c.new is None:
        return f"{line} ({field(_summary(c.new or c.old))})"  # type: ignore[arg-type]
    others = [
        f"{name} {field(a) if a is not None else '(none)'} -> {field(b) if b is not None else '(none)'}"
        for name, (a, b) in c.changed_fields().items()
        if name not in ("rev", "pinned_from")
    ]
    return f"{line} ({'; '.join(others)})" if others else line


def _diff_side(link: Link | None) -> dict[str, Any] | None:
    """A link on one side of a diff, with the commit its rev names where the file says (a pin)."""
    if link is None:
        return None
    from mr.model import is_full_sha

    return {**link_json(link), "commit": link.rev if link.rev and is_full_sha(link.rev) else None}


def _summary(link: Link) -> str:
    where = redact(link.project) if link.project else THIS_REGISTRY
    return f"{link.link_type} {link.path} in {where} at {rev_text(link) if not link.is_pinned else cell(link)}"


def history(h: LinkHistory, as_json: bool) -> None:
    import datetime as dt

    notes_and_problems(h.notes, h.problems)

    shown: dict[tuple[int, int], str] = {}

    def when(e: HistoryEntry) -> str:
        # to the minute: the commits of one minute (and offset) read alike, so each minute is formatted once
        key = (e.time // 60, e.offset)
        text = shown.get(key)
        if text is None:
            tz = dt.timezone(dt.timedelta(minutes=e.offset))
            text = shown[key] = dt.datetime.fromtimestamp(e.time, tz).strftime("%Y-%m-%d %H:%M %z")
        return text

    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(h.read_from),
                "name": h.name,
                "stages": {s: (link_json(x) if x else None) for s, x in h.stages},
                **({"latest": {"version": h.latest, "on": list(h.latest_on)}} if h.latest else {}),
                "history": [
                    {
                        "stage": e.stage,
                        "commit": e.commit,
                        "kind": e.kind,
                        "author": e.author,
                        "email": e.email,
                        "time": e.time,
                        "rev_before": e.rev_before,
                        "rev_after": e.rev_after,
                        "version_before": e.version_before,
                        "version_after": e.version_after,
                        "from": e.source,
                        "from_commit": e.source_commit,
                        "rev": e.rev,
                        "sha": e.sha,
                        "rollback_to": e.rollback_to,
                        "note": e.note,
                        "signature": e.signature,
                    }
                    for e in h.history
                ],
            }
        )
        return
    rows = []
    for stage, link in h.stages:
        if link is None:
            rows.append([stage, "-", "", "", ""])
        else:
            rows.append(
                [
                    stage,
                    cell(link),
                    redact(link.project) if link.project else f"({THIS_REGISTRY})",
                    link.path,
                    link.link_type,
                ]
            )
    table(["stage", "rev", "project", "path", "type"], rows, title=h.name if rich_wanted() else None)
    if h.latest:
        where = f"on {', '.join(h.latest_on)}" if h.latest_on else "tag in the project, not yet on any stage"
        echo(f"latest: {field(h.latest)} ({field(where)})")
    echo("")
    if not h.history:
        echo("no changes recorded on any stage")
        return
    out = ["history, newest first:"]
    for e in h.history:
        before = e.version_before or _history_rev(e.rev_before)
        after = e.version_after or _history_rev(e.rev_after)
        detail = ""
        if e.kind == "promotion" and e.source:
            detail = f"  from {e.source}@{(e.source_commit or '')[:COMPACT_SHA]}"
        elif e.kind == "rollback" and e.rollback_to:
            detail = f"  to {e.rollback_to[:COMPACT_SHA]}"
        if e.note:
            detail += f"  ({e.note})"
        if e.signature:
            detail += f"  [{e.signature}]"
        # the line escaped as one field: every control character a value holds
        # (a line break in a name included) is shown, not obeyed
        out.append(
            field(
                f"  {when(e)}  {e.stage:<12} {e.kind:<14} {before} -> {after}{detail}"
                f"  by {e.author}  commit {e.commit[:COMPACT_SHA]}"
            )
        )
    echo("\n".join(out))  # one write: a history of 20,000 changes is as many lines


def _history_rev(rev: str | None) -> str:
    if rev is None:
        return "(absent)"
    name, at, sha = rev.rpartition("@")
    return f"{name}@{sha[:COMPACT_SHA]}" if at and len(sha) == 40 else rev


def outdated(report: OutdatedReport, as_json: bool) -> None:
    notes_and_problems(report.notes, report.problems)
    if report.unchecked:
        warn("not checked (unreachable or not cached): " + ", ".join(field(u) for u in report.unchecked))
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(report.read_from),
                "stage": report.stage,
                "checked": report.checked,
                "outdated": [
                    {
                        "name": e.name,
                        "kind": e.kind,
                        "rev": e.link.rev,
                        "version": version_of(e.link),
                        "pinned_from": e.link.pinned_from,
                        "current": e.current,
                        "latest": e.latest,
                        "detail": e.detail,
                    }
                    for e in report.entries
                ],
                "unchecked_projects": [redact(u) for u in report.unchecked],
            }
        )
        return
    if not report.entries:
        if report.checked == 1:
            echo("the 1 link checked is up to date")
        elif report.checked:
            echo(f"all {report.checked} links checked are up to date")
        elif report.unchecked or report.problems:
            echo("no link could be checked")
        else:
            echo("no links to check")
        return
    rows = [[e.name, e.kind, version_of(e.link), _short(e.current), _short(e.latest), e.detail] for e in report.entries]
    table(["name", "kind", "version", "at", "now", "what moved"], rows)


def _short(value: str) -> str:
    from mr.model import is_full_sha

    return value[:SHORT_SHA] if is_full_sha(value) else value


def get_result(result: GetResult, as_json: bool, quiet: bool = False) -> None:
    """``mr get``: the receipt as JSON, or a line per file; artifacts outside git on stderr."""
    from mr.terminal import field as safe_text

    notes(result.notes)
    for e in result.external:
        warn(f"mr: note: artifact {safe_text(e.artifact)} is not in git, not copied: {e.hint}")
    if as_json:
        print_json(result.receipt())
        return
    if quiet:
        return
    where = f"{result.project}" if result.project else THIS_REGISTRY
    version = f" {safe_text(result.version)}" if result.version else ""
    echo(
        f"Wrote {safe_text(result.name)}{version} ({safe_text(result.path)} in {safe_text(where)} "
        f"at {result.commit[:SHORT_SHA]}) to {safe_text(result.folder)}"
    )
    for f in result.files:
        echo(f"  {safe_text(f.path)}  {f.size} bytes  md5 {f.md5}")


def check_result(result: CheckResult, as_json: bool, quiet: bool = False) -> None:
    """``mr get --check``: one line per changed, missing or extra file, then a summary."""
    from mr.terminal import field as safe_text

    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "folder": result.folder,
                "ok": result.ok,
                "commit": result.commit,
                "checked": result.checked,
                "changed": list(result.changed),
                "missing": list(result.missing),
                "extra": list(result.extra),
            }
        )
        return
    for kind, paths in (("changed", result.changed), ("missing", result.missing), ("extra", result.extra)):
        for p in paths:
            echo(f"{safe_text(p)}: {kind}")
    if quiet:
        return
    if result.ok:
        echo(f"ok: {result.checked} file{'s' if result.checked != 1 else ''} as the receipt records")
    else:
        bad = len(result.changed) + len(result.missing) + len(result.extra)
        differ = "files differ" if bad != 1 else "file differs"
        echo(f"failed: {bad} {differ} from the receipt of {safe_text(result.folder)}")


def sync_report(report: SyncReport, as_json: bool, quiet: bool = False) -> None:
    """Each stage after ``mr sync``: a line each, or JSON."""
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "registry": report.registry,
                "remote": report.remote,
                "url": report.url,
                "ok": report.ok,
                "stages": [
                    {
                        "stage": s.stage,
                        "state": s.state,
                        "before": s.before,
                        "after": s.after,
                        "remote_tip": s.remote_tip,
                        "behind": s.behind,
                        "ahead": s.ahead,
                        "why": s.why,
                    }
                    for s in report.stages
                ],
            }
        )
        return
    if quiet:
        for s in report.stages:
            if s.state == "diverged":
                warn(f"mr: error: {_sync_line(report.remote, s)}")
        return
    echo(f"Synced stages with {field(report.remote)} ({field(report.url)}):")
    width = max(len(s.stage) for s in report.stages)
    for s in report.stages:
        echo(f"  {s.stage:<{width}}  {_sync_line(report.remote, s)}")


def _sync_line(remote: str, s: StageSync) -> str:
    """One stage's state after ``mr sync``, with the command that takes the next step where there is one."""
    from mr.terminal import command_line

    theirs = f"{field(remote)}/{s.stage}"
    short = SHORT_SHA
    n = "s" if s.behind != 1 else ""
    a = "s" if s.ahead != 1 else ""

    def run(*argv: str) -> str:
        line = command_line(*argv)
        return f" ({line})" if line else ""

    if s.state == "up to date":
        return f"up to date ({(s.after or '')[:short]})"
    if s.state == "fast-forwarded":
        return f"fast-forwarded {(s.before or '')[:short]}..{(s.after or '')[:short]} ({s.behind} commit{n})"
    if s.state == "created":
        return f"created at {(s.after or '')[:short]}, tracking {theirs}"
    if s.state == "behind":
        return f"{s.behind} commit{n} behind {theirs}, left as it was: {field(s.why or '')}"
    if s.state == "not pushed":
        return f"{s.ahead} commit{a} not pushed{run('git', 'push', remote, s.stage)}"
    if s.state == "diverged":
        return (
            f"diverged from {theirs} ({s.ahead} and {s.behind} different commits), left alone: "
            f"reconcile them{run('git', 'checkout', s.stage)} and{run('git', 'pull', '--rebase', remote, s.stage)}, "
            "then push"
        )
    if s.state == "not on the remote":
        return f"not on {field(remote)}{run('git', 'push', '-u', remote, s.stage)}"
    return f"no branch here nor on {field(remote)} (mr init creates the stage branches)"


def site_result(result: SiteResult, as_json: bool, quiet: bool = False) -> None:
    """``mr site``: where the pages went, or JSON; problems and notes on stderr."""
    from mr.terminal import field as safe_text

    notes_and_problems(result.notes, result.problems)
    if as_json:
        print_json(
            {
                "version": JSON_VERSION,
                "read_from": dict(result.read_from),
                "registry": result.registry,
                "folder": result.folder,
                "pages": result.pages,
                "bytes": result.bytes,
                "built": result.built,
                "stages": [{"stage": stage, "commit": commit} for stage, commit in result.stages],
                "failed_verify": list(result.failed_stages),
            }
        )
        return
    for stage in result.failed_stages:
        warn(f"mr: warning: {safe_text(stage)} fails mr verify (the page says why)")
    if quiet:
        return
    links = result.pages - 1
    echo(
        f"Wrote {safe_text(result.folder)}: index.html and {links} link page{'s' if links != 1 else ''} "
        f"({_megabytes(result.bytes)}) of {safe_text(result.registry)}"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"
