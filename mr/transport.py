"""The wire: every fetch, push and remote listing, through the ``git`` executable.

pygit2 reads objects and moves refs locally (``mr.git``); talking to other
machines is left to git itself, so that everything a user configured for git
applies unchanged: credential helpers and askpass, ``http.extraHeader``,
``url.<base>.insteadOf``/``pushInsteadOf``, proxies, CA bundles and
``http.sslVerify``, ``core.sshCommand``, ``~/.ssh/config`` and known_hosts.
ARCHITECTURE.md gives the reasons.

Each call has an overall deadline (``MR_GIT_TIMEOUT`` seconds) after which
git and everything it started (ssh, remote helpers) is killed. git runs
without a terminal, so it never prompts: credentials come from helpers,
askpass programs or ssh-agent, and an unknown host key is refused as ssh
refuses it in batch use.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote

from mr import gitexe
from mr.errors import GitError, RemoteError, UsageError
from mr.terminal import field as safe_text
from mr.urls import redact, strip_credentials

#: Transports git may use for mr (``gitexe`` narrows them by the user's GIT_ALLOW_PROTOCOL).
ALLOWED_PROTOCOLS = ":".join(gitexe.ALLOWED_PROTOCOLS)

# A helper that answers ``get`` with the user name and password mr was given
# in a URL, read from its environment, so they never reach a file or argv.
_URL_CREDENTIALS_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'printf "username=%s\\npassword=%s\\n" "$MR_URL_USERNAME" "$MR_URL_PASSWORD"; }; f'
)
_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^/?#]*)@", re.IGNORECASE)


def timeout() -> float:
    """``MR_GIT_TIMEOUT`` in seconds (``mr.env`` checks it)."""
    from mr.envvars import git_timeout

    return git_timeout()


@dataclass(frozen=True)
class Call:
    """One run of git: what it prints, and what it said on stderr."""

    out: str
    err: str
    code: int = 0


def stopped() -> contextlib.AbstractContextManager[None]:
    """End every git this process runs, and start none, until the block ends (``gitexe.stopped``)."""
    return gitexe.stopped()


def stopping() -> bool:
    """Whether mr was interrupted and is ending its git processes."""
    return gitexe.stopping()


def url_credentials(url: str) -> tuple[list[str], dict[str, str]]:
    """git options and environment that hand a URL's own user name and password to git.

    The URL stored or passed on argv is then ``strip_credentials(url)``.
    """
    m = _USERINFO.match(url)
    if not m or not m.group("userinfo"):
        return [], {}
    user, sep, password = m.group("userinfo").partition(":")
    if not sep:
        # https://TOKEN@host: hosts take a token as the user name
        password = ""
    options = ["-c", "credential.helper=", "-c", f"credential.helper={_URL_CREDENTIALS_HELPER}"]
    return options, {"MR_URL_USERNAME": unquote(user), "MR_URL_PASSWORD": unquote(password)}


def run(
    args: list[str],
    *,
    url: str,
    cwd: str | None = None,
    deadline: float | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> Call:
    """Run ``git args`` against remote ``url`` (for messages); raise ``RemoteError`` on failure.

    ``deadline`` is a ``time.monotonic()`` value; past it git is killed.
    ``check=False`` returns a failed run instead of raising (a timeout still raises).
    """
    if deadline is None:
        deadline = time.monotonic() + timeout()
    try:
        done = gitexe.run(args, cwd=cwd, env=env, deadline=deadline, what="fetch and push")
    except gitexe.Interrupted:
        raise RemoteError(f"{redact(url)}: interrupted") from None
    except gitexe.TimedOut:
        raise RemoteError(
            f"{redact(url)}: timed out after {_seconds(timeout())} s without a complete answer "
            "(MR_GIT_TIMEOUT sets the limit)"
        ) from None
    text_err = done.err_text()
    if done.code != 0 and check:
        raise RemoteError(f"{redact(url)}: {explain(text_err, url)}")
    return Call(done.out.decode("utf-8", "replace"), text_err, done.code)


def _seconds(value: float) -> str:
    return f"{value:g}"


# What git (or ssh, or curl through git) says, and what to tell the user.
_EXPLANATIONS: tuple[tuple[str, str], ...] = (
    (
        r"REMOTE HOST IDENTIFICATION HAS CHANGED",
        "the server's SSH host key has changed: if that is expected, update it in ~/.ssh/known_hosts "
        "(ssh-keygen -R HOST); otherwise someone may be intercepting the connection",
    ),
    (
        r"Host key verification failed|No \S+ host key is known",
        "the server's SSH host key is not trusted: add it to ~/.ssh/known_hosts "
        "(check its fingerprint, then ssh-keyscan HOST >> ~/.ssh/known_hosts)",
    ),
    (
        r"SSL certificate problem|server certificate verification failed|certificate verify failed"
        r"|unable to get local issuer certificate|self[- ]signed certificate",
        "the server's TLS certificate is not trusted: check http.sslCAInfo or GIT_SSL_CAINFO",
    ),
    # curl's words when an HTTP proxy does not open the tunnel to an https:// host
    (
        r"(CONNECT tunnel failed, response|Received HTTP code) 407\b",
        "the proxy refused its credentials (407 Proxy Authentication Required): check the user name and "
        "password in http.proxy or https_proxy",
    ),
    (
        r"Received HTTP code (?P<status>\d{3}) from proxy after CONNECT|CONNECT tunnel failed, response (?P<code>\d{3})",
        "the proxy refused to open a tunnel to the host (CONNECT answered {status}{code}): "
        "check http.proxy, https_proxy and no_proxy",
    ),
    (
        r"terminal prompts disabled|could not read (Username|Password)|Authentication failed"
        r"|HTTP Basic: Access denied|returned error: 40[13]|Permission denied \(publickey",
        "authentication failed: configure a git credential helper (or http.extraHeader) for it, "
        "or load the SSH key into ssh-agent",
    ),
    (
        r"Could not resolve (host|proxy)|Name or service not known|nodename nor servname",
        "the host name does not resolve (check the URL, and http.proxy for a proxy)",
    ),
    (r"Connection refused", "the server refused the connection"),
    (r"Connection timed out|Operation timed out", "the connection timed out"),
    (
        r"Repository not found|repository '[^']*' not found|does not appear to be a git repository|not found: did you run git update-server-info"
        r"|returned error: 404|No such file or directory|access denied or repository not exported",
        "no git repository there (or no access to it)",
    ),
    (r"transport '[^']*' not allowed|unsupported protocol", "mr fetches only file, git, http, https and ssh URLs"),
)


def explain(stderr: str, url: str) -> str:
    """One line from git's stderr: a known cause with the next step, else git's own last words."""
    for pattern, message in _EXPLANATIONS:
        m = re.search(pattern, stderr, re.IGNORECASE)
        if m:
            groups = m.groupdict()
            return message.format_map({k: v or "" for k, v in groups.items()}) if groups else message
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("hint:", "warning:"))]
    # git's own verdict is its last "fatal:" or "error:" line; what follows is advice wrapped over lines
    verdicts = [ln for ln in lines if ln.startswith(("fatal: ", "error: "))]
    last = verdicts[-1] if verdicts else lines[-1] if lines else "git failed"
    last = re.sub(r"^(fatal|error): ", "", last)
    # the URL stays in git's words, redacted like every URL mr prints
    return safe_text(redact_all(last))


_ANY_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def redact_all(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return _ANY_URL.sub(lambda m: redact(m.group(0)), text)


def push_url(repo_path: str, remote: str) -> str | None:
    """Where ``git push REMOTE`` sends to (pushInsteadOf and insteadOf applied); None: no such remote."""
    # a URL's password never goes on argv; only remote names have a push URL to look up anyway
    call = run(
        ["-C", repo_path, "remote", "get-url", "--push", "--", strip_credentials(remote)], url=remote, check=False
    )
    return call.out.strip() or None if call.code == 0 else None


@dataclass(frozen=True)
class Remote:
    """A remote as git will reach it: the URL (insteadOf applied, for messages), and what goes on argv."""

    #: the URL git talks to (for messages; may carry a password: redact it)
    url: str
    #: what names the remote on git's command line: a remote's name, or the URL without its password
    target: str
    #: git options and environment that carry a URL's own credentials
    options: list[str]
    env: dict[str, str]


def _remote(repo_path: str, remote: str, *, push: bool, option: str) -> Remote:
    """``remote`` (a remote's name, a URL or a path) resolved for a fetch or a push; refused when it is none."""
    from mr.urls import is_url

    if remote.startswith("-"):
        raise UsageError(f"{option} {safe_text(remote)}: not a remote name or URL")
    url = push_url(repo_path, remote) if push else fetch_url(repo_path, remote)
    if url is None:
        if not (is_url(remote) or os.path.isdir(remote)):
            raise GitError(f"no remote {safe_text(remote)} (git remote -v lists them)")
        url = remote
    options, env = url_credentials(remote)
    return Remote(url, strip_credentials(remote) if options else remote, options, env)


def push(repo_path: str, remote: str, branch: str) -> str:
    """Push ``branch`` to ``remote`` (a remote's name, a URL or a path), fast-forward only.

    Returns the URL pushed to, credentials redacted.
    """
    return push_branches(repo_path, remote, [branch], upstream=False)


def push_branches(repo_path: str, remote: str, branches: list[str], upstream: bool = True) -> str:
    """Push ``branches`` to ``remote`` in one ``git push``, fast-forward only (each set to track it: ``upstream``).

    Returns the URL pushed to, credentials redacted.
    """
    to = _remote(repo_path, remote, push=True, option="--push")
    refs = [f"refs/heads/{b}:refs/heads/{b}" for b in branches]
    track = ["--set-upstream"] if upstream else []
    call = run(
        [*to.options, "-C", repo_path, "push", "--porcelain", *track, "--", to.target, *refs],
        url=to.url,
        env=to.env,
        check=False,
    )
    if call.code != 0:
        raise RemoteError(f"{redact(to.url)}: {_push_refusal(call.out) or explain(call.err, to.url)}")
    return redact(to.url)


def remote_default_branch(repo_path: str, remote: str) -> str | None:
    """The branch ``remote``'s HEAD names (``git ls-remote --symref REMOTE HEAD``); None when unknown."""
    src = _remote(repo_path, remote, push=False, option="--remote")
    call = run(
        [*src.options, "-C", repo_path, "ls-remote", "--symref", "--", src.target, "HEAD"],
        url=src.url,
        env=src.env,
        check=False,
    )
    if call.code != 0:
        return None
    for line in call.out.splitlines():
        value, _, name = line.partition("\t")
        if name == "HEAD" and value.startswith("ref: refs/heads/"):
            return value[len("ref: refs/heads/") :] or None
    return None


def _push_refusal(porcelain: str) -> str | None:
    """The reason in ``git push --porcelain`` output for a refused ref, or None."""
    for line in porcelain.splitlines():
        flag, _, rest = line.partition("\t")
        if flag != "!":
            continue
        _, _, summary = rest.partition("\t")
        m = re.match(r"\[(?:remote )?rejected\] \((.*)\)$", summary.strip())
        reason = m.group(1) if m else summary.strip()
        hint = ""
        if reason in ("fetch first", "non-fast-forward"):
            hint = " (someone else pushed first: fetch, then promote again)"
        return f"refused the push: {safe_text(reason)}{hint}"
    return None


def fetch_url(repo_path: str, remote: str) -> str | None:
    """Where ``git fetch REMOTE`` fetches from (insteadOf applied); None: no such remote."""
    call = run(["-C", repo_path, "remote", "get-url", "--", strip_credentials(remote)], url=remote, check=False)
    return call.out.strip() or None if call.code == 0 else None


def fetch_branch(
    repo_path: str, remote: str, branch: str, ref: str, shallow: bool = False, option: str = "--remote"
) -> bool:
    """Fetch ``remote``'s branch ``branch`` into ``ref`` (forced, as a remote-tracking branch is).

    Only that branch is fetched, without tags; ``shallow`` fetches its tip
    alone (``--depth=1``, for a shallow clone). False when the remote has no
    such branch. ``option`` names the option ``remote`` came from, in messages.
    """
    return branch in fetch_branches(repo_path, remote, {branch: ref}, shallow, option)


def fetch_branches(
    repo_path: str, remote: str, refs: dict[str, str], shallow: bool = False, option: str = "--remote"
) -> set[str]:
    """Fetch each of ``remote``'s branches into its ref in ``refs`` (branch -> ref), in one ``git fetch``.

    Returns the branches the remote has; one it lacks is left out (and the
    fetch made again without it, as git fails the whole fetch for it).
    """
    src = _remote(repo_path, remote, push=False, option=option)
    depth = ["--depth=1"] if shallow else []
    wanted = dict(refs)
    while wanted:
        call = run(
            [
                *src.options,
                "-C",
                repo_path,
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                *depth,
                "--",
                src.target,
                *(f"+refs/heads/{branch}:{ref}" for branch, ref in wanted.items()),
            ],
            url=src.url,
            env=src.env,
            check=False,
        )
        if call.code == 0:
            return set(wanted)
        missing = re.search(r"couldn't find remote ref (?:refs/heads/)?(\S+)", call.err)
        if missing is None or missing.group(1) not in wanted:
            raise RemoteError(f"{redact(src.url)}: {explain(call.err, src.url)}")
        del wanted[missing.group(1)]
    return set()


#: What git (client or server) says when another process holds the lock on a ref it updates.
LOCK_CONTENTION = re.compile(
    r"failed to update ref|cannot lock ref|failed to lock|unable to create '[^']*\.lock'", re.I
)


def push_lease(repo_path: str, remote: str, branch: str, expect: str | None) -> str:
    """Push ``branch`` to ``remote`` only if the remote's branch is still at ``expect`` (None: absent).

    Returns the URL pushed to, credentials redacted; raises ``PushRaced`` when
    the remote's branch moved since it was fetched.
    """
    from mr.errors import PushRaced

    to = _remote(repo_path, remote, push=True, option="--push")
    url = to.url
    ref = f"refs/heads/{branch}"
    # The commit was built on ``expect``, the remote's tip as just fetched, so
    # the push is a fast-forward. The lease states the condition explicitly:
    # the server moves its branch only if it still points at ``expect`` (it
    # compares and updates under its own ref lock), so a teammate's push that
    # lands between our fetch and our push is refused ("stale info") rather
    # than overwritten, and we fetch, rebuild and try again. An empty lease
    # means "the branch must not exist yet".
    lease = f"--force-with-lease={ref}:{expect or ''}"
    call = run(
        [*to.options, "-C", repo_path, "push", "--porcelain", lease, "--", to.target, f"{ref}:{ref}"],
        url=url,
        env=to.env,
        check=False,
    )
    if call.code != 0:
        refusal = _push_refusal(call.out)
        if refusal is not None and re.search(r"stale info|fetch first|non-fast-forward", refusal):
            raise PushRaced(f"{redact(url)}: {refusal}")
        if LOCK_CONTENTION.search(call.out + call.err):
            # another push held the server's ref lock: contention, not a refusal
            raise PushRaced(f"{redact(url)}: {refusal or explain(call.err, url)}")
        raise RemoteError(f"{redact(url)}: {refusal or explain(call.err, url)}")
    return redact(url)
