"""A small HTTP/1.1 load client on asyncio streams (keep-alive, Content-Length and chunked bodies).

The fallback where wrk is missing, and the only client for open-loop (fixed-rate) runs, which wrk cannot
do. Standard library only, so the benchmarks add no dependency.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# (method, path, headers, body)
RequestSpec = tuple[str, str, dict[str, str], bytes]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            try:
                return await self._exchange(method, path, headers or {}, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in {"POST", "PUT", "PATCH"}:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        response_headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            response_headers[name] = value
            if name == "set-cookie":
                cookie_name, _, rest = value.partition("=")
                cookies[cookie_name] = rest.split(";", 1)[0]
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        elif "content-length" in response_headers:
            data = await self.reader.readexactly(int(response_headers["content-length"]))
        elif method == "HEAD" or status in (204, 304):
            data = b""
        else:
            data = await self.reader.read()
            self.close()
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, response_headers, cookies, data)

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, of completed requests
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    elapsed: float = 0.0
    # index of each request → wall-clock time its answer arrived (for end-to-end latencies)
    answered_at: dict[int, float] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0

    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 400)

    def summary(self) -> dict:
        return {
            "requests": self.completed,
            "rps": round(self.rps, 1),
            "p50_ms": percentile_ms(self.latencies, 50),
            "p95_ms": percentile_ms(self.latencies, 95),
            "p99_ms": percentile_ms(self.latencies, 99),
            "errors": self.errors + self.non_2xx(),
        }


def percentile_ms(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile (the smallest value with ``pct`` % of the values at or below it), in ms."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct * len(ordered) / 100) - 1))
    return round(ordered[index] * 1000, 2)


async def _closed_loop(
    host, port, make: Callable[[int], RequestSpec], concurrency, duration, max_requests
) -> LoadResult:
    result = LoadResult()
    counter = iter(range(max_requests))
    deadline = time.monotonic() + duration

    async def worker() -> None:
        conn = Connection(host, port)
        try:
            while time.monotonic() < deadline:
                index = next(counter, None)
                if index is None:
                    return
                method, path, headers, body = make(index)
                started = time.monotonic()
                try:
                    response = await conn.request(method, path, headers, body)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    conn.close()
                    continue
                result.latencies.append(time.monotonic() - started)
                result.statuses[response.status] += 1
                result.answered_at[index] = time.time()
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.monotonic() - started
    return result


async def _open_loop(
    host, port, make: Callable[[int], RequestSpec], rate, duration, max_in_flight
) -> LoadResult:
    """Send at a fixed rate whatever the answers; latency counts from the intended send time."""
    result = LoadResult()
    idle: list[Connection] = []
    in_flight = asyncio.Semaphore(max_in_flight)
    total = int(rate * duration)
    start = time.monotonic()

    async def one(index: int, due: float) -> None:
        conn = idle.pop() if idle else Connection(host, port)
        method, path, headers, body = make(index)
        try:
            response = await conn.request(method, path, headers, body)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            conn.close()
            return
        finally:
            in_flight.release()
        result.latencies.append(time.monotonic() - due)
        result.statuses[response.status] += 1
        result.answered_at[index] = time.time()
        idle.append(conn)

    tasks = []
    for index in range(total):
        due = start + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await in_flight.acquire()
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    result.elapsed = time.monotonic() - start
    for conn in idle:
        conn.close()
    return result


def closed_loop(
    host: str,
    port: int,
    make: Callable[[int], RequestSpec],
    *,
    concurrency: int,
    duration: float,
    max_requests: int = 10**9,
) -> LoadResult:
    """As fast as ``concurrency`` keep-alive connections go, for ``duration`` seconds or ``max_requests``."""
    return asyncio.run(_closed_loop(host, port, make, concurrency, duration, max_requests))


def open_loop(
    host: str,
    port: int,
    make: Callable[[int], RequestSpec],
    *,
    rate: float,
    duration: float,
    max_in_flight: int = 64,
) -> LoadResult:
    """``rate`` requests per second for ``duration`` seconds, at most ``max_in_flight`` at once."""
    return asyncio.run(_open_loop(host, port, make, rate, duration, max_in_flight))


def get(path: str, headers: dict[str, str] | None = None) -> Callable[[int], RequestSpec]:
    spec = ("GET", path, headers or {}, b"")
    return lambda _index: spec
