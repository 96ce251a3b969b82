"""Man pages for mr, generated from the CLI's own help text.

``mr.1`` and one page per command; ``python -m tools.generate`` writes them
into ``man/``.
"""

from __future__ import annotations

import re

import click

from mr import __version__

#: The date on the pages: the date of the release they describe.
DATE = "2026-11-23"

EXIT_STATUS = [
    ("0", "Success."),
    ("1", "A check failed, or an action was refused; the reason is on standard error."),
    ("2", "The command line is wrong."),
    ("130", "Interrupted."),
]

#: What exit status 1 means for each command: the rule its result's ``ok`` (or its error) follows.
EXIT_1 = {
    "init": "An action was refused: .mr.yaml already names other stages, a stage collides with a branch, "
    "the repository is bare or its HEAD detached.",
    "link": "The link was refused: it exists (without --force), its source cannot be read at the rev, "
    "or the path is no MLEM object.",
    "show": "A link file could not be read, or a rev could not be resolved (--resolve); with NAME, the link's "
    "history could not be read; with --all-stages, a stage's file could not be read (a stage without a "
    "branch is only a warning); with --diff, a file of either stage could not be read; with --outdated, "
    "a link could not be checked (being outdated is no failure); with --field, the value is missing.",
    "promote": "A link failed its checks, the stage kept moving, the confirmation was declined, "
    "or the push failed (nothing is left committed here unless the remote has it); nothing else was changed.",
    "rollback": "The link has no such point in its history, the stage kept moving, the confirmation was "
    "declined, or the push failed (nothing is left committed here unless the remote has it).",
    "retire": "The link is not on the stage, the stage kept moving, the confirmation was declined, "
    "or the push failed (nothing is left committed here unless the remote has it).",
    "site": "The output folder was refused (mr site did not write it, or it holds files its marker does not "
    "list), or the registry could not be read; nothing was replaced. A stage failing --verify is shown on "
    "the page and warned about, and exits 0.",
    "sync": "A stage has diverged from the remote's (it is left alone), or the remote could not be fetched.",
    "verify": "A link failed a check (an error; warnings alone exit 0), or a project could not be reached.",
    "get": "A file failed its checks and nothing was written; with --check, a file changed, is missing or is extra.",
}

ENVIRONMENT = [
    (
        "MR_CACHE_DIR",
        "Where bare caches of remote projects and registries are kept (default: $XDG_CACHE_HOME/mr, or ~/.cache/mr).",
    ),
    (
        "MR_GIT_TIMEOUT",
        "Seconds one fetch, push or listing of a remote, the read of one object from a DVC remote, or the "
        "signing of a commit, may take in all (default: 300); git and what it started are stopped after that.",
    ),
    ("MR_DEBUG", "When set, an unexpected error prints its traceback."),
    ("NO_COLOR", "When set, no colour is used, even on a terminal."),
    ("FORCE_COLOR", "When set, tables and colour are used even when output is not a terminal."),
    (
        "GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL, GIT_COMMITTER_NAME, GIT_COMMITTER_EMAIL",
        "The identity of commits mr makes; git config user.name and user.email otherwise.",
    ),
    ("HOME, XDG_CONFIG_HOME", "Where git configuration is read from, as git itself does."),
    (
        "GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "mr verify at a detached HEAD (a CI checkout): the stage whose policy applies to the work tree, "
        "unless --policy-stage names one.",
    ),
]

