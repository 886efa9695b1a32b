"""A fault-injecting HTTP proxy of the tests' own, between netsync and a real DAV server.

It listens on loopback only, forwards each request to one upstream server (also on loopback)
and, at a set rate, answers it badly instead: a 500, 502, 503 or 507 status, a connection
reset, a stall past the client's timeout, or a response body cut short. A fault lands either
before the request reaches the server ("before": the server never saw it) or after the server
has done it ("after": a PUT that happened, but whose answer is lost), which is the nasty case
for a client that writes.

Tests can also watch the traffic: ``on_request(n, method, path, phase)`` is called for the
n-th request before it is forwarded (phase "before") and after the server answered (phase
"after"); returning ``"drop"`` closes the connection without an answer. That is how a test
kills netsync at an exact point of its cycle, or lets a "phone" edit a card just before
netsync's write reaches the server. Returning ``"close"`` closes it without an answer too, but
gently (FIN, no reset), as a server does that closes an idle keep-alive connection just as a
request arrives on it (before) or that did the request and went away (after). Returning
``"hang"`` keeps the connection open and never
answers (a server that accepts and then stops answering; it ends when the proxy stops), and
returning a ``Canned`` answers with it instead of the server (a 429 with Retry-After).
Each ``Seen`` records when the request arrived and whether it carried credentials.

Everything is bounded: bodies are read with Content-Length (or chunked) only, stalls end when
the proxy stops, and stopping closes every connection it holds.
"""

from __future__ import annotations

import contextlib
import http
import http.client
import random
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

STATUS_KINDS = ("500", "502", "503", "507")
KINDS = (*STATUS_KINDS, "reset", "stall", "truncate")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
MAX_BODY = 64 * 1024 * 1024  # bounded: nothing in these tests comes near it
REASONS = {
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "503": "Service Unavailable",
    "507": "Insufficient Storage",
}

Hook = Callable[[int, str, str, str], "str | Canned | None"]


@dataclass(frozen=True)
class Seen:
    """One request the proxy handled, and what it did to it."""

    n: int
    method: str
    path: str
    fault: str  # "" when forwarded untouched, else "<kind>/<phase>"
    at: float = 0.0  # time.monotonic() when it arrived
    authorization: bool = False  # it carried an Authorization header


