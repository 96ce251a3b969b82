"""Real servers on 127.0.0.1 for the wire tests: smart HTTP(S), proxies, sshd, trickling TCP.

Every server binds a free port on 127.0.0.1, waits a bounded time to come up,
and is stopped by its fixture's teardown. Nothing here touches the internet.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import os
import selectors
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.conftest import GitDaemon

#: Configuration every served repository gets, whoever serves it: partial
#: clones (``--filter``) and lazy fetches of single blobs.
SERVE_CONFIG = {"uploadpack.allowFilter": "true", "uploadpack.allowAnySHA1InWant": "true"}


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


def _config_parameters(config: dict[str, str]) -> str:
    return " ".join(f"'{key}={value}'" for key, value in config.items())


# --------------------------------------------------------------------------- HTTP


@dataclass
class Counters:
    """What an HTTP server saw, for assertions."""

    requests: int = 0
    bytes_sent: int = 0
    #: requests whose body git sent gzip-compressed
    gzip_requests: int = 0
    #: "METHOD path" of each request, in order
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.bytes_sent = 0
            self.gzip_requests = 0
            self.paths = []


class GitHTTPServer:
    """``git http-backend`` behind a small threaded HTTP server.

    - ``user``/``password``: HTTP Basic auth required (401 with
      ``WWW-Authenticate: Basic`` otherwise);
    - ``header``: a ``(name, value)`` every request must carry (``http.extraHeader``);
    - ``tls``: serve HTTPS with a certificate signed by a CA made here
      (``ca_file`` is that CA's certificate);
    - ``proxy``: act as an HTTP proxy for ``proxy_host``, a name that does not
      resolve: only absolute-URI requests for it are served.
    """

    def __init__(
        self,
        root: Path,
        *,
        user: str | None = None,
        password: str | None = None,
        header: tuple[str, str] | None = None,
        tls_dir: Path | None = None,
        proxy_host: str | None = None,
    ) -> None:
        self.root = root
        self.user = user
        self.password = password
        self.header = header
        self.tls_dir = tls_dir
        self.proxy_host = proxy_host
        self.ca_file: Path | None = None
        self.counters = Counters()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_dir is not None else "http"

    def url(self, name: str) -> str:
        host = self.proxy_host or "127.0.0.1"
        port = "" if self.proxy_host else f":{self.port}"
        return f"{self.scheme}://{host}{port}/{name}"

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/"

    def start(self) -> None:
        server = self
        context = None
        if self.tls_dir is not None:
            self.ca_file, cert, key = make_certificates(self.tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert), str(key))

        class Handler(_BackendHandler):
            owner = server

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def get_request(self):  # type: ignore[no-untyped-def]
                sock, addr = super().get_request()
                if context is not None:
                    # the handshake happens on first read, in the handler's thread
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, addr

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        _wait_for_port(self.port)

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


class _BackendHandler(BaseHTTPRequestHandler):
    owner: GitHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.owner.counters.lock:
            self.owner.counters.bytes_sent += len(body)

    def _serve(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not length and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        with owner.counters.lock:
            owner.counters.requests += 1
            owner.counters.paths.append(f"{self.command} {self.path}")

        target = self.path
        if owner.proxy_host is not None:
            parts = urlsplit(target)
            if parts.scheme != "http" or parts.hostname != owner.proxy_host:
                self._send(
                    502, [("Content-Type", "text/plain")], b"this proxy only reaches " + owner.proxy_host.encode()
                )
                return
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        elif "://" in target:
            self._send(400, [("Content-Type", "text/plain")], b"not a proxy")
            return

        remote_user = ""
        if owner.user is not None:
            expected = base64.b64encode(f"{owner.user}:{owner.password}".encode()).decode()
            if self.headers.get("Authorization", "") != f"Basic {expected}":
                self._send(401, [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")], b"no\n")
                return
            remote_user = owner.user
        if owner.header is not None:
            name, value = owner.header
            if self.headers.get(name) != value:
                self._send(401, [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")], b"no\n")
                return

        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
            with owner.counters.lock:
                owner.counters.gzip_requests += 1
        path, _, query = target.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(owner.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_PARAMETERS": _config_parameters(SERVE_CONFIG),
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": remote_user,
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        }
        if self.headers.get("Git-Protocol"):
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _ and b"\n\n" in proc.stdout:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name and name.lower() != "content-length":
                headers.append((name, value.strip()))
        self._send(status, headers, payload)

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()


#: The name the proxies alone reach: it never resolves (RFC 6761 ``.invalid``),
#: so a fetch that succeeds went through the proxy.
PROXIED_HOST = "git.internal.invalid"


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate it signs: (ca, cert, key).

    The certificate is valid for 127.0.0.1, localhost and ``PROXIED_HOST``
    (the name clients use when the server is reached through a CONNECT proxy).
    """
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "server.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:{PROXIED_HOST}\n"
    )

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=mr test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    return ca, cert, key