FILES = [
    (
        ".mr.yaml",
        "Registry settings: stages (branches, in promotion order), link_format "
        "(project or repo), policy per stage (require_pinned, require_signed, and from: the stages "
        "promotions onto it may come from, e.g. production: {from: [staging]}; mr promote refuses any "
        "other, mr verify --stage reports promotion commits that broke it since it was set, each "
        "judged by its parent's policy; default: any order), allowed_sources, hosts "
        "(self-hosted sites whose web URLs name folders: host: github, gitlab or bitbucket) and remote "
        "(the shared remote whose branches stand in for stages without a local branch).",
    ),
    (".mlem.yaml", "Marks the MLEM project root; mr init creates it empty."),
    ("NAME.mlem", "One link: link_type, object_type, path, project (or repo), rev, params."),
    ("DIR/.mr-get.json", "The receipt mr get leaves in the folder it writes; mr get --check reads it."),
    (
        "SITE/.mr-site.json",
        "The marker mr site leaves in the folder it writes: the pages it wrote. mr site replaces a folder only "
        "when its marker lists everything in it.",
    ),
]

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "": [
        (
            "Make a registry, link a model and promote it:",
            "mr init\nmr link \\-\\-sp https://github.com/org/churn models/rf churn\n"
            "git add churn.mlem && git commit \\-m 'Link churn'\nmr promote churn \\-\\-to staging",
        ),
    ],
    "init": [
        ("A registry with two stages:", "mr init registry \\-\\-stages qa,prod"),
    ],
    "link": [
        (
            "Link a model at a project's default branch:",
            "mr link \\-\\-sp https://github.com/org/churn models/rf first\\-model",
        ),
        (
            "Pin a tag (the SHA is stored, the tag kept in params.pinned_from):",
            "mr link \\-\\-sp ../churn \\-\\-rev v1.2.0 \\-\\-pin models/rf churn\\-prod",
        ),
        ("An alias to an object kept in the registry:", "mr link models/rf latest"),
    ],
    "show": [
        ("The links of the work tree, with the commit of each rev:", "mr show \\-\\-resolve"),
        ("Every link against every stage:", "mr show \\-\\-all\\-stages"),
        ("What promoting staging onto production would change:", "mr show \\-\\-diff staging production"),
        ("One link on each stage, and every change to it on each stage:", "mr show churn"),
        ("The same, with the newest version tag of its project and where it is:", "mr show churn \\-\\-resolve"),
        ("What production serves, for a deployment script:", "mr show churn \\-\\-stage production \\-\\-field sha"),
        ("What could be promoted:", "mr show \\-\\-outdated \\-\\-stage production"),
        (
            "What was in production on 1 November (as that day ended):",
            "mr show \\-\\-stage production \\-\\-at 2026\\-11\\-01",
        ),
        ("One link on every stage two weeks ago:", "mr show churn \\-\\-at 2.weeks.ago"),
    ],
    "promote": [
        ("Promote two links to staging from the stage before it:", "mr promote churn fraud \\-\\-to staging"),
        (
            "Onto a review branch where production is protected:",
            "mr promote churn \\-\\-to production \\-\\-branch \\-\\-push origin",
        ),
        (
            "Look first, then promote without a prompt and push:",
            "mr promote churn \\-\\-to production \\-\\-dry\\-run\n"
            "mr promote churn \\-\\-to production \\-\\-yes \\-\\-push origin",
        ),
        (
            "From a fresh clone, onto the stage as the shared remote has it (fetched first):",
            "mr promote churn \\-\\-to staging \\-\\-fetch",
        ),
    ],
    "rollback": [
        ("Put churn back on production as it was before its last change:", "mr rollback churn \\-\\-stage production"),
        ("Two changes back, then push:", "mr rollback churn \\-\\-stage production \\-\\-steps 2 \\-\\-push origin"),
        (
            "As production had it at a commit, through review:",
            "mr rollback churn \\-\\-stage production \\-\\-to 3f2a9c1 \\-\\-branch \\-\\-push origin",
        ),
    ],
    "retire": [
        (
            "Take a link off production (the other stages keep theirs):",
            "mr retire churn\\-legacy \\-\\-stage production",
        ),
        ("Bring it back:", "mr rollback churn\\-legacy \\-\\-stage production"),
    ],
    "site": [
        ("The registry's pages, opened in a browser from the folder:", "mr site \\-o site\nxdg\\-open site/index.html"),
        (
            "In CI on every push, with the newest tags and each stage verified:",
            "mr site \\-o public \\-\\-resolve \\-\\-verify \\-\\-title 'Churn models'",
        ),
    ],
    "sync": [
        ("Fetch every stage and fast-forward the local stage branches:", "mr sync"),
        ("From another remote, as JSON:", "mr sync \\-\\-remote upstream \\-\\-json"),
    ],
    "verify": [
        ("Every link of the work tree:", "mr verify"),
        (
            "The production branch, under its own policy, from the cache only:",
            "mr verify \\-\\-stage production \\-\\-offline",
        ),
        ("As pre-commit runs it:", "mr verify churn.mlem fraud.mlem"),
        (
            "In CI at a detached HEAD, under the policy of the stage the change merges into:",
            "mr verify \\-\\-policy\\-stage production",
        ),
    ],
    "get": [
        (
            "What production serves, into a folder of the deploy, replacing the last one:",
            "mr get churn \\-\\-stage production \\-o /srv/models/churn \\-\\-force",
        ),
        ("Before starting the service, check nothing changed since:", "mr get \\-\\-check /srv/models/churn"),
        ("The receipt for the deploy log:", "mr get churn \\-\\-stage production \\-o out \\-\\-json > shipped.json"),
    ],
    "completion": [
        (
            "Install bash completion for the current user:",
            "mr completion bash > ~/.local/share/bash\\-completion/completions/mr",
        ),
    ],
    "demo": [("Build the demo and keep it:", "mr demo \\-\\-keep")],
}


