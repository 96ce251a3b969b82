"""The rules ``mr verify`` applies to a link: data in, problems out.

The rules here need no git and no network; the ones that do (the rev exists,
the target is a MLEM object of the right type) live in ``mr.api.verify``,
which feeds what it learns back through these helpers.
"""

from __future__ import annotations

from mr.config import Config
from mr.model import ERROR, Link, Problem, Severity
from mr.urls import allowed, credentials_in, is_url, redact


def problem(link: Link, message: str, key: str | None = None, severity: Severity = ERROR) -> Problem:
    line = link.line_of(key) if key else None
    return Problem(link.file or link.name or "", line, message, severity)


def policy_problems(link: Link, config: Config, stage: str | None) -> list[Problem]:
    """Registry policy: pins on protected stages, allowed sources, no credentials."""
    out = credential_problems(link)
    field = link.project_field
    if link.project is not None:
        if config.allowed_sources and not source_allowed(link.project, config):
            out.append(
                problem(
                    link,
                    f"project {redact(link.project)} is not under allowed_sources "
                    f"({', '.join(redact(s) for s in config.allowed_sources)})",
                    field,
                )
            )
    # a stage alias is fixed by the stage branch that holds it
    if (
        stage is not None
        and config.stage_policy(stage).require_pinned
        and not link.is_stage_alias
        and not link.has_full_sha
    ):
        rev = link.rev or "(default branch)"
        out.append(
            problem(
                link,
                f"stage {stage} requires pinned links; rev {rev} is not a full commit SHA "
                "(mr link --pin, or mr promote pins)",
                "rev" if link.rev else "path",
            )
        )
    return out


def source_allowed(project: str, config: Config) -> bool:
    """Whether ``project`` is a URL under ``allowed_sources`` (normalised, on path-segment boundaries)."""
    if not config.allowed_sources:
        return True
    return is_url(project) and allowed(project, config.allowed_sources)


def credential_problems(link: Link) -> list[Problem]:
    """The credential rule alone: static, so it runs even when nothing is resolved (--no-verify)."""
    secret = credentials_in(link.project) if link.project is not None else None
    if not secret:
        return []
    return [
        problem(
            link,
            f"the project URL carries {secret} ({redact(link.project)}); "
            "remove it and let git's credential helper or ssh-agent supply it",
            link.project_field,
        )
    ]


def source_refusal(project: str, config: Config | None) -> str | None:
    """Why mr may not contact or read ``project`` under ``config`` (outside allowed_sources), or None.

    Asked before any connection to a project and any read of it.
    """
    if config is None or source_allowed(project, config):
        return None
    return f"project {redact(project)} is not under allowed_sources ({', '.join(redact(s) for s in config.allowed_sources)})"


def hop_problem(link: Link, config: Config | None) -> str | None:
    """What is wrong with a link met inside a chain: credentials, or a project outside allowed_sources."""
    if link.project is None:
        return None
    secret = credentials_in(link.project)
    if secret:
        return f"{link.file or link.path}: the project URL carries {secret} ({redact(link.project)})"
    refused = source_refusal(link.project, config)
    return f"{link.file or link.path}: {refused}" if refused else None


def type_problem(link: Link, object_type: str) -> Problem | None:
    if object_type != link.link_type:
        return problem(
            link,
            f"link_type is {link.link_type} but {link.path} is a MLEM object of type {object_type}",
            "link_type",
        )
    return None
