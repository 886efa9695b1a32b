"""A counting HTTP/1.1 proxy on loopback, between a client under test and a DAV server.

The client is pointed at the proxy instead of the server; the proxy relays every connection to
the server unchanged (the Host header too, so URLs the server builds point back at the proxy)
and records each request: method, path, bytes both ways, when it was sent and when the last
byte of its answer came back, and on which connection. That gives requests and bytes on the
wire exactly, for netsync and vdirsyncer alike, without touching either.

Requests are framed by Content-Length or chunked encoding; answers are relayed as a byte
stream and attributed to the last request sent on their connection (clients here do not
pipeline).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Exchange:
    method: str
    path: str
    connection: int
    sent_at: float  # time.monotonic() when the request was relayed
    request_bytes: int
    response_bytes: int = 0
    done_at: float = 0.0  # time.monotonic() of the last answer byte relayed


@dataclass
class Traffic:
    """What went over the proxy between two ``take()`` calls."""

    exchanges: list[Exchange] = field(default_factory=list)
    connections: int = 0

    @property
    def requests(self) -> int:
        return len(self.exchanges)

    @property
    def bytes(self) -> int:
        return sum(e.request_bytes + e.response_bytes for e in self.exchanges)

    def by_method(self) -> Counter[str]:
        return Counter(e.method for e in self.exchanges)

    def under(self, path: str) -> list[Exchange]:
        """Requests to ``path`` or anything below it."""
        prefix = path.rstrip("/")
        return [e for e in self.exchanges if e.path.rstrip("/").startswith(prefix)]

    def writes(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.method in ("PUT", "DELETE")]

    def waiting(self) -> float:
        """Seconds during which at least one request was waiting on its answer: the server's
        share of a run's wall time (relaying on loopback adds next to nothing)."""
        total, end = 0.0, float("-inf")
        for e in sorted(self.exchanges, key=lambda e: e.sent_at):
            done = e.done_at or e.sent_at
            if done > end:
                total += done - max(e.sent_at, end)
                end = done
        return total

    def max_parallel(self, method: str = "PUT") -> int:
        """The most requests of ``method`` in flight at once (from the relay's timestamps)."""
        points = []
        for e in self.exchanges:
            if e.method == method:
                points += [(e.sent_at, 1), (e.done_at or e.sent_at, -1)]
        level = peak = 0
        for _, step in sorted(points, key=lambda p: (p[0], p[1])):
            level += step
            peak = max(peak, level)
        return peak


class CountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._exchanges: list[Exchange] = []
        self._connections = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        self._started.wait(10)
        if not self.port:
            raise RuntimeError("the counting proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        """Stop listening and end every relay, so no socket outlives the proxy."""
        if self._server is not None:
            self._server.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def take(self) -> Traffic:
        """Everything recorded since the last call, and start counting afresh."""
        with self._lock:
            traffic = Traffic(self._exchanges, self._connections)
            self._exchanges, self._connections = [], 0
        return traffic

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 20)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._started.set()
        self._loop.run_forever()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream, limit=1 << 20)
        except OSError:
            client_w.close()
            return
        with self._lock:
            self._connections += 1
            connection = self._connections
        mine: list[Exchange] = []

        async def answers() -> None:
            try:
                while data := await up_r.read(1 << 16):
                    if mine:
                        mine[-1].response_bytes += len(data)
                        mine[-1].done_at = time.monotonic()
                    client_w.write(data)
                    await client_w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                client_w.close()

        relay = asyncio.create_task(answers())
        try:
            while True:
                head = await client_r.readuntil(b"\r\n\r\n")
                body = await _body(client_r, head)
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
                exchange = Exchange(
                    method=request_line[0] if request_line else "?",
                    path=request_line[1] if len(request_line) > 1 else "?",
                    connection=connection,
                    sent_at=time.monotonic(),
                    request_bytes=len(head) + len(body),
                )
                mine.append(exchange)
                with self._lock:
                    self._exchanges.append(exchange)
                up_w.write(head + body)
                await up_w.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            up_w.close()
            if not relay.done():
                relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
            client_w.close()


async def _body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = await reader.readuntil(b"\r\n")
                    parts.append(trailer)
                    if trailer == b"\r\n":
                        return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
    length = int(headers.get(b"content-length", b"0") or b"0")
    return await reader.readexactly(length) if length else b""