#: Extra sections per command, as (title, [(term, text)]).
EXTRA: dict[str, list[tuple[str, list[tuple[str, str]]]]] = {
    "get": [
        (
            "RECEIPT",
            [
                (
                    ".mr\\-get.json",
                    'An object with "version": 1, "registry", "stage", "stage_commit" (the stage '
                    'branch\'s commit, or null for the work tree), "name", "project" (credentials redacted; null: the '
                    'registry), "rev", "commit" (where every file was read), "path" (the meta in its project), "meta" '
                    '(the meta in DIR), "files" (each: "path" in DIR, "size", "md5", "artifact": its name in the meta, '
                    'null for the meta, "source": git or dvc), "external" (artifacts git does not hold, each: "artifact", "uri", "hint"). '
                    "mr get --json prints the same document.",
                ),
                (
                    "what git holds",
                    "mr copies the files git holds at the commit. Artifacts in object stores "
                    "(s3://, gs://, ...) stay where they are (MLEM loads them from there) and are named with the "
                    "command that copies them; git-lfs files fail with the git lfs command that fetches them.",
                ),
                (
                    "models kept in DVC",
                    "An artifact the meta records as type: dvc, or an output of the project's dvc.lock or of a "
                    ".dvc file, is read from the project's DVC remote at the commit (.dvc/config's core.remote, "
                    "or --dvc-remote; ~/.config/dvc/config and /etc/xdg/dvc/config add credentials and remotes) "
                    "through DVC's libraries: pip install 'mr-registry[dvc]' (or pip install dvc-objects dvc-http). Local folder and HTTP(S) remotes "
                    "are read. Each file is checked against the meta's size and md5 and the md5 DVC records; "
                    "the meta is written with type: local, so MLEM loads DIR without DVC. A remote outside "
                    "allowed_sources is refused before any contact, as are relative and .. remote paths. "
                    "Without the extra, each is named with the dvc get command that writes it into DIR.",
                ),
            ],
        )
    ],
    "site": [
        (
            "THE PAGES",
            [
                (
                    "index.html",
                    "The stages (the commit each was read at, when it last changed, the copy read, stale or "
                    "diverged copies flagged, and with --verify the result of mr verify --stage), then "
                    "the matrix: a row per link, a column per stage, each cell the version there and since "
                    "when, or retired, removed or never promoted; with --resolve, the newest version tag "
                    "and the stages behind it.",
                ),
                (
                    "links/NAME\\-HASH.html",
                    "One link: its version, project, path and rev on each stage, and every commit that "
                    "changed it on a stage branch (when, stage, promotion, rollback, retirement or direct "
                    "change, the versions, the stage it came from, who, the commit, the signature where "
                    "commits are signed, the message).",
                ),
                (
                    "safety",
                    "The pages load nothing: a Content-Security-Policy of default-src 'none' allows only "
                    "the inline style and script, by their hashes, and they read without JavaScript. Every "
                    "value from the registry or a source is escaped (control and bidirectional characters "
                    "shown as \\uXXXX), credentials in URLs are redacted, and only http(s) projects become "
                    "links.",
                ),
                (
                    "\\-\\-json",
                    '"read_from" (each stage to the copy read), "registry", "folder", "pages", "bytes", "built" (seconds since the epoch), "stages" '
                    '(each: "stage", "commit"), "failed_verify" (the stages that failed --verify).',
                ),
            ],
        )
    ],
    "show": [
        (
            "JSON OUTPUT",
            [
                ("every document", 'An object with "version": 1. Fields are only ever added within a version.'),
                (
                    "mr show",
                    '"registry", "stage", "links" (each: "name", "file", "link_type", "project" '
                    '(credentials redacted), "path", "rev", "pinned_from", "params", "version", "rev_kind" '
                    '(branch, tag, commit, pin or ref), "sha"), "problems" (each: "file", "line", '
                    '"severity", "message").',
                ),
                (
                    "mr show \\-\\-stage S \\-\\-at WHEN",
                    'as mr show, with "at" (the moment, seconds since the epoch), "commit" (the stage\'s tip '
                    'then) and "commit_time".',
                ),
                (
                    "mr show NAME \\-\\-at WHEN",
                    '"name", "at", "stages": stage to null (no such stage yet) or {"commit", "commit_time", '
                    '"link": a link as above, or null}.',
                ),
                (
                    "mr show \\-\\-all\\-stages",
                    '"stages", "links" (each: "name", "stages": stage to a link as above, or null, '
                    '"retired_from": the stages a retirement took it off).',
                ),
                (
                    "mr show \\-\\-diff",
                    '"from", "to", "changes" (each: "name", "change" (added, removed, '
                    'changed), "from", "to", "fields": field to {"from", "to"}).',
                ),
                (
                    "mr show NAME",
                    '"name", "stages": stage to a link or null, "history", newest first (each: '
                    '"stage", "commit", "kind" (promotion, rollback, retirement or direct change), "author", '
                    '"email", "time", "rev_before", "rev_after" (the rev, PINNED_FROM@SHA for a pin, null when '
                    'absent), "version_before", "version_after", "from", "from_commit", "rev", "sha" (promotions), '
                    '"rollback_to" (rollbacks)).',
                ),
                (
                    "mr show \\-\\-outdated",
                    '"stage", "checked", "outdated" (each: "name", "kind" (branch, pin, '
                    'tag), "rev", "pinned_from", "current", "latest", "detail"), "unchecked_projects".',
                ),
            ],
        )
    ],
}


