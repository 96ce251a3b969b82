"""mr honours git's own transport configuration, against real servers on 127.0.0.1.

Every fetch, push and listing goes through the ``git`` executable, so what a
user configured for git (ssh config and known_hosts, credential helpers,
askpass, extra headers, CA bundles, proxies, insteadOf) must apply to mr as it
applies to ``git ls-remote`` in the same environment. The servers are in
``tests/servers.py``; none of this touches the internet.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mr import api
from mr.cachepaths import cache_path
from tests.conftest import GitDaemon
from tests.helpers import MODEL, commit, git, make_project
from tests.servers import PROXIED_HOST, PROXY_PASSWORD, PROXY_USER, ConnectProxy, GitHTTPServer, SSHServer, Trickler

LINK = "link_type: model\nobject_type: link\npath: models/rf.mlem\nproject: {project}\nrev: {rev}\n"


@pytest.fixture(autouse=True)
def no_ambient_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the machine's own environment steers the wire: no proxy, agent or askpass."""
    for var in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSH_AUTH_SOCK",
        "SSH_AGENT_PID",
        "SSH_ASKPASS",
        "DISPLAY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(var, raising=False)


def git_config(home: Path, key: str, value: str) -> None:
    subprocess.run(["git", "config", "--file", str(home / ".gitconfig"), "--add", key, value], check=True)


def write_link(registry: Path, name: str, project: str, rev: str = "main") -> Path:
    path = registry / f"{name}.mlem"
    path.write_text(LINK.format(project=project, rev=rev))
    return path


def ls_remote(url: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``git ls-remote URL`` as a user would run it here, without a terminal."""
    return subprocess.run(
        ["git", "ls-remote", url],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        start_new_session=True,
    )


def cache_dir() -> Path:
    return Path(os.environ["MR_CACHE_DIR"])


def cache_entries() -> list[str]:
    root = cache_dir()
    if not root.exists():
        return []
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            if (Path(dirpath) / d / "objects").is_dir():
                found.append(d)
    return sorted(found)


def leftovers() -> list[str]:
    return sorted(str(p) for p in cache_dir().rglob("*.tmp-*")) if cache_dir().exists() else []


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def assert_verified(mr, links: int, *args: str) -> None:  # type: ignore[no-untyped-def]
    r = mr("verify", *args)
    summary = f"ok: {links} link{'s' if links != 1 else ''} checked, 0 failed"
    assert (r.code, r.out.strip()) == (0, f"{summary}\npolicy: dev (the checked-out branch)"), r.out + r.err


def one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --------------------------------------------------------------------------- SSH


class SSHClient:
    """ssh configured the way users do it: an ssh_config, a known_hosts file, a key; no agent."""

    def __init__(self, server: SSHServer, folder: Path, home: Path) -> None:
        self.server = server
        self.folder = folder
        self.home = home
        self.known_hosts = folder / "known_hosts"
        self.config = folder / "ssh_config"
        self.known_hosts.write_text("")
        self.config.write_text(
            "Host wire-alias\n"
            "    HostName 127.0.0.1\n"
            f"    Port {server.port}\n"
            f"    User {server.user}\n"
            f"    IdentityFile {server.client_key}\n"
            "Host wire-behind-jump\n"
            "    HostName 127.0.0.1\n"
            f"    Port {server.port}\n"
            f"    User {server.user}\n"
            f"    IdentityFile {server.client_key}\n"
            "    ProxyJump wire-alias\n"
            "Host *\n"
            f"    UserKnownHostsFile {self.known_hosts}\n"
            "    GlobalKnownHostsFile /dev/null\n"
            "    IdentitiesOnly yes\n"
            "    ConnectTimeout 10\n"
        )

    def command(self, with_key: bool = True) -> str:
        cmd = (
            f"ssh -F {self.config} -o UserKnownHostsFile={self.known_hosts} "
            "-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
        )
        return f"{cmd} -i {self.server.client_key}" if with_key else cmd

    def use(self, with_key: bool = True) -> None:
        """Put this ssh command in the user's git config (core.sshCommand)."""
        git_config(self.home, "core.sshCommand", self.command(with_key))

    def trust(self, key: Path | None = None) -> None:
        self.known_hosts.write_text(self.server.known_hosts_line(key))


@pytest.fixture
def ssh(sshd: SSHServer, tmp_path: Path, isolated_git: Path) -> SSHClient:
    folder = tmp_path / "ssh-client"
    folder.mkdir()
    return SSHClient(sshd, folder, isolated_git)


@pytest.fixture
def ssh_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "over-ssh")


