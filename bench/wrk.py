"""wrk (Debian's package) as the closed-loop load generator when it is installed.

A Lua ``done`` hook prints the summary as JSON, so nothing depends on wrk's text layout. For POSTs with
distinct bodies, ``requests_file`` holds one ``<Stripe-Signature>\\t<body>`` line per request; each wrk
thread takes every n-th line, so no two requests share a line until the file runs out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.http import LoadResult

MARKER = "BENCH-JSON "

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    "BENCH-JSON ", summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""

_POST_LINES = r"""
local counter = 0
local threads = {}
setup = function(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
init = function(args)
  lines = {}
  for line in io.lines(args[1]) do
    local tab = string.find(line, "\t", 1, true)
    table.insert(lines, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
  end
  step = tonumber(args[2])
  index = tid + 1
end
request = function()
  local item = lines[index]
  index = index + step
  if index > #lines then index = tid + 1 end
  local headers = {["Content-Type"] = "application/json", ["Stripe-Signature"] = item[1]}
  return wrk.format("POST", PATH, headers, item[2])
end
"""


def available() -> bool:
    """wrk is installed, and not turned off with BENCH_CLIENT=asyncio (to try the fallback)."""
    return shutil.which("wrk") is not None and os.environ.get("BENCH_CLIENT") != "asyncio"


def run(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    post_path: str | None = None,
    requests_file: Path | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    script = _DONE
    args: list[str] = []
    if requests_file is not None:
        script = _POST_LINES.replace("PATH", json.dumps(post_path)) + script
        args = ["--", str(requests_file), str(threads)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        lua.name,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command += [url, *args]
    try:
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=True
        ).stdout
    finally:
        Path(lua.name).unlink(missing_ok=True)
    line = next(line for line in output.splitlines() if line.startswith(MARKER))
    data = json.loads(line[len(MARKER) :])
    return WrkResult(data)


class WrkResult(LoadResult):
    """wrk's figures in the shape of the async client's result."""

    def __init__(self, data: dict) -> None:
        super().__init__()
        self.data = data
        self.elapsed = data["duration_us"] / 1e6
        self.errors = data["status_errors"] + data["socket_errors"]

    @property
    def completed(self) -> int:
        return self.data["requests"]

    def non_2xx(self) -> int:
        return 0  # counted in errors

    def summary(self) -> dict:
        return {
            "requests": self.completed,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.data["p50_us"] / 1000, 2),
            "p95_ms": round(self.data["p95_us"] / 1000, 2),
            "p99_ms": round(self.data["p99_us"] / 1000, 2),
            "errors": self.errors,
            "client": "wrk",
        }
