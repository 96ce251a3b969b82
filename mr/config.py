"""``.mr.yaml``: the registry's settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mr.errors import ConfigError, UsageError
from mr.model import GIT_SPECIAL_REFS

CONFIG_FILE = ".mr.yaml"
MLEM_CONFIG_FILE = ".mlem.yaml"
DEFAULT_STAGES = ("dev", "staging", "production")
LINK_FORMATS = ("project", "repo")
_KEYS = ("stages", "link_format", "policy", "allowed_sources", "hosts", "remote")
#: What a host in ``hosts`` may be: whose web URLs it serves.
HOST_KINDS = ("github", "gitlab", "bitbucket")
_POLICY_KEYS = ("require_pinned", "require_signed", "from")
# What git accepts in a branch name, minus what would confuse a shell or YAML.
_STAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_REMOTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


#: Where a stage that requires signed commits keeps the keys allowed to sign them (on its own branch),
#: in git's ``gpg.ssh.allowedSignersFile`` format.
ALLOWED_SIGNERS_FILE = ".mr/allowed_signers"


@dataclass(frozen=True)
class StagePolicy:
    require_pinned: bool = False
    #: every commit on the stage is signed by a key in its ``ALLOWED_SIGNERS_FILE``
    require_signed: bool = False
    #: the stages promotions onto this one may come from (``from:``); None: any
    promote_from: tuple[str, ...] | None = None

    def order_problem(self, stage: str, source: str) -> str | None:
        """Why a promotion from ``source`` onto ``stage`` breaks the stage order, or None."""
        if self.promote_from is None or source in self.promote_from:
            return None
        return (
            f"{stage} takes promotions only from {' or '.join(self.promote_from)} "
            f"(policy.{stage}.from in .mr.yaml), not from {source}"
        )


@dataclass(frozen=True)
class Config:
    stages: tuple[str, ...] = DEFAULT_STAGES
    link_format: str = "project"
    policy: Mapping[str, StagePolicy] = field(default_factory=dict)
    allowed_sources: tuple[str, ...] = ()
    #: self-hosted hosting sites whose web URLs name folders and revs: host -> github | gitlab | bitbucket
    hosts: Mapping[str, str] = field(default_factory=dict)
    #: the shared remote whose stage branches the team uses (None: the upstream, else origin)
    remote: str | None = None

    def stage_policy(self, stage: str) -> StagePolicy:
        return self.policy.get(stage, StagePolicy())

    def previous_stage(self, stage: str) -> str | None:
        if stage not in self.stages:
            return None
        i = self.stages.index(stage)
        return self.stages[i - 1] if i > 0 else None


#: Longest stage name: a branch is a file (plus ".lock") under .git/refs/heads.
MAX_STAGE_LENGTH = 100


def stage_problem(name: str) -> str | None:
    """Why ``name`` cannot be a stage (a branch name, by git's check-ref-format rules), or None."""
    if not _STAGE.fullmatch(name):
        return "use letters, digits, '.', '_', '-' and '/', starting with a letter or digit"
    if len(name) > MAX_STAGE_LENGTH:
        return f"longer than {MAX_STAGE_LENGTH} characters"
    if ".." in name or "//" in name or name.endswith((".", "/")):
        return "not a valid git branch name"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return f"not a valid git branch name (a part may not start with '.' or end with '.lock': {part})"
    if name.upper() in GIT_SPECIAL_REFS or name.split("/")[0] in GIT_SPECIAL_REFS:
        return f"{name} is a name git keeps for itself"
    return None


def parse_stages(text: str) -> tuple[str, ...]:
    """Parse ``--stages dev,staging,production``; raise UsageError (exit 2) when invalid."""
    stages = tuple(s.strip() for s in text.split(",") if s.strip())
    check_stage_option(stages)
    return stages


def check_stage_option(stages: tuple[str, ...]) -> None:
    """Raise UsageError naming ``--stages`` when ``stages`` cannot be a registry's stages."""
    problem = stages_problem(stages)
    if problem:
        raise UsageError(f"--stages: {problem}")


def check_stages(stages: tuple[str, ...], file: str, line: int | None) -> None:
    """Raise ConfigError at ``file:line`` when ``stages`` cannot be a registry's stages."""
    problem = stages_problem(stages)
    if problem:
        raise ConfigError(file, problem, line)


def stages_problem(stages: tuple[str, ...]) -> str | None:
    """Why ``stages`` cannot be a registry's stages (in promotion order), or None."""
    if not stages:
        return "stages: name at least one stage"
    for s in stages:
        problem = stage_problem(s)
        if problem:
            return f"stage {s!r}: {problem}"
    dupes = sorted({s for s in stages if stages.count(s) > 1})
    if dupes:
        return f"stages: {', '.join(dupes)} named twice"
    for s in stages:
        for t in stages:
            if t.startswith(s + "/"):
                return f"stages {s} and {t} collide: git cannot hold a branch and a folder of one name"
            if s < t and s.lower() == t.lower():
                return f"stages {s} and {t} differ only in case: they collide on most file systems"
    return None


def load_config(data: bytes | None, file: str = CONFIG_FILE) -> Config:
    """Read ``.mr.yaml`` (``None``: the file is absent, defaults apply)."""
    if data is None:
        return Config()
    from mr.linkfile import key_line, parse_mapping

    if not data.strip():
        return Config()
    doc = parse_mapping(data, file, what=CONFIG_FILE)
    for key in doc:
        if key not in _KEYS:
            raise ConfigError(file, f"unknown setting {key}: known are {', '.join(_KEYS)}", key_line(doc, key))
    kwargs: dict[str, Any] = {}
    if "stages" in doc:
        line = key_line(doc, "stages")
        raw = doc["stages"]
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            raise ConfigError(file, "stages must be a list of branch names", line)
        stages = tuple(raw)
        check_stages(stages, file, line)
        kwargs["stages"] = stages
    if "link_format" in doc:
        fmt = doc["link_format"]
        if fmt not in LINK_FORMATS:
            raise ConfigError(file, f"link_format must be project or repo, not {fmt!r}", key_line(doc, "link_format"))
        kwargs["link_format"] = fmt
    if "policy" in doc and doc["policy"] is not None:
        kwargs["policy"] = _policy(doc["policy"], file, key_line(doc, "policy"), kwargs.get("stages", DEFAULT_STAGES))
    if "allowed_sources" in doc and doc["allowed_sources"] is not None:
        raw = doc["allowed_sources"]
        if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
            raise ConfigError(file, "allowed_sources must be a list of URL prefixes", key_line(doc, "allowed_sources"))
        kwargs["allowed_sources"] = tuple(raw)
    if "hosts" in doc and doc["hosts"] is not None:
        kwargs["hosts"] = _hosts(doc["hosts"], file, key_line(doc, "hosts"))
    if "remote" in doc and doc["remote"] is not None:
        kwargs["remote"] = _remote(doc["remote"], file, key_line(doc, "remote"))
    return Config(**kwargs)


def remote_problem(name: str) -> str | None:
    """Why ``name`` cannot be a git remote's name, or None."""
    if not _REMOTE.fullmatch(name) or ".." in name or name.endswith((".", ".lock")) or "/." in name:
        return "a remote's name (git remote -v lists them): letters, digits, '.', '_', '-' and '/'"
    return None


def _remote(raw: Any, file: str, line: int | None) -> str:
    if not isinstance(raw, str):
        raise ConfigError(file, "remote must be the name of a git remote, such as origin", line)
    problem = remote_problem(raw)
    if problem:
        raise ConfigError(file, f"remote {raw!r}: {problem}", line)
    return raw


def _hosts(raw: Any, file: str, line: int | None) -> dict[str, str]:
    from mr.linkfile import key_line

    if not isinstance(raw, dict):
        raise ConfigError(file, "hosts must map host names to github, gitlab or bitbucket", line)
    out: dict[str, str] = {}
    for host, kind in raw.items():
        where = key_line(raw, host) or line
        if not isinstance(host, str) or not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", host):
            raise ConfigError(file, f"hosts: {host!r} is not a host name", where)
        if kind not in HOST_KINDS:
            raise ConfigError(file, f"hosts.{host} must be github, gitlab or bitbucket, not {kind!r}", where)
        out[host.lower()] = str(kind)
    return out


def _policy(raw: Any, file: str, line: int | None, stages: tuple[str, ...]) -> dict[str, StagePolicy]:
    from mr.linkfile import key_line

    if not isinstance(raw, dict):
        raise ConfigError(file, "policy must map stage names to settings", line)
    out: dict[str, StagePolicy] = {}
    for stage, settings in raw.items():
        sline = key_line(raw, stage) or line
        if settings is None:
            out[str(stage)] = StagePolicy()
            continue
        if not isinstance(settings, dict):
            raise ConfigError(file, f"policy.{stage} must be a mapping", sline)
        for key, value in settings.items():
            if key not in _POLICY_KEYS:
                raise ConfigError(
                    file,
                    f"unknown policy setting {key}: known are {', '.join(_POLICY_KEYS)}",
                    key_line(settings, key) or sline,
                )
            if key == "from":
                continue
            if not isinstance(value, bool):
                raise ConfigError(file, f"policy.{stage}.{key} must be true or false", key_line(settings, key) or sline)
        order = None
        if "from" in settings:
            order = _order(settings["from"], str(stage), stages, file, key_line(settings, "from") or sline)
        out[str(stage)] = StagePolicy(
            require_pinned=bool(settings.get("require_pinned", False)),
            require_signed=bool(settings.get("require_signed", False)),
            promote_from=order,
        )
    return out


def _order(raw: Any, stage: str, stages: tuple[str, ...], file: str, line: int | None) -> tuple[str, ...]:
    """``policy.STAGE.from``: the stages promotions onto ``stage`` may come from."""
    where = f"policy.{stage}.from"
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise ConfigError(file, f"{where} must list the stages promotions onto {stage} may come from", line)
    for source in raw:
        if source not in stages:
            raise ConfigError(file, f"{where}: {source} is not a stage (stages: {', '.join(stages)})", line)
        if source == stage:
            raise ConfigError(file, f"{where}: a stage is not promoted from itself", line)
    return tuple(dict.fromkeys(raw))


def default_text(stages: tuple[str, ...]) -> str:
    """The ``.mr.yaml`` that ``mr init`` writes."""
    last = stages[-1]
    order = (
        f"    # from: [{stages[-2]}]  # promotions onto {last} only from these stages (default: any)\n"
        if len(stages) > 1
        else ""
    )
    return (
        "# mr registry settings (man mr)\n"
        f"stages: [{', '.join(stages)}]   # branches, in promotion order\n"
        "link_format: project                 # field written for the source repo: project | repo\n"
        "policy:\n"
        f"  {last}:\n"
        "    require_pinned: true             # links here must pin a full commit SHA\n"
        f"{order}"
        "allowed_sources: []                  # URL prefixes links may point to; empty = any\n"
    )