# --------------------------------------------------------------------------- CONNECT proxy


@dataclass
class ProxyLog:
    """What a CONNECT proxy saw, for assertions."""

    #: "METHOD target" of each request, in order (refused ones included)
    requests: list[str] = field(default_factory=list)
    #: "status target" of each answer, in order
    answers: list[str] = field(default_factory=list)
    #: tunnels opened to a server
    tunnels: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def connects(self) -> list[str]:
        """The targets of the CONNECT requests, in order."""
        with self.lock:
            return [r.split(" ", 1)[1] for r in self.requests if r.startswith("CONNECT ")]

    def reset(self) -> None:
        with self.lock:
            self.requests = []
            self.answers = []
            self.tunnels = 0


class ConnectProxy:
    """An HTTP proxy that only tunnels (``CONNECT``), and only to names it is given.

    ``routes`` maps ``host:port`` as the client asks for it to a port of
    127.0.0.1; the proxy never resolves a name itself, so a client that reached
    a server under a name that does not resolve went through it. Anything else
    is refused: another method with 405, another target with 403. With
    ``user``/``password``, a CONNECT without the matching
    ``Proxy-Authorization: Basic`` is answered 407 with ``Proxy-Authenticate``.
    """

    def __init__(self, routes: dict[str, int], *, user: str | None = None, password: str | None = None) -> None:
        self.routes = dict(routes)
        self.user = user
        self.password = password
        self.log = ProxyLog()
        self.port = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._stop = threading.Event()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The proxy's URL, as ``http.proxy`` or ``https_proxy`` take it, with credentials if given."""
        userinfo = f"{user}:{password}@" if user is not None else ""
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def start(self) -> None:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            # unbuffered: nothing the client sends after its request is left in a buffer
            rbufsize = 0

            def handle(self) -> None:
                proxy._handle(self.connection, self.rfile)

        class Server(socketserver.ThreadingTCPServer):
            # handler threads are joined by server_close(); stop() ends their sockets first
            daemon_threads = False
            block_on_close = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        _wait_for_port(self.port)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            # wakes a handler blocked reading from it
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._server is not None:
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _track(self, sock: socket.socket, keep: bool) -> None:
        with self._open_lock:
            if keep:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def _answer(self, client: socket.socket, status: str, target: str, headers: tuple[str, ...] = ()) -> None:
        with self.log.lock:
            self.log.answers.append(f"{status.split()[0]} {target}")
        lines = [f"HTTP/1.1 {status}", *headers]
        if not status.startswith("200"):
            lines.append("Content-Length: 0")
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def _handle(self, client: socket.socket, rfile: BinaryIO) -> None:
        self._track(client, True)
        client.settimeout(30)
        try:
            # requests on one connection until a tunnel opens: a client may retry
            # with credentials after a 407 on the same connection
            while not self._stop.is_set():
                request = rfile.readline(65537)
                if not request:
                    return
                headers: dict[str, str] = {}
                while True:
                    line = rfile.readline(65537)
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                parts = request.decode("latin-1").split()
                if len(parts) != 3:
                    self._answer(client, "400 Bad Request", "?", ("Connection: close",))
                    return
                method, target, _ = parts
                with self.log.lock:
                    self.log.requests.append(f"{method} {target}")
                if method != "CONNECT":
                    self._answer(client, "405 Method Not Allowed", target, ("Allow: CONNECT", "Connection: close"))
                    return
                if self.user is not None:
                    expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
                    if headers.get("proxy-authorization") != f"Basic {expected}":
                        self._answer(
                            client,
                            "407 Proxy Authentication Required",
                            target,
                            ('Proxy-Authenticate: Basic realm="mr test proxy"',),
                        )
                        continue
                port = self.routes.get(target.lower())
                if port is None:
                    self._answer(client, "403 Forbidden", target, ("Connection: close",))
                    return
                try:
                    upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
                except OSError:
                    self._answer(client, "502 Bad Gateway", target, ("Connection: close",))
                    return
                with self.log.lock:
                    self.log.tunnels += 1
                self._answer(client, "200 Connection established", target)
                self._relay(client, upstream)
                return
        except OSError:
            return
        finally:
            self._track(client, False)

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Bytes both ways until either side closes."""
        self._track(upstream, True)
        try:
            upstream.settimeout(30)
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ, upstream)
                selector.register(upstream, selectors.EVENT_READ, client)
                while not self._stop.is_set():
                    for key, _ in selector.select(timeout=0.2):
                        source = key.fileobj
                        assert isinstance(source, socket.socket)
                        data = source.recv(65536)
                        if not data:
                            return
                        destination: socket.socket = key.data
                        destination.sendall(data)
        except OSError:
            return
        finally:
            self._track(upstream, False)
            upstream.close()


# --------------------------------------------------------------------------- SSH


class SSHServer:
    """``sshd`` on a high port of 127.0.0.1, one authorised client key, running git as the current user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.user = _current_user()
        self.host_key = folder / "host_ed25519"
        self.client_key = folder / "client_ed25519"
        self.other_key = folder / "other_ed25519"
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def known_hosts_line(self, key: Path | None = None) -> str:
        """A known_hosts line for this server with ``key`` (default: its real host key)."""
        pub = (Path(f"{key or self.host_key}.pub")).read_text().split()
        return f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n"

    def start(self) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        self.folder.mkdir(parents=True, exist_ok=True)
        for key in (self.host_key, self.client_key, self.other_key):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", str(key)],
                check=True,
                capture_output=True,
                timeout=30,
            )
        authorized = self.folder / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        os.chmod(authorized, 0o600)
        self.port = _free_port()
        config = self.folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"PidFile {self.folder / 'sshd.pid'}\nAuthorizedKeysFile {authorized}\n"
            "UsePAM no\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            f"AllowUsers {self.user}\nLogLevel ERROR\n"
        )
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            _wait_for_port(self.port, self.proc)
        except RuntimeError as e:
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None and self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"sshd did not start: {e} {err}") from None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sshd_usable() -> str | None:
    """Why sshd cannot be run here, or None."""
    if shutil.which("sshd") is None and not os.path.exists("/usr/sbin/sshd"):
        return "sshd is not installed (.ci/run installs openssh-server)"
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "the ssh client is not installed (.ci/run installs openssh-client)"
    if os.getuid() != 0:
        return "sshd needs root to switch users"
    return None