def test_ssh_trusted_host_key_link_and_verify(registry: Path, ssh: SSHClient, ssh_project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    ssh.use()
    ssh.trust()
    url = ssh.server.url(ssh_project)
    assert ls_remote(url).returncode == 0
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert f"project: {url}\n" in (registry / "rf.mlem").read_text()
    assert_verified(mr, 1)


def test_ssh_unknown_host_key_is_refused_and_nothing_cached(
    registry: Path, ssh: SSHClient, ssh_project: Path, mr
) -> None:  # type: ignore[no-untyped-def]
    ssh.use()  # known_hosts is empty
    url = ssh.server.url(ssh_project)
    theirs = ls_remote(url)
    assert theirs.returncode != 0 and "Host key verification failed" in theirs.stderr
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 1
    line = one_line(r.err)
    assert "host key is not trusted" in line and "known_hosts" in line
    assert "Traceback" not in r.err
    assert not (registry / "rf.mlem").exists()
    assert cache_entries() == [] and leftovers() == []
    assert ssh.known_hosts.read_text() == ""  # mr never trusts a key on the user's behalf


def test_ssh_changed_host_key_is_refused(registry: Path, ssh: SSHClient, ssh_project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    ssh.use()
    ssh.trust(ssh.server.other_key)  # someone else's key for this host and port
    url = ssh.server.url(ssh_project)
    theirs = ls_remote(url)
    assert theirs.returncode != 0 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in theirs.stderr
    write_link(registry, "rf", url)
    r = mr("verify")
    assert r.code == 1
    assert "host key has changed" in r.out
    assert cache_entries() == []


def test_ssh_push_to_unknown_host_is_refused_and_remote_unchanged(
    registry: Path,
    ssh: SSHClient,
    project: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link a")
    remote = tmp_path / "registry-remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(registry, "push", "-q", str(remote), "dev", "staging", "production")
    before = git(remote, "rev-parse", "staging")
    git(registry, "remote", "add", "origin", ssh.server.url(remote))
    ssh.use()  # the host key is not in known_hosts
    local_before = git(registry, "rev-parse", "staging")
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 1
    # --push fetches the stage first: refused there, before anything is committed
    assert "host key is not trusted" in r.err and len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err
    assert git(remote, "rev-parse", "staging") == before
    assert git(registry, "rev-parse", "staging") == local_before
    # with the key trusted, the same promotion lands on the remote
    ssh.trust()
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.err
    assert git(remote, "rev-parse", "staging") == git(registry, "rev-parse", "staging") != before


def test_ssh_config_host_alias_with_user_port_and_identity_file(
    registry: Path,
    ssh: SSHClient,
    ssh_project: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    ssh.use(with_key=False)  # the key, the user and the port come from the alias in the -F file
    ssh.trust()
    url = f"wire-alias:{ssh_project}"
    assert ls_remote(url).returncode == 0
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert f"project: {url}\n" in (registry / "rf.mlem").read_text()
    assert_verified(mr, 1)


def test_ssh_proxy_jump_from_ssh_config(registry: Path, ssh: SSHClient, ssh_project: Path, mr) -> None:  # type: ignore[no-untyped-def]
    ssh.use(with_key=False)
    ssh.trust()
    url = f"ssh://wire-behind-jump{ssh_project}"
    assert ls_remote(url).returncode == 0
    write_link(registry, "rf", url)
    assert_verified(mr, 1)
    assert cache_entries() != []


def test_ssh_strict_host_key_checking_accept_new_is_honoured(
    registry: Path,
    ssh: SSHClient,
    ssh_project: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    """What the user's ssh config says about unknown keys applies to mr as to git."""
    git_config(ssh.home, "core.sshCommand", ssh.command() + " -o StrictHostKeyChecking=accept-new")
    write_link(registry, "rf", ssh.server.url(ssh_project))
    assert_verified(mr, 1)
    # ssh recorded the key, exactly as it would for git
    recorded = ssh.known_hosts.read_text().split()
    assert recorded[1:3] == ssh.server.known_hosts_line().split()[1:3]
    # and accept-new still refuses a changed key
    ssh.trust(ssh.server.other_key)
    shutil.rmtree(cache_dir())
    r = mr("verify")
    assert r.code == 1 and "host key has changed" in r.out


def test_ssh_key_file_without_agent_via_git_ssh_command(
    registry: Path,
    ssh: SSHClient,
    ssh_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    assert "SSH_AUTH_SOCK" not in os.environ
    ssh.trust()
    url = ssh.server.url(ssh_project)
    # no key: refused, as git is
    monkeypatch.setenv("GIT_SSH_COMMAND", ssh.command(with_key=False).replace(f"-F {ssh.config}", "-F /dev/null"))
    assert ls_remote(url).returncode != 0
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 1 and "authentication failed" in one_line(r.err)
    # the key file named on GIT_SSH_COMMAND: works
    monkeypatch.setenv("GIT_SSH_COMMAND", ssh.command(with_key=True).replace(f"-F {ssh.config}", "-F /dev/null"))
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert_verified(mr, 1)


# --------------------------------------------------------------------------- HTTP(S)


@pytest.fixture
def served_http(wire_root: Path, tmp_path: Path) -> tuple[Path, str]:
    """A model project in the folder the HTTP servers serve: (its path, its name there)."""
    name = f"{tmp_path.name}"
    return make_project(wire_root / name), name


def test_http_credential_helper_store(
    registry: Path,
    isolated_git: Path,
    http_auth_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = http_auth_server.url(name)
    store = isolated_git / "credentials"
    store.write_text(f"http://alice:wonderland-42@127.0.0.1:{http_auth_server.port}\n")
    # no credentials anywhere: refused, as git is
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 1 and "authentication failed" in one_line(r.err)
    git_config(isolated_git, "credential.helper", f"store --file={store}")
    assert ls_remote(url).returncode == 0
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert_verified(mr, 1)


def test_registry_read_over_authenticated_http(
    registry: Path,
    project: Path,
    isolated_git: Path,
    wire_root: Path,
    tmp_path: Path,
    http_auth_server: GitHTTPServer,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    api.link("models/rf", source_project=str(project), target="a", absolute=True)
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link a")
    served = wire_root / f"{tmp_path.name}-registry.git"
    git(tmp_path, "clone", "-q", "--bare", str(registry), str(served))
    url = http_auth_server.url(served.name)
    r = mr("verify", "--registry", url)
    assert r.code == 1
    assert one_line(r.err) == (
        f"mr: error: cannot fetch the registry {url}: authentication failed: configure a git credential "
        "helper (or http.extraHeader) for it, or load the SSH key into ssh-agent"
    )
    store = isolated_git / "credentials"
    store.write_text(f"http://alice:wonderland-42@127.0.0.1:{http_auth_server.port}\n")
    git_config(isolated_git, "credential.helper", f"store --file={store}")
    # the registry came from a remote: its link to a path here is followed only when trusted
    r = mr("verify", "--registry", url)
    assert r.code == 1 and "--allow-local-projects" in r.out
    r = mr("verify", "--registry", url, "--allow-local-projects")
    assert (r.code, r.out) == (0, "ok: 1 link checked, 0 failed\npolicy: dev (the checked-out branch)\n"), r.err
    r = mr("show", "--registry", url, "--allow-local-projects")
    assert r.code == 0 and f"a     model  {project}  models/rf.mlem  main  branch" in r.out


def test_http_missing_repository(registry: Path, http_server: GitHTTPServer, mr) -> None:  # type: ignore[no-untyped-def]
    url = http_server.url("no-such-repository.git")
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 1
    assert one_line(r.err) == f"mr: error: cannot fetch {url}: no git repository there (or no access to it)"
    assert cache_entries() == [] and leftovers() == []


def test_http_wrong_stored_password_is_rejected_and_forgotten(
    registry: Path,
    isolated_git: Path,
    http_auth_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = http_auth_server.url(name)
    store = isolated_git / "credentials"
    bad = f"http://alice:not-the-password@127.0.0.1:{http_auth_server.port}\n"
    kept = "https://bob:other@git.example.com\n"
    store.write_text(bad + kept)
    git_config(isolated_git, "credential.helper", f"store --file={store}")
    write_link(registry, "rf", url)
    r = mr("verify")
    assert r.code == 1
    assert f"rf.mlem:4: error: cannot check: cannot fetch {url}: authentication failed" in r.out
    assert "not-the-password" not in r.out + r.err
    # git's `credential reject` removed the bad entry, and only it
    assert store.read_text() == kept


@pytest.mark.parametrize("how", ["GIT_ASKPASS", "core.askPass"])
def test_http_askpass_program(
    how: str,
    registry: Path,
    isolated_git: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_auth_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = http_auth_server.url(name)
    asked = tmp_path / "asked"
    script = tmp_path / "askpass.sh"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> {asked}\n'
        'case "$1" in Username*) echo alice ;; Password*) echo wonderland-42 ;; esac\n'
    )
    script.chmod(0o755)
    if how == "GIT_ASKPASS":
        monkeypatch.setenv("GIT_ASKPASS", str(script))
    else:
        git_config(isolated_git, "core.askPass", str(script))
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    prompts = asked.read_text()
    assert "Username for 'http://127.0.0.1:" in prompts and "Password for 'http://alice@127.0.0.1:" in prompts
    assert_verified(mr, 1)


@pytest.mark.parametrize("scoped", [False, True], ids=["http.extraHeader", "http.<url>.extraHeader"])
def test_http_extra_header(
    scoped: bool,
    registry: Path,
    isolated_git: Path,
    http_header_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = http_header_server.url(name)
    write_link(registry, "rf", url)
    # without the header: refused, as git is
    assert ls_remote(url).returncode != 0
    r = mr("verify")
    assert r.code == 1 and "authentication failed" in r.out
    key = f"http.{http_header_server.base}.extraHeader" if scoped else "http.extraHeader"
    git_config(isolated_git, key, "X-Mr-Token: sesame")
    assert ls_remote(url).returncode == 0
    assert_verified(mr, 1)
    if scoped:
        # scoped to another URL, the header is not sent
        text = (isolated_git / ".gitconfig").read_text().replace(http_header_server.base, "http://127.0.0.2:1/")
        (isolated_git / ".gitconfig").write_text(text)
        shutil.rmtree(cache_dir())
        r = mr("verify")
        assert r.code == 1 and "authentication failed" in r.out


def test_https_self_signed_ca(
    registry: Path,
    isolated_git: Path,
    monkeypatch: pytest.MonkeyPatch,
    https_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = https_server.url(name)
    assert url.startswith("https://127.0.0.1:")
    # untrusted: one line naming the certificate and the setting that fixes it
    theirs = ls_remote(url)
    assert theirs.returncode != 0 and "certificate" in theirs.stderr
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 1
    line = one_line(r.err)
    assert "TLS certificate is not trusted" in line and "http.sslCAInfo" in line
    assert cache_entries() == []
    # GIT_SSL_CAINFO
    monkeypatch.setenv("GIT_SSL_CAINFO", str(https_server.ca_file))
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert_verified(mr, 1)
    monkeypatch.delenv("GIT_SSL_CAINFO")
    shutil.rmtree(cache_dir())
    r = mr("verify")
    assert r.code == 1 and "TLS certificate is not trusted" in r.out
    # http.sslCAInfo
    git_config(isolated_git, "http.sslCAInfo", str(https_server.ca_file))
    assert_verified(mr, 1)


def test_https_ssl_verify_false(
    registry: Path,
    isolated_git: Path,
    https_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = https_server.url(name)
    write_link(registry, "rf", url)
    r = mr("verify")
    assert r.code == 1 and "TLS certificate is not trusted" in r.out
    git_config(isolated_git, f"http.{https_server.base}.sslVerify", "false")
    assert ls_remote(url).returncode == 0
    assert_verified(mr, 1)


@pytest.mark.parametrize("how", ["http.proxy", "http_proxy"])
def test_http_proxy(
    how: str,
    registry: Path,
    isolated_git: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_proxy: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = http_proxy.url(name)
    assert url.startswith("http://git.internal.invalid/")
    write_link(registry, "rf", url)
    # without the proxy the host does not resolve
    assert ls_remote(url).returncode != 0
    r = mr("verify")
    assert r.code == 1 and "the host name does not resolve" in r.out and "http.proxy" in r.out
    requests = http_proxy.counters.requests
    proxy = f"http://127.0.0.1:{http_proxy.port}"
    if how == "http.proxy":
        git_config(isolated_git, "http.proxy", proxy)
    else:
        monkeypatch.setenv("http_proxy", proxy)
    assert ls_remote(url).returncode == 0
    assert_verified(mr, 1)
    assert http_proxy.counters.requests > requests + 1
    assert f"GET http://git.internal.invalid/{name}/info/refs?service=git-upload-pack" in http_proxy.counters.paths


def test_no_proxy_bypasses_the_proxy(
    registry: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_proxy: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    write_link(registry, "rf", http_proxy.url(name))
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{http_proxy.port}")
    monkeypatch.setenv("no_proxy", "git.internal.invalid")
    http_proxy.counters.reset()
    r = mr("verify")
    assert r.code == 1 and "the host name does not resolve" in r.out
    assert http_proxy.counters.requests == 0


# HTTPS through a CONNECT proxy: the proxy alone reaches git.internal.invalid
# (a name that never resolves) and tunnels to https_server, whose certificate
# is valid for that name; TLS is between git and the server, through the tunnel.

NO_RESOLVE = "the host name does not resolve (check the URL, and http.proxy for a proxy)"
UNTRUSTED = "the server's TLS certificate is not trusted: check http.sslCAInfo or GIT_SSL_CAINFO"
PROXY_407 = (
    "the proxy refused its credentials (407 Proxy Authentication Required): "
    "check the user name and password in http.proxy or https_proxy"
)


def use_proxy(how: str, proxy: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point git at ``proxy`` for https:// URLs the way ``how`` names: a git setting or an environment variable."""
    if how == "http.proxy":
        git_config(home, "http.proxy", proxy)
    else:
        monkeypatch.setenv(how, proxy)


def registry_untouched(registry: Path) -> bool:
    return not (registry / "rf.mlem").exists() and git(registry, "status", "--porcelain") == ""


@pytest.mark.parametrize("how", ["http.proxy", "https_proxy", "HTTPS_PROXY"])
def test_https_through_connect_proxy(
    how: str,
    registry: Path,
    isolated_git: Path,
    monkeypatch: pytest.MonkeyPatch,
    https_server: GitHTTPServer,
    connect_proxy: ConnectProxy,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = f"https://{PROXIED_HOST}/{name}"
    git_config(isolated_git, "http.sslCAInfo", str(https_server.ca_file))
    write_link(registry, "rf", url)
    connect_proxy.log.reset()
    # without the proxy the host does not resolve, and the proxy hears nothing
    assert ls_remote(url).returncode != 0
    r = mr("verify")
    assert r.code == 1
    assert f"rf.mlem:4: error: cannot check: cannot fetch {url}: {NO_RESOLVE}" in r.out
    assert connect_proxy.log.requests == []
    use_proxy(how, connect_proxy.url(), isolated_git, monkeypatch)
    assert ls_remote(url).returncode == 0
    connect_proxy.log.reset()
    assert_verified(mr, 1)
    # every connection was a tunnel to that name, each one opened
    connects = connect_proxy.log.connects
    assert len(connects) >= 1 and set(connects) == {f"{PROXIED_HOST}:443"}
    assert connect_proxy.log.answers == [f"200 {PROXIED_HOST}:443"] * len(connects)
    assert connect_proxy.log.tunnels == len(connects)


def test_tls_is_verified_through_the_connect_proxy(
    registry: Path,
    monkeypatch: pytest.MonkeyPatch,
    https_server: GitHTTPServer,
    connect_proxy: ConnectProxy,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = f"https://{PROXIED_HOST}/{name}"
    monkeypatch.setenv("https_proxy", connect_proxy.url())
    connect_proxy.log.reset()
    # the CA is not trusted: the tunnel opens, then git refuses the server's certificate
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert (r.code, r.out) == (1, "")
    assert one_line(r.err) == f"mr: error: cannot fetch {url}: {UNTRUSTED}"
    assert connect_proxy.log.answers == [f"200 {PROXIED_HOST}:443"]
    assert registry_untouched(registry)
    assert cache_entries() == [] and leftovers() == []
    # trusted: the same through the same proxy works
    monkeypatch.setenv("GIT_SSL_CAINFO", str(https_server.ca_file))
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert f"project: {url}\n" in (registry / "rf.mlem").read_text()


def test_connect_proxy_stops_with_a_tunnel_open() -> None:
    """The proxy's teardown ends open tunnels and joins every thread it started, promptly."""
    before = set(threading.enumerate())
    with socket.create_server(("127.0.0.1", 0)) as server:
        proxy = ConnectProxy({f"{PROXIED_HOST}:443": server.getsockname()[1]})
        proxy.start()
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        server.settimeout(10)
        upstream: socket.socket | None = None
        try:
            client.sendall(f"CONNECT {PROXIED_HOST}:443 HTTP/1.1\r\nHost: {PROXIED_HOST}:443\r\n\r\n".encode())
            assert client.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
            upstream, _ = server.accept()
            upstream.settimeout(10)
            # bytes go both ways through the tunnel
            client.sendall(b"ping")
            assert upstream.recv(4096) == b"ping"
            upstream.sendall(b"pong")
            assert client.recv(4096) == b"pong"
            proxy.stop()
            # both ends of the tunnel were closed (each recv would wait 10 s for bytes that never come)
            assert client.recv(4096) == b"" and upstream.recv(4096) == b""
        finally:
            client.close()
            if upstream is not None:
                upstream.close()
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    assert proxy.log.requests == [f"CONNECT {PROXIED_HOST}:443"] and proxy.log.tunnels == 1


@pytest.mark.parametrize("how", ["http.proxy", "https_proxy"])
def test_connect_proxy_with_authentication(
    how: str,
    registry: Path,
    isolated_git: Path,
    monkeypatch: pytest.MonkeyPatch,
    https_server: GitHTTPServer,
    connect_proxy_auth: ConnectProxy,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = f"https://{PROXIED_HOST}/{name}"
    monkeypatch.setenv("GIT_SSL_CAINFO", str(https_server.ca_file))
    proxy = connect_proxy_auth
    # no credentials for the proxy: 407, in one line
    with monkeypatch.context() as m:
        m.setenv("https_proxy", proxy.url())
        proxy.log.reset()
        r = mr("link", "--sp", url, "models/rf", "rf")
        assert (r.code, r.out) == (1, "")
        assert one_line(r.err) == f"mr: error: cannot fetch {url}: {PROXY_407}"
        assert proxy.log.tunnels == 0 and set(proxy.log.answers) == {f"407 {PROXIED_HOST}:443"}
    # wrong credentials: the same, and the wrong password is not shown
    with monkeypatch.context() as m:
        m.setenv("https_proxy", proxy.url(PROXY_USER, "wrong-proxy-pw-31"))
        r = mr("link", "--sp", url, "models/rf", "rf")
        assert (r.code, r.out) == (1, "")
        assert one_line(r.err) == f"mr: error: cannot fetch {url}: {PROXY_407}"
        assert "wrong-proxy-pw-31" not in r.err
    assert registry_untouched(registry)
    assert cache_entries() == [] and leftovers() == []
    # the right ones, in the proxy URL
    use_proxy(how, proxy.url(PROXY_USER, PROXY_PASSWORD), isolated_git, monkeypatch)
    proxy.log.reset()
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert_verified(mr, 1)
    assert proxy.log.tunnels >= 1 and set(proxy.log.connects) == {f"{PROXIED_HOST}:443"}
    assert f"200 {PROXIED_HOST}:443" in proxy.log.answers
    # the proxy's password is in no output, link file or cache file (its git configs included)
    assert PROXY_PASSWORD not in r.out + r.err
    assert PROXY_PASSWORD not in (registry / "rf.mlem").read_text()
    files = [p for p in cache_dir().rglob("*") if p.is_file()]
    assert [p for p in files if p.name == "config"] != []
    assert [p for p in files if PROXY_PASSWORD.encode() in p.read_bytes()] == []
    # verify fetching afresh with a wrong password set the same way (the last
    # http.proxy wins): the 407 line for the link, and neither password shown
    shutil.rmtree(cache_dir())
    use_proxy(how, proxy.url(PROXY_USER, "wrong-proxy-pw-31"), isolated_git, monkeypatch)
    r = mr("verify")
    assert r.code == 1
    assert f"rf.mlem:4: error: cannot check: cannot fetch {url}: {PROXY_407}" in r.out
    assert "wrong-proxy-pw-31" not in r.out + r.err and PROXY_PASSWORD not in r.out + r.err


def test_connect_proxy_refuses_other_hosts(
    registry: Path,
    monkeypatch: pytest.MonkeyPatch,
    connect_proxy: ConnectProxy,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    url = f"https://elsewhere.invalid/{name}"
    monkeypatch.setenv("https_proxy", connect_proxy.url())
    connect_proxy.log.reset()
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert (r.code, r.out) == (1, "")
    assert one_line(r.err) == (
        f"mr: error: cannot fetch {url}: the proxy refused to open a tunnel to the host (CONNECT answered 403): "
        "check http.proxy, https_proxy and no_proxy"
    )
    assert connect_proxy.log.answers == ["403 elsewhere.invalid:443"]
    assert registry_untouched(registry)


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        # curl before 7.74 words a refused CONNECT this way
        ("fatal: unable to access 'https://h/x/': Received HTTP code 407 from proxy after CONNECT\n", PROXY_407),
        (
            "fatal: unable to access 'https://h/x/': Received HTTP code 502 from proxy after CONNECT\n",
            "the proxy refused to open a tunnel to the host (CONNECT answered 502): "
            "check http.proxy, https_proxy and no_proxy",
        ),
    ],
)
def test_older_curl_proxy_refusals_are_explained(stderr: str, expected: str) -> None:
    from mr.transport import explain

    assert explain(stderr, "https://h/x") == expected


def test_push_over_http_with_credential_helper_and_push_insteadof(
    registry: Path,
    isolated_git: Path,
    project: Path,
    wire_root: Path,
    tmp_path: Path,
    http_auth_server: GitHTTPServer,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "link a")
    remote = wire_root / f"{tmp_path.name}-registry.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(registry, "push", "-q", str(remote), "dev", "staging", "production")
    before = git(remote, "rev-parse", "staging")
    # the remote's URL is rewritten for fetching (insteadOf: --push fetches the
    # stage first) and, by pushInsteadOf, for pushing; the message names the push URL
    git(registry, "remote", "add", "origin", f"https://github.com/acme/{remote.name}")
    fetch_base = http_auth_server.base.replace("127.0.0.1", "localhost")
    git_config(isolated_git, f"url.{fetch_base}.insteadOf", "https://github.com/acme/")
    git_config(isolated_git, f"url.{http_auth_server.base}.pushInsteadOf", "https://github.com/acme/")
    store = isolated_git / "credentials"
    store.write_text(
        f"http://alice:wonderland-42@127.0.0.1:{http_auth_server.port}\n"
        f"http://alice:wonderland-42@localhost:{http_auth_server.port}\n"
    )
    git_config(isolated_git, "credential.helper", f"store --file={store}")
    r = mr("promote", "a", "--to", "staging", "--push", "origin", "--yes")
    assert r.code == 0, r.out + r.err
    assert f"pushed staging to {http_auth_server.url(remote.name)}" in r.out
    after = git(remote, "rev-parse", "staging")
    assert after != before and after == git(registry, "rev-parse", "staging")
    assert "wonderland-42" not in r.out + r.err


def test_url_insteadof_maps_a_hosting_url_onto_the_local_server(
    registry: Path,
    isolated_git: Path,
    http_server: GitHTTPServer,
    wire_root: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    org = f"acme-{tmp_path.name}"
    mono = wire_root / org / "mono"
    mono.mkdir(parents=True)
    git(mono, "init", "-q", "-b", "main")
    commit(mono, {"ml/.mlem.yaml": "", "ml/models/rf.mlem": MODEL, "service/main.py": "print()\n"}, "mono")
    git_config(isolated_git, f"url.{http_server.base}{org}/.insteadOf", f"https://github.com/{org}/")
    project = f"https://github.com/{org}/mono/tree/main/ml"
    assert ls_remote(f"https://github.com/{org}/mono").returncode == 0
    r = mr("link", "--sp", project, "models/rf", "rf")
    assert r.code == 0, r.err
    text = (registry / "rf.mlem").read_text()
    assert f"project: {project}\n" in text and "path: models/rf.mlem\n" in text
    assert_verified(mr, 1)
    assert f"GET /{org}/mono/info/refs?service=git-upload-pack" in http_server.counters.paths


def test_password_in_url_is_used_but_never_shown_or_stored(
    registry: Path,
    isolated_git: Path,
    http_auth_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    clean = http_auth_server.url(name)
    url = clean.replace("http://", "http://alice:wonderland-42@")
    git_config(isolated_git, "credential.helper", f"store --file={isolated_git / 'credentials'}")
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 0, r.err
    assert "wonderland-42" not in r.out + r.err
    text = (registry / "rf.mlem").read_text()
    assert f"project: {clean}\n" in text and "wonderland-42" not in text
    # nowhere under the cache, and not handed to the user's credential store
    files = [p for p in cache_dir().rglob("*") if p.is_file()]
    assert len(files) > 5
    assert [p for p in files if b"wonderland-42" in p.read_bytes()] == []
    assert not (isolated_git / "credentials").exists()
    # a wrong password in the URL: refused, and not printed either
    r = mr("link", "--sp", url.replace("wonderland-42", "bad-secret-7"), "models/rf", "rf2")
    assert r.code == 1 and "authentication failed" in one_line(r.err)
    assert "bad-secret-7" not in r.out + r.err


def test_token_as_user_name_in_url_is_used_but_never_shown_or_stored(
    registry: Path,
    http_token_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, name = served_http
    token = "ghp_wiretoken0123456789"
    clean = http_token_server.url(name)
    r = mr("link", "--sp", clean, "models/rf", "rf")
    assert r.code == 1 and "authentication failed" in one_line(r.err)
    r = mr("link", "--sp", clean.replace("http://", f"http://{token}@"), "models/rf", "rf")
    assert r.code == 0, r.err
    assert token not in r.out + r.err
    assert f"project: {clean}\n" in (registry / "rf.mlem").read_text()
    assert [p for p in cache_dir().rglob("*") if p.is_file() and token.encode() in p.read_bytes()] == []


def test_password_in_url_never_on_a_git_command_line(
    registry: Path,
    project: Path,
    wire_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_auth_server: GitHTTPServer,
    served_http: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    """Other users of the machine can read every process's argv: a password must never be on one."""
    argvs: list[list[str]] = []
    real = subprocess.Popen

    def recording(args, *a, **kw):  # type: ignore[no-untyped-def]
        argvs.append([str(x) for x in args])
        return real(args, *a, **kw)

    from mr import gitexe

    monkeypatch.setattr(gitexe.subprocess, "Popen", recording)
    _, name = served_http
    secret = "wonderland-42"
    r = mr("link", "--sp", http_auth_server.url(name).replace("http://", f"http://alice:{secret}@"), "models/rf", "rf")
    assert r.code == 0, r.err
    # and pushing to a URL that carries it
    api.link("models/rf", source_project=str(project), target="a")
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "links")
    remote = wire_root / f"{tmp_path.name}-registry.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(registry, "push", "-q", str(remote), "dev", "staging", "production")
    push_to = http_auth_server.url(remote.name).replace("http://", f"http://alice:{secret}@")
    r = mr("promote", "a", "--to", "staging", "--push", push_to, "--yes")
    assert r.code == 0, r.out + r.err
    assert f"pushed staging to http://alice:***@127.0.0.1:{http_auth_server.port}/{remote.name}" in r.out
    assert git(remote, "rev-parse", "staging") == git(registry, "rev-parse", "staging")
    assert secret not in r.out + r.err
    assert len(argvs) >= 3
    assert [a for a in argvs if any(secret in x for x in a)] == []


# --------------------------------------------------------------------------- fetching what is read

BIG_COMMITS = 30
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def big_history(wire_root: Path) -> tuple[Path, list[str]]:
    """A bare source of 30 commits, each with a distinct 1 MiB random model binary: (path, commit shas)."""
    path = wire_root / "big.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    stream = bytearray()
    for i in range(1, BIG_COMMITS + 1):
        blob = os.urandom(MIB)
        meta = f"{MODEL}# version {i}\n".encode()
        stream += b"blob\nmark :%d\ndata %d\n" % (i, len(blob)) + blob + b"\n"
        message = b"model %d" % i
        stream += b"commit refs/heads/main\nmark :%d\n" % (1000 + i)
        stream += b"committer Test <t@example.com> %d +0000\n" % (1_700_000_000 + i)
        stream += b"data %d\n%s\n" % (len(message), message)
        if i > 1:
            stream += b"from :%d\n" % (999 + i)
        else:
            stream += b"M 100644 inline .mlem.yaml\ndata 0\n\n"
        stream += b"M 100644 :%d models/weights.bin\n" % i
        stream += b"M 100644 inline models/rf.mlem\ndata %d\n%s\n" % (len(meta), meta)
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(stream), cwd=path, check=True, timeout=120)
    shas = git(path, "rev-list", "--reverse", "main").split()
    assert len(shas) == BIG_COMMITS
    return path, shas


def packs(entry: Path) -> list[str]:
    return sorted(p.name for p in (entry / "objects" / "pack").glob("*.pack")) + sorted(
        str(p.relative_to(entry)) for p in (entry / "objects").glob("??/*")
    )


def test_first_verify_fetches_what_is_read_not_the_history(
    registry: Path,
    http_server: GitHTTPServer,
    big_history: tuple[Path, list[str]],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    path, shas = big_history
    history = tree_size(path)
    assert history > 25 * MIB
    url = http_server.url("big.git")
    write_link(registry, "latest", url)
    write_link(registry, "first", url, rev=shas[0])  # an old version: one more blob, fetched lazily
    assert_verified(mr, 2)
    entry = Path(cache_path(url))
    assert entry.is_dir()
    size = tree_size(cache_dir())
    assert size < 3 * MIB, f"cache holds {size} bytes of a {history}-byte history"
    # the commits and trees are all there; the binaries are not
    assert git(entry, "rev-list", "--count", "main") == str(BIG_COMMITS)
    assert git(entry, "cat-file", "-e", f"{shas[0]}:models/rf.mlem") == ""
    missing = {
        m[1:] for m in git(entry, "rev-list", "--objects", "--missing=print", "main").splitlines() if m.startswith("?")
    }
    blobs = {
        line.split()[0]
        for line in git(
            path, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"
        ).splitlines()
        if line.endswith(" blob")
    }
    assert len(blobs) == 2 * BIG_COMMITS + 1
    read = {git(path, "rev-parse", f"{rev}:models/rf.mlem") for rev in ("main", shas[0])}
    assert blobs - missing == read  # exactly the two meta files verify read
    # nothing changed: the next run lists the refs and fetches nothing
    before = packs(entry)
    http_server.counters.reset()
    assert_verified(mr, 2)
    assert packs(entry) == before
    assert http_server.counters.bytes_sent < 16 * 1024, http_server.counters
    # one listing (protocol v2: the advertisement, then ls-refs), no fetch
    assert [p.split("?")[0] for p in http_server.counters.paths] == [
        "GET /big.git/info/refs",
        "POST /big.git/git-upload-pack",
    ]


def test_server_without_filter_support_still_works(
    registry: Path,
    wire_daemon: GitDaemon,
    big_history: tuple[Path, list[str]],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    path, shas = big_history
    url = wire_daemon.url("big.git")
    write_link(registry, "latest", url)
    write_link(registry, "first", url, rev=shas[0])
    assert_verified(mr, 2)
    entry = Path(cache_path(url))
    # git daemon without uploadpack.allowFilter sends everything: a full clone, and it works
    assert tree_size(entry) > 25 * MIB
    missing = git(entry, "rev-list", "--objects", "--missing=print", "main").splitlines()
    assert [m for m in missing if m.startswith("?")] == []
    before = packs(entry)
    assert_verified(mr, 2)
    assert packs(entry) == before


def test_partial_cache_offline_then_old_versions_fetched_on_demand(
    registry: Path,
    http_server: GitHTTPServer,
    big_history: tuple[Path, list[str]],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    path, shas = big_history
    url = http_server.url("big.git")
    write_link(registry, "latest", url)
    assert_verified(mr, 1)
    old = shas[:-1]
    for i, sha in enumerate(old):
        write_link(registry, f"v{i + 1}", url, rev=sha)
    # offline, the versions never read are reported as not cached (never fetched, never a traceback)
    r = mr("verify", "--offline")
    assert r.code == 1 and "Traceback" not in r.out + r.err
    assert f"v1.mlem:3: error: {url}: models/rf.mlem at {shas[0][:12]} is not in the cache (offline)" in r.out, r.out
    assert f"failed: {BIG_COMMITS} links checked, {BIG_COMMITS - 1} failed" in r.out
    # online, they are fetched in one request (one round trip, not one per link), and only they
    http_server.counters.reset()
    assert_verified(mr, BIG_COMMITS)
    listing = ["GET /big.git/info/refs", "POST /big.git/git-upload-pack"]
    assert [p.split("?")[0] for p in http_server.counters.paths] == listing + listing
    assert http_server.counters.gzip_requests == 1  # 29 wants: git compresses that request body
    assert tree_size(cache_dir()) < 3 * MIB
    entry = Path(cache_path(url))
    for sha in shas:
        assert git(entry, "cat-file", "-t", f"{sha}:models/rf.mlem") == "blob"
    assert_verified(mr, BIG_COMMITS, "--offline")


# --------------------------------------------------------------------------- trickling remotes


def run_mr(registry: Path, *args: str, timeout: str) -> subprocess.Popen[str]:
    """``mr ARGS`` in a process of its own, in ``registry``, with MR_GIT_TIMEOUT=timeout.

    SIGINT is set back to its default first: a test run started in the
    background of a shell inherits it ignored, and the tests press Ctrl-C.
    """
    return subprocess.Popen(
        ["env", "--default-signal=INT", sys.executable, "-m", "mr", *args],
        cwd=registry,
        env={**os.environ, "MR_GIT_TIMEOUT": timeout},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def lock_held(lock: Path) -> bool:
    if not lock.exists():
        return False
    with open(lock, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("server", ["trickler", "stalled_pkt_line"])
def test_trickling_remote_times_out(
    server: str,
    registry: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    remote: Trickler = request.getfixturevalue(server)
    monkeypatch.setenv("MR_GIT_TIMEOUT", "2")
    url = remote.url()
    write_link(registry, "slow", url)
    started = time.monotonic()
    r = mr("verify")
    elapsed = time.monotonic() - started
    assert r.code == 1
    # the server trickles forever: only the deadline ends the fetch, and it says so
    assert f"slow.mlem:4: error: cannot check: cannot fetch {url}: timed out after 2 s" in r.out
    assert "MR_GIT_TIMEOUT" in r.out
    assert elapsed >= 1.5, elapsed  # not before the deadline
    assert remote.connections >= 1
    assert cache_entries() == [] and leftovers() == []


def test_second_mr_waiting_on_the_cache_lock_gives_up_in_time(registry: Path, trickler: Trickler) -> None:
    url = trickler.url()
    write_link(registry, "slow", url)
    lock = Path(cache_path(url) + ".lock")
    first = run_mr(registry, "verify", timeout="120")
    try:
        wait_for(lambda: lock_held(lock))
        second = run_mr(registry, "verify", timeout="2")
        out2, err2 = second.communicate(timeout=60)
        # the second gave up on its own deadline while the first still held the lock
        assert first.poll() is None and lock_held(lock)
        first.send_signal(signal.SIGINT)
        _, err1 = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=10)
    assert second.returncode == 1 and "Traceback" not in err2
    assert (
        f"cannot fetch {url}: another mr has been fetching it into the cache for 2 s; try again when it is done" in out2
    )
    assert first.returncode == 130 and "Traceback" not in err1
    assert cache_entries() == [] and leftovers() == []


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_folder_of_a_killed_mr_is_swept_on_the_next_run(registry: Path, trickler: Trickler) -> None:
    url = trickler.url()
    write_link(registry, "slow", url)
    killed = run_mr(registry, "verify", timeout="60")
    tmp = Path(f"{cache_path(url)}.tmp-{killed.pid}")
    try:
        wait_for(lambda: tmp.exists() and bool(_children(killed.pid)))
        gits = _children(killed.pid)
    finally:
        killed.kill()
        killed.communicate(timeout=10)
    for pid in gits:  # git runs in a session of its own: end it too
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert tmp.exists() and leftovers() == [str(tmp)]
    again = run_mr(registry, "verify", timeout="1")
    out, err = again.communicate(timeout=30)
    assert again.returncode == 1 and "timed out after 1 s" in out and "Traceback" not in err
    assert leftovers() == []


def test_interrupted_fetch_ends_git_and_leaves_nothing(registry: Path, trickler: Trickler) -> None:
    url = trickler.url()
    write_link(registry, "slow", url)
    proc = run_mr(registry, "verify", timeout="60")
    tmp = Path(f"{cache_path(url)}.tmp-{proc.pid}")
    gits: list[int] = []
    others: list[subprocess.Popen[str]] = []
    try:
        wait_for(lambda: tmp.exists() and bool(_children(proc.pid)))
        gits = _children(proc.pid)
        # a second mr waiting for the cache lock stops waiting at Ctrl-C too
        waiter = run_mr(registry, "verify", timeout="60")
        others.append(waiter)
        time.sleep(1.0)
        assert waiter.poll() is None and not _children(waiter.pid)
        # each waits up to MR_GIT_TIMEOUT (60 s) unless Ctrl-C ends it: it must end well before
        waiter.send_signal(signal.SIGINT)
        _, waiter_err = waiter.communicate(timeout=30)
        assert waiter.returncode == 130 and "mr: interrupted" in waiter_err, waiter_err
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=30)
    finally:
        for other in others:
            if other.poll() is None:
                other.kill()
                other.communicate(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
            for pid in gits:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert proc.returncode == 130 and "mr: interrupted" in err and "Traceback" not in err
    for pid in gits:  # git ran in a session of its own: mr must have ended it
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert leftovers() == []


# --------------------------------------------------------------------------- a damaged cache


def _delete_objects(entry: Path) -> None:
    shutil.rmtree(entry / "objects")


def _plain_file(entry: Path) -> None:
    shutil.rmtree(entry)
    entry.write_text("not a repository\n")


def _foreign(entry: Path) -> None:
    git(entry, "config", "remote.origin.url", "git://127.0.0.1:1/someone-else")


def _junk_head(entry: Path) -> None:
    (entry / "HEAD").write_text("junk\n")


@pytest.mark.parametrize(
    "damage",
    [_delete_objects, _plain_file, _foreign, _junk_head],
    ids=["no-objects", "plain-file", "foreign", "junk-head"],
)
def test_damaged_cache_entry_is_fetched_again_or_reported_offline(
    damage,
    registry: Path,
    project: Path,
    served: tuple[Path, str],
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, url = served
    write_link(registry, "remote", url)
    api.link("models/rf", source_project=str(project), target="local")
    assert_verified(mr, 2)
    entry = Path(cache_path(url))
    damage(entry)
    # offline: that project's link is reported, the others still pass
    r = mr("verify", "--offline")
    assert r.code == 1 and "Traceback" not in r.out + r.err
    assert (
        f"remote.mlem:4: error: cannot check: the cache of {url} is damaged ({entry}); run without --offline" in r.out
    )
    assert "failed: 2 links checked, 1 failed" in r.out
    assert "local.mlem" not in r.out
    r = mr("show", "--resolve", "--offline")
    assert r.code == 1 and "Traceback" not in r.err
    assert f"remote.mlem:5: error: the cache of {url} is damaged" in r.err
    # online: fetched again, and healthy
    sha = git(served[0], "rev-parse", "main")
    r = mr("show", "--resolve")
    assert r.code == 0 and f"remote  model  {url}  models/rf.mlem  main  branch  {sha[:12]}" in r.out, r.out + r.err
    assert_verified(mr, 2)
    assert (entry / "objects").is_dir()
    assert git(entry, "config", "remote.origin.url") == url
    assert git(entry, "rev-parse", "main") == sha
    assert leftovers() == []
    assert_verified(mr, 2, "--offline")


# --------------------------------------------------------------------------- refused before any fetch


@pytest.mark.parametrize("value", ["-5", "abc", "0", "nan"])
def test_bad_git_timeout_is_a_usage_error(
    value: str,
    registry: Path,
    served: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, url = served
    write_link(registry, "remote", url)
    monkeypatch.setenv("MR_GIT_TIMEOUT", value)
    r = mr("verify")
    assert r.code == 2 and "Traceback" not in r.err
    assert one_line(r.err) == f"mr: error: MR_GIT_TIMEOUT={value}: give a number of seconds above 0 (at most 86400)"
    assert cache_entries() == []
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 2 and "MR_GIT_TIMEOUT" in one_line(r.err)
    assert not (registry / "rf.mlem").exists()


def test_cache_dir_that_is_a_file_is_a_usage_error(
    registry: Path,
    served: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    _, url = served
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("MR_CACHE_DIR", str(not_a_folder))
    write_link(registry, "remote", url)
    r = mr("verify")
    assert r.code == 2 and "Traceback" not in r.err
    assert f"MR_CACHE_DIR={not_a_folder}: not a folder" in one_line(r.err)
    assert not_a_folder.read_text() == "x"
    r = mr("link", "--sp", url, "models/rf", "rf")
    assert r.code == 2 and "MR_CACHE_DIR" in one_line(r.err)
    assert not (registry / "rf.mlem").exists()


def test_non_git_project_is_refused_in_one_line(registry: Path, mr) -> None:  # type: ignore[no-untyped-def]
    before = sorted(p.name for p in registry.iterdir())
    r = mr("link", "--sp", "s3://bucket/p", "models/rf", "rf")
    assert r.code == 1 and r.out == ""
    line = one_line(r.err)
    assert "s3://bucket/p" in line and "mr follows links into git projects only" in line
    assert sorted(p.name for p in registry.iterdir()) == before
    assert not cache_dir().exists() or cache_entries() == []
    # the same project in a link file: that link is reported, on its line
    write_link(registry, "s3", "s3://bucket/p")
    r = mr("verify")
    assert r.code == 1 and "s3.mlem:4: error:" in r.out and "mr follows links into git projects only" in r.out
    assert "Traceback" not in r.out + r.err


def test_ext_transport_never_runs_its_command(
    registry: Path,
    isolated_git: Path,
    tmp_path: Path,
    mr,  # type: ignore[no-untyped-def]
) -> None:
    marker = tmp_path / "RAN"
    # even where the user's git config allows ext::, mr does not let a link name a command
    git_config(isolated_git, "protocol.ext.allow", "always")
    spec = f"ext::sh -c touch% {marker}"
    r = mr("link", "--sp", spec, "models/rf", "rf")
    assert r.code == 1 and "Traceback" not in r.err
    assert "mr fetches only file, git, http, https and ssh URLs" in one_line(r.err)
    write_link(registry, "ext", f"'{spec}'")
    r = mr("verify")
    assert r.code == 1 and "ext.mlem:4: error:" in r.out
    time.sleep(0.2)
    assert not marker.exists()
    assert not (registry / "rf.mlem").exists()
    # the control: git itself, with this configuration, does run it
    ls_remote(spec)
    assert marker.exists()
