"""
Load generators for ``bench/load.py``: ``wrk`` (C, event loop, low overhead)
or Python threads with keep-alive ``http.client`` connections. Both run a
closed loop of ``connections`` concurrent keep-alive connections for a fixed
duration, cycling over a list of paths, and return the same summary.
"""

import http.client
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import percentile

HOST = "127.0.0.1"

WRK_SCRIPT = """
local paths = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = math.random(#paths)
end
function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
"""

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class Connection:
    """One keep-alive HTTP/1.1 connection to the benchmark server; reconnects once on failure."""

    def __init__(self, port, timeout=60):
        self.port, self.timeout, self.http = port, timeout, None

    def request(self, method, path, body=None, headers=None):
        """Returns ``(status, body bytes, response)``."""
        for attempt in (1, 2):
            try:
                if self.http is None:
                    self.http = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
                self.http.request(method, path, body=body, headers=headers or {})
                response = self.http.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data, response
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.http is not None:
            self.http.close()
            self.http = None


def summarize(count, errors, elapsed, latencies=None, p50=None, p99=None):
    if latencies is not None:
        latencies.sort()
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return {"requests": count, "errors": errors, "seconds": elapsed, "rps": count / elapsed, "p50": p50, "p99": p99}


# --- Python threads -------------------------------------------------------------------


def _python_worker(port, paths, offset, deadline, max_requests, out):
    connection = Connection(port)
    latencies, errors, index = [], 0, offset
    while len(latencies) < max_requests and time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            status = connection.request("GET", paths[index % len(paths)])[0]
        except (http.client.HTTPException, OSError):
            status = 0
        latencies.append(time.perf_counter() - started)
        errors += status != 200
        index += 1
    connection.close()
    out.append((latencies, errors))


def run_python(port, paths, connections, duration, max_requests=1_000_000):
    """Closed-loop load with ``connections`` threads for ``duration`` seconds."""
    out = []
    started = time.perf_counter()
    deadline = started + duration
    step = max(1, len(paths) // connections)
    threads = [
        threading.Thread(
            target=_python_worker, args=(port, paths, number * step, deadline, max_requests // connections, out)
        )
        for number in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 120)
    elapsed = time.perf_counter() - started
    latencies = [value for chunk, _errors in out for value in chunk]
    return summarize(len(latencies), sum(errors for _chunk, errors in out), elapsed, latencies)


# --- wrk ------------------------------------------------------------------------------


def _seconds(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output):
    """Requests, non-2xx/socket errors, rate and p50/p99 latency from ``wrk --latency`` output."""
    count = int(re.search(r"(\d+) requests in", output).group(1))
    elapsed = _seconds(re.search(r"requests in ([\d.]+\w+),", output).group(1))
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sockets:
        errors += sum(int(value) for value in sockets.groups())
    p50 = _seconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _seconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    return summarize(count, errors, elapsed, p50=p50, p99=p99)


def run_wrk(port, paths, connections, duration):
    """The same closed loop with ``wrk`` (one thread), cycling over ``paths``."""
    with tempfile.TemporaryDirectory(prefix="djnjc-wrk-") as directory:
        script, path_file = Path(directory, "paths.lua"), Path(directory, "paths.txt")
        script.write_text(WRK_SCRIPT)
        path_file.write_text("\n".join(paths) + "\n")
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
        command += ["-s", str(script), f"http://{HOST}:{port}", "--", str(path_file)]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(completed.stdout)