@dataclass(frozen=True)
class Canned:
    """An answer of the test's own instead of the server's."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass
class Stats:
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # by kind
    phases: Counter[str] = field(default_factory=Counter)  # "before" / "after"
    seen: list[Seen] = field(default_factory=list)
    status: dict[int, int] = field(default_factory=dict)  # request number -> upstream status


class FaultProxy:
    """``with FaultProxy(upstream_root) as proxy:`` then point netsync at ``proxy.url(...)``."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = KINDS,
        stall: float = 2.6,
        ssl_context: ssl.SSLContext | None = None,
        listen: str = "127.0.0.1",
    ) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "loopback upstreams only"
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.upstream_root = f"{parts.scheme}://{parts.netloc}"
        self.rate = rate
        self.kinds = kinds
        self.stall = stall
        self.on_request: Hook | None = None
        self.stats = Stats()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._ssl = ssl_context
        self._busy = 0
        self._last_activity = time.monotonic()
        assert listen.startswith("127."), "loopback only"
        self._server = _Server((listen, 0), _Handler)
        self._server.proxy = self
        self.port = int(self._server.server_address[1])
        scheme = "https" if ssl_context else "http"
        self.root = f"{scheme}://{listen}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- life ------------------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            held = list(self._sockets)
        for sock in held:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the handler threads (block_on_close)
        self._thread.join(10)

    def url(self, upstream_url: str) -> str:
        """The proxied form of a URL on the upstream server."""
        assert upstream_url.startswith(self.upstream_root), upstream_url
        return self.root + upstream_url[len(self.upstream_root) :]

    def wait_idle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until no request is in flight and none came for ``quiet`` seconds: the
        requests a killed client had already sent reach the server (or not) before the test
        goes on, as they would in the moments before a real next cycle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                calm = not self._busy and time.monotonic() - self._last_activity >= quiet
            if calm:
                return
            time.sleep(0.05)
        raise AssertionError("the proxy did not go quiet")

    @contextlib.contextmanager
    def faults(self, rate: float) -> Iterator[None]:
        """Inject at ``rate`` while the block runs."""
        before, self.rate = self.rate, rate
        try:
            yield
        finally:
            self.rate = before

    # -- decisions -------------------------------------------------------------------------

    def _next(self, method: str, path: str, authorization: bool) -> tuple[int, str, str]:
        """Number the request and draw its fault: (n, kind or "", phase)."""
        with self._lock:
            self.stats.requests += 1
            n = self.stats.requests
            kind, phase = "", ""
            if self.rate and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
                phase = "after" if kind == "truncate" else self._rng.choice(("before", "after"))
                self.stats.faults[kind] += 1
                self.stats.phases[phase] += 1
            fault = f"{kind}/{phase}" if kind else ""
            self.stats.seen.append(Seen(n, method, path, fault, time.monotonic(), authorization))
            return n, kind, phase

    def _hook(self, n: int, method: str, path: str, phase: str) -> str | Canned | None:
        hook = self.on_request
        return hook(n, method, path, phase) if hook is not None else None

    def _track(self, sock: socket.socket, held: bool) -> None:
        with self._lock:
            (self._sockets.add if held else self._sockets.discard)(sock)


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer is what these tests are about


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        proxy = self.server.proxy
        proxy._track(self.request, True)
        if proxy._ssl is not None:
            raw = self.request
            try:
                self.request = proxy._ssl.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                # The client refused our certificate: exactly what a TLS test expects.
                proxy._track(raw, False)
                raw.close()
                raise
            proxy._track(raw, False)
            proxy._track(self.request, True)
        super().setup()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()
        self.server.proxy._track(self.request, False)
        with contextlib.suppress(OSError):
            self.request.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # Every method a DAV client sends goes through one place.
    def _any(self) -> None:
        try:
            self._proxy()
        except OSError:
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = _any
    do_PROPFIND = do_PROPPATCH = do_REPORT = do_MKCOL = do_MKCALENDAR = _any
    do_MOVE = do_COPY = do_LOCK = do_UNLOCK = _any

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline(100).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise OSError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(10)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise OSError("request body too large")
        return self.rfile.read(length) if length else b""

    def _proxy(self) -> None:
        proxy = self.server.proxy
        with proxy._lock:
            proxy._busy += 1
        try:
            self._relay()
        finally:
            with proxy._lock:
                proxy._busy -= 1
                proxy._last_activity = time.monotonic()

    def _relay(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        method, path = self.command, self.path
        n, kind, phase = proxy._next(method, path, "Authorization" in self.headers)
        said = proxy._hook(n, method, path, "before")
        if said == "drop":
            return self._reset()
        if said == "close":
            return self._close()
        if said == "hang":
            proxy._stopping.wait()
            return self._reset()
        if isinstance(said, Canned):
            reason = http.HTTPStatus(said.status).phrase
            return self._answer(said.status, reason, list(said.headers), said.body)
        if kind and phase == "before":
            return self._fault(kind, None)
        answer = self._forward(method, path, body)
        proxy.stats.status[n] = answer[0]
        said = proxy._hook(n, method, path, "after")
        if said == "drop":
            return self._reset()
        if said == "close":
            return self._close()
        if kind:
            return self._fault(kind, answer)
        self._answer(*answer)

    def _forward(self, method: str, path: str, body: bytes) -> tuple[int, str, list[Any], bytes]:
        proxy = self.server.proxy
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or method in ("PUT", "POST", "PROPFIND", "REPORT", "PROPPATCH"):
                headers["Content-Length"] = str(len(body))
            upstream.request(method, path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            upstream.close()

    def _answer(self, status: int, reason: str, headers: list[Any], data: bytes) -> None:
        self.wfile.write(self._head(status, reason, headers, len(data)))
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    @staticmethod
    def _head(status: int, reason: str, headers: list[Any], length: int) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
        lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _fault(self, kind: str, answer: tuple[int, str, list[Any], bytes] | None) -> None:
        proxy = self.server.proxy
        if kind in STATUS_KINDS:
            body = f"injected {kind}\n".encode()
            headers: list[Any] = [("Content-Type", "text/plain")]
            self._answer(int(kind), REASONS[kind], headers, body)
        elif kind == "reset":
            self._reset()
        elif kind == "stall":
            proxy._stopping.wait(proxy.stall)
            self._reset()
        elif kind == "truncate":
            assert answer is not None
            status, reason, headers, data = answer
            if data:
                # The full length announced, half the body sent, then the connection closes.
                self.wfile.write(self._head(status, reason, headers, len(data)))
                self.wfile.write(data[: len(data) // 2])
            else:
                head = self._head(status, reason, headers, 0)
                self.wfile.write(head[: len(head) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.request.shutdown(socket.SHUT_WR)

    def _close(self) -> None:
        """Close without a byte of an answer, in order (FIN)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed server or a middlebox does."""
        self.close_connection = True
        sock = self.request
        with contextlib.suppress(OSError):
            raw = sock if not isinstance(sock, ssl.SSLSocket) else sock
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.close()