def roff(text: str) -> str:
    """Escape text for a roff line."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return re.sub(r"^([.'])", r"\\&\1", text, flags=re.M)


def _paragraphs(help_text: str) -> list[str]:
    out = []
    for block in re.split(r"\n\s*\n", help_text.strip()):
        if block.lstrip().startswith("\b"):
            lines = block.lstrip()[1:].strip("\n").splitlines()
            out.append(".nf\n" + "\n".join(roff(line.strip()) for line in lines) + "\n.fi")
        else:
            out.append(roff(" ".join(block.split())))
    return out


def _synopsis(name: str, cmd: click.Command, ctx: click.Context) -> str:
    pieces = cmd.collect_usage_pieces(ctx)
    return f".B {name}\n" + roff(" ".join(pieces))


def _options(cmd: click.Command, ctx: click.Context) -> list[str]:
    out = []
    for param in cmd.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out.append(f".TP\n.B {roff(names)}\n{roff(help_text)}")
    return out


def _tagged(items: list[tuple[str, str]], bold: bool = True) -> list[str]:
    mark = ".B" if bold else ".I"
    return [f".TP\n{mark} {roff(k)}\n{roff(v)}" for k, v in items]


def _exit_status(name: str | None) -> list[tuple[str, str]]:
    """The exit statuses, with what 1 means for command ``name``."""
    if name is None or name not in EXIT_1:
        return EXIT_STATUS
    return [(code, EXIT_1[name] if code == "1" else text) for code, text in EXIT_STATUS]


def _examples(name: str) -> list[str]:
    out = []
    for i, (text, commands) in enumerate(EXAMPLES.get(name, [])):
        lead = ".PP\n" if i else ""
        out.append(f"{lead}{roff(text)}\n.PP\n.RS 4\n.nf\n{commands}\n.fi\n.RE")
    return out


def page(cli: click.Group, name: str | None) -> str:
    """The man page of ``mr`` (name None) or of ``mr NAME``."""
    # make_context applies each command's context_settings (-h as well as --help)
    root = cli.make_context("mr", [], resilient_parsing=True)
    cmd: click.Command = cli if name is None else cli.commands[name]
    ctx = root if name is None else cmd.make_context(name, [], parent=root, resilient_parsing=True)
    title = "MR" if name is None else f"MR-{name.upper()}"
    full = "mr" if name is None else f"mr {name}"
    summary = (cmd.get_short_help_str(200)).rstrip(".")
    lines = [
        f'.TH {title} 1 {DATE} "mr {__version__}" "mr manual"',
        ".SH NAME",
        f"{roff(full.replace(' ', '-'))} \\- {roff(summary)}",
        ".SH SYNOPSIS",
        _synopsis(full, cmd, ctx),
        ".SH DESCRIPTION",
        *[f"{p}\n.PP" if not p.startswith(".nf") else p for p in _paragraphs(cmd.help or "")],
    ]
    if lines[-1].endswith("\n.PP"):
        lines[-1] = lines[-1][: -len("\n.PP")]
    if isinstance(cmd, click.Group):
        lines.append(".SH COMMANDS")
        for sub in sorted(cmd.commands):
            lines.append(f".TP\n.BR mr\\-{sub} (1)\n{roff(cmd.commands[sub].get_short_help_str(200))}")
    lines.append(".SH OPTIONS")
    lines += _options(cmd, ctx)
    lines.append(".SH EXIT STATUS")
    lines += _tagged(_exit_status(name))
    lines.append(".SH ENVIRONMENT")
    lines += _tagged(ENVIRONMENT)
    lines.append(".SH FILES")
    lines += _tagged(FILES, bold=False)
    for title, items in EXTRA.get(name or "", []):
        lines.append(f".SH {title}")
        lines += [f".TP\n.B {k}\n{roff(v)}" for k, v in items]
    if _examples(name or ""):
        lines.append(".SH EXAMPLES")
        lines += _examples(name or "")
    lines.append(".SH SEE ALSO")
    others = [f"mr\\-{c}" for c in sorted(cli.commands) if c != name]
    refs = (["mr"] if name else []) + others
    lines.append(",\n".join(f".BR {r} (1)" for r in refs) + ",\n.BR git (1)")
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """File name -> content of every page."""
    from mr.cli import cli

    out = {"mr.1": page(cli, None)}
    for name in sorted(cli.commands):
        out[f"mr-{name}.1"] = page(cli, name)
    return out
