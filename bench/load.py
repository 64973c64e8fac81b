"""Load runs with wrk against a loopback server, one operation per run."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve().parent / "phones.lua"
RESULT_MARK = "wrk-result "
# Seconds that wrk may run past its duration before it counts as hung.
EXIT_GRACE = 60


@dataclass(frozen=True)
class LoadSettings:
    """Load level and duration of the wrk runs."""

    # Seconds, whole because wrk takes whole seconds.
    duration: int
    warmup: int
    connections: int
    threads: int
    timeout: int
    # CPU that the server's worker keeps to (WORKER_CPUS), and wrk avoids.
    # None lets Linux place both.
    server_cpu: int | None = None
    # Rounds of the ceiling and every operation per size. Each result is the
    # round with the median throughput.
    rounds: int = 1

    def server_env(self) -> dict[str, str]:
        """Return the environment that keeps a gunicorn worker on `server_cpu`."""
        return {} if self.server_cpu is None else {"WORKER_CPUS": str(self.server_cpu)}

    def wrk_cpus(self) -> set[int] | None:
        """Return the CPUs left for wrk, or None to let Linux place it."""
        if self.server_cpu is None:
            return None
        return os.sched_getaffinity(0) - {self.server_cpu}


@dataclass(frozen=True)
class Request:
    """Operation of the wrk script and its name=value arguments."""

    operation: str
    options: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    """Measurements of one wrk run, with latencies in milliseconds."""

    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        """Completed requests per second, error responses included."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(
    base_url: str,
    request: Request,
    settings: LoadSettings,
    duration: int,
    api_key: str | None = None,
) -> LoadResult:
    """Run wrk for `duration` seconds and return its results."""
    command = _command(base_url, request, settings, duration)
    env = {**os.environ}
    env.pop("BENCH_API_KEY", None)
    if api_key is not None:
        env["BENCH_API_KEY"] = api_key
    cpus = settings.wrk_cpus()
    completed = subprocess.run(
        command,
        env=env,
        preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
        capture_output=True,
        text=True,
        timeout=duration + settings.timeout + EXIT_GRACE,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr}")
    return _parse(completed.stdout)


def _command(
    base_url: str, request: Request, settings: LoadSettings, duration: int
) -> list[str]:
    arguments = [f"{name}={value}" for name, value in request.options.items()]
    return [
        "wrk",
        f"--threads={settings.threads}",
        f"--connections={settings.connections}",
        f"--duration={duration}s",
        f"--timeout={settings.timeout}s",
        f"--script={SCRIPT}",
        base_url,
        "--",
        request.operation,
        *arguments,
    ]


def _parse(output: str) -> LoadResult:
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    if not lines:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    data = json.loads(lines[-1][len(RESULT_MARK) :])
    latency = data["latency_us"]
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=latency["mean"] / 1000,
        max_ms=latency["max"] / 1000,
    )
