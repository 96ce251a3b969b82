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

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import unquote

from mr.errors import GitError, RemoteError, UsageError
from mr.urls import redact, safe_text, strip_credentials

#: Seconds one network operation may take in all (MR_GIT_TIMEOUT).
DEFAULT_TIMEOUT = 300.0

#: Transports git may use for mr (GIT_ALLOW_PROTOCOL, unless the user set it):
#: never ``ext::`` or other helpers that run commands named by a link file.
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"

# A helper that answers ``get`` with the user name and password mr was given
# in a URL, read from its environment, so they never reach a file or argv.
_URL_CREDENTIALS_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'printf "username=%s\\npassword=%s\\n" "$MR_URL_USERNAME" "$MR_URL_PASSWORD"; }; f'
)
_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^/?#]*)@", re.IGNORECASE)


def timeout() -> float:
    """``MR_GIT_TIMEOUT`` in seconds, checked: a bad value is a usage error."""
    raw = os.environ.get("MR_GIT_TIMEOUT")
    if raw is None or raw.strip() == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"MR_GIT_TIMEOUT={safe_text(raw)!s}: give a number of seconds above 0")
    return value


@dataclass(frozen=True)
class Call:
    """One run of git: what it prints, and what it said on stderr."""

    out: str
    err: str
    code: int = 0


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Without a terminal git cannot prompt; saying so makes it fail at once
    # instead of reporting a confusing askpass error.
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env.setdefault("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
    # Messages are matched below; keep them in git's own language.
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    if extra:
        env.update(extra)
    return env


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
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(env),
            # a session of its own: no terminal to prompt on, and the whole
            # group (git, ssh, remote helpers) can be killed at the deadline
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (mr uses it to fetch and push); install git") from None
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    try:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise RemoteError(
            f"{redact(url)}: timed out after {_seconds(timeout())} s without a complete answer "
            "(MR_GIT_TIMEOUT sets the limit)"
        ) from None
    except BaseException:
        _kill(proc)
        raise
    text_err = err.decode("utf-8", "replace")
    if proc.returncode != 0 and check:
        raise RemoteError(f"{redact(url)}: {explain(text_err, url)}")
    return Call(out.decode("utf-8", "replace"), text_err, proc.returncode)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass


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
        r"Repository not found|does not appear to be a git repository|not found: did you run git update-server-info"
        r"|returned error: 404|No such file or directory|access denied or repository not exported",
        "no git repository there (or no access to it)",
    ),
    (r"transport '[^']*' not allowed|unsupported protocol", "mr fetches only file, git, http, https and ssh URLs"),
)


def explain(stderr: str, url: str) -> str:
    """One line from git's stderr: a known cause with the next step, else git's own last words."""
    for pattern, message in _EXPLANATIONS:
        if re.search(pattern, stderr, re.IGNORECASE):
            return message
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("hint:", "warning:"))]
    last = lines[-1] if lines else "git failed"
    last = re.sub(r"^(fatal|error): ", "", last)
    for form in {url, strip_credentials(url)}:
        if form:
            last = last.replace(f"'{form}'", "it").replace(form, "it")
    return safe_text(redact_all(last))