# --------------------------------------------------------------------------- trickling TCP


class Trickler:
    """A TCP server that accepts, answers ``prefix`` at once, then one byte a second, forever.

    The bytes dripped are ``slow`` one by one, then ``drip`` over and over
    (none when ``drip`` is empty: the connection just stalls).
    """

    def __init__(self, prefix: bytes = b"", slow: bytes = b"", drip: bytes = b"") -> None:
        self.prefix = prefix
        self.slow = slow
        self.drip = drip
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, name: str = "repo") -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._thread.start()
        _wait_for_port(self.port)

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._clients.append(client)
            threading.Thread(target=self._trickle, args=(client,), daemon=True).start()

    def _trickle(self, client: socket.socket) -> None:
        try:
            client.settimeout(0.5)
            try:
                client.recv(4096)  # git's request, if any
            except OSError:
                pass
            if self.prefix:
                client.sendall(self.prefix)
            sent = 0
            while not self._stop.wait(1.0):
                if sent < len(self.slow):
                    client.sendall(self.slow[sent : sent + 1])
                    sent += 1
                elif self.drip:
                    client.sendall(self.drip)
        except OSError:
            pass

    def stop(self) -> None:
        self._stop.set()
        for client in self._clients:
            try:
                client.close()
            except OSError:
                pass
        self._sock.close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def wire_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the module's servers serve repositories from."""
    return tmp_path_factory.mktemp("wire-served")


