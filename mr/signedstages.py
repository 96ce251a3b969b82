"""Stages that require signed commits (``require_signed`` in ``.mr.yaml``), checked where they are used.

The keys allowed to sign a stage's commits are listed on the stage's own
branch, in ``.mr/allowed_signers`` (git's ``gpg.ssh.allowedSignersFile``
format). A commit is judged by the list as its parent had it, so a commit
cannot add the key it is signed with; the commit that turns the policy on
is judged by the list it brings. git itself verifies each signature.
"""

from __future__ import annotations

from mr import git
from mr.config import ALLOWED_SIGNERS_FILE, CONFIG_FILE, load_config
from mr.errors import ConfigError, SignatureRefused
from mr.model import SHORT_SHA
from mr.registry import Registry


def required(reg: Registry, stage: str) -> bool:
    """Whether ``stage``'s policy (as its branch has it) requires signed commits."""
    return reg.stage_config(stage).stage_policy(stage).require_signed


def _requires_at(reg: Registry, commit: str, stage: str) -> bool:
    try:
        config = load_config(git.read_at(reg.repo, commit, CONFIG_FILE), f"{commit[:SHORT_SHA]}:{CONFIG_FILE}")
    except ConfigError:
        return False
    return config.stage_policy(stage).require_signed


def check(reg: Registry, stage: str, commit: str, history: bool = False) -> str:
    """The principal that signed ``commit`` on ``stage``; ``SignatureRefused`` unless an allowed signer did.

    With ``history``, every first-parent commit back to the one that turned
    the policy on is checked too.
    """
    known: dict[str, bool] = {}

    def requires_at(sha: str) -> bool:  # each commit's .mr.yaml read once: a commit is the next one's parent
        if sha not in known:
            known[sha] = _requires_at(reg, sha, stage)
        return known[sha]

    commits = [commit]
    if history:
        commits = []
        for info in git.log(reg.repo, commit):
            if not requires_at(info.sha):
                break
            commits.append(info.sha)
        commits = commits or [commit]
    by_list: dict[bytes, list[str]] = {}
    for c in commits:
        parent = git.commit_of(reg.repo, f"{c}^")
        judge = parent if parent is not None and requires_at(parent) else c
        allowed = git.read_at(reg.repo, judge, ALLOWED_SIGNERS_FILE)
        if allowed is None or not allowed.strip():
            raise SignatureRefused(
                f"{stage} requires signed commits, but {stage}:{ALLOWED_SIGNERS_FILE} at {judge[:SHORT_SHA]} "
                "lists no key: add the keys allowed to sign (git's allowedSignersFile format)"
            )
        by_list.setdefault(allowed, []).append(c)
    signers: dict[str, str | None] = {}
    for allowed, shas in by_list.items():
        signers.update(git.check_signers(reg.repo, shas, allowed))
    for c in commits:  # newest first: the first one refused is named
        if signers.get(c) is None:
            what = (
                "unsigned"
                if not git.is_signed(reg.repo, c)
                else f"not signed by a key in {ALLOWED_SIGNERS_FILE} (or its signature is bad)"
            )
            raise SignatureRefused(f"{stage} requires signed commits: {c[:SHORT_SHA]} is {what}")
    signer = signers[commit]
    assert signer is not None
    return signer
