"""gunicorn processes on loopback, and the peak memory of their worker."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 60
STOP_TIMEOUT = 20
SAMPLE_INTERVAL = 0.2

# The opener ignores proxy settings, so every request goes straight to loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py APP` as `make run` starts it, on a free port.

    As a context manager, it starts gunicorn, waits until `ready_path` returns
    status 200, samples the worker's memory while it runs, and stops it on exit.
    """

    def __init__(
        self, app: str, env: dict[str, str], log_path: Path, ready_path: str
    ) -> None:
        self.app = app
        self.port = free_port()
        self.env = {**os.environ, **env, "HOST": HOST, "PORT": str(self.port)}
        self.log_path = log_path
        self.ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None
        self.memory: MemorySampler | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _start(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.app]
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        self._wait_until_ready()
        self.memory = MemorySampler(self._worker_pid())
        self.memory.start()
        log.info("%s ready on port %d", self.app, self.port)

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"gunicorn exited during start:\n{tail}")
            if _status(self.base_url + self.ready_path) == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.base_url}{self.ready_path} not ready in {START_TIMEOUT} s"
        )

    def _worker_pid(self) -> int:
        """Return the pid of the one worker that the gunicorn master forked."""
        assert self.process is not None
        children = child_pids(self.process.pid)
        if len(children) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {children}")
        return children[0]

    def worker_cpu_seconds(self) -> float:
        """Return the user and system CPU time of the worker so far."""
        assert self.memory is not None
        return cpu_seconds(self.memory.pid)

    def worker_restarted(self) -> bool:
        """Return whether the worker whose memory is sampled was replaced."""
        assert self.process is not None and self.memory is not None
        return child_pids(self.process.pid) != [self.memory.pid]

    def _stop(self) -> None:
        if self.memory is not None:
            self.memory.stop()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error(
                "gunicorn pid %d still runs after SIGTERM, so it is killed",
                self.process.pid,
            )
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


def _status(url: str) -> int | None:
    try:
        with _opener.open(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def child_pids(parent: int) -> list[int]:
    """Return the pids whose parent is `parent`, read from /proc/<pid>/stat."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if _parent_pid(stat) == parent:
            children.append(int(entry.name))
    return sorted(children)


def cpu_seconds(pid: int) -> float:
    """Return utime plus stime of process `pid`, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields of the line, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parent_pid(stat: str) -> int:
    # The command name in brackets may contain spaces, so fields are counted
    # from the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


class MemorySampler(threading.Thread):
    """Thread that reads VmRSS and VmHWM of one process every SAMPLE_INTERVAL.

    VmHWM is the kernel's own peak of the resident set, so short peaks
    between two samples count too.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(name=f"memory-{pid}", daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            self.sample()
            self._stopped.wait(SAMPLE_INTERVAL)

    def sample(self) -> int:
        """Read the process's memory, update `peak_kib` and return it."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return self.peak_kib
        for line in status.splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                self.peak_kib = max(self.peak_kib, int(value.split()[0]))
        return self.peak_kib

    def stop(self) -> None:
        self.sample()
        self._stopped.set()
        if self.is_alive():
            self.join()