def _http(root: Path, **options: object) -> Iterator[GitHTTPServer]:
    server = GitHTTPServer(root, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def http_server(wire_root: Path) -> Iterator[GitHTTPServer]:
    """Smart HTTP, anonymous, filters allowed."""
    yield from _http(wire_root)


@pytest.fixture(scope="module")
def http_auth_server(wire_root: Path) -> Iterator[GitHTTPServer]:
    """Smart HTTP behind Basic auth as alice / wonderland-42."""
    yield from _http(wire_root, user="alice", password="wonderland-42")


@pytest.fixture(scope="module")
def http_token_server(wire_root: Path) -> Iterator[GitHTTPServer]:
    """Smart HTTP that takes a token as the user name, with an empty password (as hosting sites do)."""
    yield from _http(wire_root, user="ghp_wiretoken0123456789", password="")


@pytest.fixture(scope="module")
def http_header_server(wire_root: Path) -> Iterator[GitHTTPServer]:
    """Smart HTTP that serves only requests carrying ``X-Mr-Token: sesame``."""
    yield from _http(wire_root, header=("X-Mr-Token", "sesame"))


@pytest.fixture(scope="module")
def https_server(wire_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHTTPServer]:
    """Smart HTTPS with a certificate from a self-signed CA (``server.ca_file``)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed for the HTTPS tests (.ci/run installs it)")
    yield from _http(wire_root, tls_dir=tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def http_proxy(wire_root: Path) -> Iterator[GitHTTPServer]:
    """An HTTP proxy that alone reaches ``git.internal.invalid`` (a name that never resolves)."""
    yield from _http(wire_root, proxy_host="git.internal.invalid")


def _connect_proxy(https: GitHTTPServer, **options: str) -> Iterator[ConnectProxy]:
    proxy = ConnectProxy({f"{PROXIED_HOST}:443": https.port}, **options)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


#: The credentials ``connect_proxy_auth`` wants.
PROXY_USER, PROXY_PASSWORD = "carol", "proxy-secret-58"


@pytest.fixture(scope="module")
def connect_proxy(https_server: GitHTTPServer) -> Iterator[ConnectProxy]:
    """A proxy that tunnels ``CONNECT git.internal.invalid:443`` (a name that never resolves) to ``https_server``."""
    yield from _connect_proxy(https_server)


@pytest.fixture(scope="module")
def connect_proxy_auth(https_server: GitHTTPServer) -> Iterator[ConnectProxy]:
    """``connect_proxy`` that wants ``Proxy-Authorization: Basic`` for PROXY_USER / PROXY_PASSWORD (407 otherwise)."""
    yield from _connect_proxy(https_server, user=PROXY_USER, password=PROXY_PASSWORD)


@pytest.fixture(scope="module")
def wire_daemon(wire_root: Path) -> Iterator[GitDaemon]:
    """``git daemon`` over the same repositories, without filter support."""
    from tests.conftest import GitDaemon

    daemon = GitDaemon(wire_root)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    why = sshd_usable()
    if why is not None:
        pytest.skip(why)
    server = SSHServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    """A git:// server that sends one byte a second, forever (a pkt-line that never ends)."""
    server = Trickler(slow=b"fff0", drip=b"a")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stalled_pkt_line() -> Iterator[Trickler]:
    """A git:// server that sends the start of a valid pkt-line, then nothing."""
    server = Trickler(prefix=b"00a0" + b"0" * 40 + b" HEAD\0")
    server.start()
    yield server
    server.stop()
