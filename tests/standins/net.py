"""A small private internet on loopback for the provider stand-ins.

``Internet`` is a forward proxy (HTTP CONNECT only, so everything through it is TLS) that maps
host names to loopback ports, and a certificate authority (trustme) whose certificates the
stand-ins present. netsync and the OAuth library reach it the way a user's machine reaches the
real providers behind a corporate proxy: ``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE`` in the
environment (both honoured by niquests and requests), nothing in netsync's config or code.
So the URLs in a test are the providers' own (``https://contacts.icloud.com/``), and the
credential scoping by registrable domain sees the real host names.

``Front`` is one TLS web server that answers as a provider's host: it decides what to answer
itself (the provider's behaviour) and forwards the rest to a real DAV server on loopback
(Xandikos), mapping the provider's paths to the server's and back in every header and body.
Nothing listens anywhere but 127.0.0.1; every socket has a timeout; ``close`` ends it all.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

TIMEOUT = 30.0


@dataclass
class Request:
    method: str
    path: str  # as sent (percent-encoding kept), query included
    headers: dict[str, str]  # names lower-cased
    body: bytes
    host: str  # the front's public host name

    @property
    def route(self) -> str:
        """The path without its query, decoded (``%40`` and ``@`` are one path)."""
        return unquote(urlsplit(self.path).path)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Reply | None]  # None: forward to the server behind


class Internet:
    """The proxy and the CA. ``add(host, port)`` makes ``https://host/`` reach ``port``."""

    def __init__(self, tmp: Path) -> None:
        import trustme  # a test dependency (pyproject [test]): missing is a failure, not a skip

        self.ca = trustme.CA()
        self.ca_file = tmp / "stand-in-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.hosts: dict[str, int] = {}
        self.connects: list[str] = []  # every CONNECT target, in order
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.internet = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, host: str, port: int) -> None:
        self.hosts[host.lower()] = port

    def context(self, *hosts: str) -> ssl.SSLContext:
        """A server-side TLS context with a certificate for ``hosts`` (HTTP/1.1 only)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*hosts).configure_cert(ctx)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def environ(self) -> dict[str, str]:
        """What a process needs to use this internet (and still reach loopback directly)."""
        return {
            "HTTPS_PROXY": f"http://127.0.0.1:{self.port}",
            "https_proxy": f"http://127.0.0.1:{self.port}",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
        }

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_all()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    internet: Internet

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def close_all(self) -> None:
        with self.lock:
            for sock in list(self.open):
                with contextlib.suppress(OSError):
                    sock.close()


class _ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _ProxyServer = self.server  # type: ignore[assignment]
        client: socket.socket = self.request
        client.settimeout(TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 16384:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(line) < 2 or line[0] != "CONNECT":
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = line[1].rpartition(":")
        server.internet.connects.append(line[1])
        target = server.internet.hosts.get(host.lower())
        if target is None or port != "443":
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", target), timeout=TIMEOUT)
        with server.lock:
            server.open |= {client, upstream}
        try:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pump(client, upstream)
        finally:
            with server.lock:
                server.open -= {client, upstream}
            upstream.close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    while True:
        try:
            ready, _, _ = select.select([a, b], [], [], TIMEOUT)
        except (OSError, ValueError):
            return
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                (b if sock is a else a).sendall(data)
            except OSError:
                return


# -- fronts -----------------------------------------------------------------------------------


class Front:
    """A provider's host: ``route`` answers what the provider answers itself, the rest goes to
    ``backend`` (a server root on loopback) with the paths in ``paths`` mapped (public prefix,
    backend prefix), longest first."""

    def __init__(
        self,
        internet: Internet,
        host: str,
        route: Route,
        *,
        backend: str = "",
        paths: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.route = route
        self.backend = backend
        self.paths = sorted((paths or {}).items(), key=lambda p: -len(p[0]))
        self.seen: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _FrontHandler)
        self._server.daemon_threads = True
        self._server.front = self  # type: ignore[attr-defined]
        self._server.socket = internet.context(host).wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self.port = int(self._server.server_address[1])
        internet.add(host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"https://{self.host}"

    def handle(self, request: Request) -> Reply:
        self.seen.append(request)
        answer = self.route(request)
        return answer if answer is not None else self.forward(request)

    def forward(self, request: Request, *, body: bytes | None = None) -> Reply:
        """The request as the server behind answers it, paths mapped both ways."""
        base = urlsplit(self.backend)
        conn = http.client.HTTPConnection(base.hostname or "", base.port, timeout=TIMEOUT)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k not in ("host", "authorization", "connection", "content-length", "accept-encoding")
        }
        data = self.inward(body if body is not None else request.body)
        for name in ("destination",):
            if name in headers:
                headers[name] = self.inward(headers[name].encode()).decode()
        try:
            conn.request(request.method, self.inward(request.path.encode()).decode(), data, headers)
            resp = conn.getresponse()
            out = resp.read()
            status = resp.status
            got = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        for name in ("transfer-encoding", "connection", "content-length", "keep-alive"):
            got.pop(name, None)
        if "location" in got:
            got["location"] = self.outward(got["location"].encode()).decode()
        return Reply(status, self.outward(out), got)

    def inward(self, data: bytes) -> bytes:
        table = {
            s.encode(): private.encode()
            for public, private in self.paths
            for s in _spellings(public)
        }
        return _replace(data, table)

    def outward(self, data: bytes) -> bytes:
        backend = self.backend.rstrip("/")
        data = data.replace(backend.encode(), self.origin.encode())
        return _replace(data, {private.encode(): public.encode() for public, private in self.paths})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _replace(data: bytes, table: dict[bytes, bytes]) -> bytes:
    """Every key of ``table`` in ``data`` replaced in one pass, longest first (so a mapped
    path is never mapped again)."""
    if not table:
        return data
    pattern = re.compile(b"|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return pattern.sub(lambda m: table[m.group(0)], data)


def _spellings(path: str) -> list[str]:
    """A public path as clients may send it: as is, and with ``@`` percent-encoded."""
    encoded = quote(path, safe="/")
    return [path] if encoded == path else [path, encoded]


class _FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def setup(self) -> None:
        conn = self.request
        conn.settimeout(TIMEOUT)
        try:
            conn.do_handshake()
        except (OSError, ssl.SSLError):
            self.close_connection = True
        super().setup()

    def _any(self) -> None:
        front: Front = self.server.front  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            host=front.host,
        )
        try:
            reply = front.handle(request)
        except Exception as err:  # a bug in a stand-in: say it loudly, as a 500
            reply = Reply(500, f"stand-in error: {type(err).__name__}: {err}".encode())
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _any
    do_PROPFIND = do_PROPPATCH = do_REPORT = do_MKCOL = do_MKCALENDAR = _any
    do_MOVE = do_COPY = do_LOCK = do_UNLOCK = _any

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def internet(tmp: Path) -> Iterator[Internet]:
    net = Internet(tmp)
    try:
        yield net
    finally:
        net.close()


def multistatus(*responses: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        + "".join(responses)
        + "</d:multistatus>"
    ).encode()


def propstat(href: str, props: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{props}</d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


XML = {"content-type": "application/xml; charset=utf-8"}
