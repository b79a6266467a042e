"""Bounded HTTP load with wrk: the same closed-loop load for every server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# wrk's Lua `done` hook prints one line starting with this marker: exact counts
# and percentiles, instead of parsing wrk's rounded human-readable report.
RESULT_MARKER = "BENCH-RESULT"
BODY_FILE_VARIABLE = "BENCH_BODY_FILE"
WRK_SCRIPT = f"""\
-- POST the same JSON body on every request; report exact figures when done.
local body_file = assert(io.open(os.getenv("{BODY_FILE_VARIABLE}"), "rb"))
wrk.method = "POST"
wrk.body = body_file:read("*a")
body_file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("{RESULT_MARKER} %.0f %.0f %.0f %.0f %.0f %.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
"""
# wrk ends by itself after its duration; this only bounds a hung wrk.
WRK_GRACE_S = 60


class LoadError(RuntimeError):
    """wrk could not run or did not report."""


@dataclass(frozen=True)
class Load:
    """The same bounded load for every server: closed loop, fixed concurrency and duration."""

    connections: int = 16
    threads: int = 2
    duration_s: int = 10
    warmup_s: int = 2
    timeout_s: int = 5


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured in one run."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    bad_status: int

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s


@dataclass(frozen=True)
class Wrk:
    """wrk, ready to POST one request body under one load."""

    executable: str
    script: Path
    body_file: Path
    load: Load

    @classmethod
    def prepare(cls, directory: Path, body: str, load: Load) -> Wrk:
        """Find wrk, or stop the bench with how to install it; write its script and body."""
        executable = shutil.which("wrk")
        if executable is None:
            raise SystemExit(
                "bench: wrk is not installed; install it with: apt-get install -y wrk"
            )
        script, body_file = directory / "post.lua", directory / "body.json"
        script.write_text(WRK_SCRIPT)
        body_file.write_text(body)
        return cls(executable, script, body_file, load)

    def run(
        self, url: str, duration_s: int, halfway: Callable[[], None] | None = None
    ) -> LoadResult:
        """Load `url` for `duration_s` seconds and return what wrk measured.

        `halfway`, when given, is called once while wrk is loading, half the duration in.
        """
        argv = [
            self.executable,
            f"--threads={self.load.threads}",
            f"--connections={self.load.connections}",
            f"--duration={duration_s}s",
            f"--timeout={self.load.timeout_s}s",
            "--latency",
            f"--script={self.script}",
            url,
        ]
        wrk = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, BODY_FILE_VARIABLE: str(self.body_file)},
        )
        if halfway is not None:
            try:
                wrk.wait(timeout=duration_s / 2)
            except subprocess.TimeoutExpired:
                halfway()
        try:
            stdout, stderr = wrk.communicate(timeout=duration_s + WRK_GRACE_S)
        except subprocess.TimeoutExpired:
            wrk.kill()
            stdout, stderr = wrk.communicate()
        for line in stdout.splitlines():
            if line.startswith(RESULT_MARKER):
                requests, duration_us, p50_us, p99_us, errors, bad = map(int, line.split()[1:])
                return LoadResult(
                    requests=requests,
                    duration_s=duration_us / 1e6,
                    p50_ms=p50_us / 1e3,
                    p99_ms=p99_us / 1e3,
                    socket_errors=errors,
                    bad_status=bad,
                )
        raise LoadError(f"wrk exited with {wrk.returncode} and no result:\n{stdout}{stderr}")