_ANY_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def redact_all(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return _ANY_URL.sub(lambda m: redact(m.group(0)), text)


def push_url(repo_path: str, remote: str) -> str | None:
    """Where ``git push REMOTE`` sends to (pushInsteadOf and insteadOf applied); None: no such remote."""
    call = run(["-C", repo_path, "remote", "get-url", "--push", "--", remote], url=remote, check=False)
    return call.out.strip() or None if call.code == 0 else None


def push(repo_path: str, remote: str, branch: str) -> str:
    """Push ``branch`` to ``remote`` (a remote's name, a URL or a path), fast-forward only.

    Returns the URL pushed to, credentials redacted.
    """
    from mr.urls import is_url

    if remote.startswith("-"):
        raise UsageError(f"--push {safe_text(remote)}: not a remote name or URL")
    url = push_url(repo_path, remote)
    if url is None:
        if not (is_url(remote) or os.path.isdir(remote)):
            raise GitError(f"no remote {safe_text(remote)} (git remote -v lists them)")
        url = remote
    ref = f"refs/heads/{branch}"
    options, env = url_credentials(remote)
    target = strip_credentials(remote) if options else remote
    call = run(
        [*options, "-C", repo_path, "push", "--porcelain", "--", target, f"{ref}:{ref}"],
        url=url,
        env=env,
        check=False,
    )
    if call.code != 0:
        raise RemoteError(f"{redact(url)}: {_push_refusal(call.out) or explain(call.err, url)}")
    return redact(url)


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
    call = run(["-C", repo_path, "remote", "get-url", "--", remote], url=remote, check=False)
    return call.out.strip() or None if call.code == 0 else None


def fetch_branch(repo_path: str, remote: str, branch: str, ref: str, shallow: bool = False) -> bool:
    """Fetch ``remote``'s branch ``branch`` into ``ref`` (forced, as a remote-tracking branch is).

    Only that branch is fetched, without tags; ``shallow`` fetches its tip
    alone (``--depth=1``, for a shallow clone). False when the remote has no
    such branch.
    """
    from mr.urls import is_url

    if remote.startswith("-"):
        raise UsageError(f"{safe_text(remote)}: not a remote name or URL")
    url = fetch_url(repo_path, remote)
    if url is None:
        if not (is_url(remote) or os.path.isdir(remote)):
            raise GitError(f"no remote {safe_text(remote)} (git remote -v lists them)")
        url = remote
    options, env = url_credentials(remote)
    target = strip_credentials(remote) if options else remote
    depth = ["--depth=1"] if shallow else []
    call = run(
        [*options, "-C", repo_path, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", *depth,
         "--", target, f"+refs/heads/{branch}:{ref}"],
        url=url,
        env=env,
        check=False,
    )
    if call.code != 0:
        if re.search(r"couldn't find remote ref", call.err):
            return False
        raise RemoteError(f"{redact(url)}: {explain(call.err, url)}")
    return True


def push_lease(repo_path: str, remote: str, branch: str, expect: str | None) -> str:
    """Push ``branch`` to ``remote`` only if the remote's branch is still at ``expect`` (None: absent).

    Returns the URL pushed to, credentials redacted; raises ``PushRaced`` when
    the remote's branch moved since it was fetched.
    """
    from mr.errors import PushRaced
    from mr.urls import is_url

    if remote.startswith("-"):
        raise UsageError(f"--push {safe_text(remote)}: not a remote name or URL")
    url = push_url(repo_path, remote)
    if url is None:
        if not (is_url(remote) or os.path.isdir(remote)):
            raise GitError(f"no remote {safe_text(remote)} (git remote -v lists them)")
        url = remote
    ref = f"refs/heads/{branch}"
    options, env = url_credentials(remote)
    target = strip_credentials(remote) if options else remote
    # The commit was built on ``expect``, the remote's tip as just fetched, so
    # the push is a fast-forward. The lease states the condition explicitly:
    # the server moves its branch only if it still points at ``expect`` (it
    # compares and updates under its own ref lock), so a teammate's push that
    # lands between our fetch and our push is refused ("stale info") rather
    # than overwritten, and we fetch, rebuild and try again. An empty lease
    # means "the branch must not exist yet".
    lease = f"--force-with-lease={ref}:{expect or ''}"
    call = run(
        [*options, "-C", repo_path, "push", "--porcelain", lease, "--", target, f"{ref}:{ref}"],
        url=url,
        env=env,
        check=False,
    )
    if call.code != 0:
        refusal = _push_refusal(call.out)
        if refusal is not None and re.search(r"stale info|fetch first|non-fast-forward", refusal):
            raise PushRaced(f"{redact(url)}: {refusal}")
        raise RemoteError(f"{redact(url)}: {refusal or explain(call.err, url)}")
    return redact(url)
