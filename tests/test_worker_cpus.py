"""WORKER_CPUS: gunicorn's worker and all its threads stay on one CPU."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import SECRET_KEY
from .server import Server

pytestmark = [
    pytest.mark.sqlite_run_only("tests a gunicorn setting, not the database"),
    pytest.mark.skipif(
        not hasattr(os, "sched_getaffinity"), reason="CPU affinity needs Linux"
    ),
]


def _server(tmp_path: Path, cpus: str) -> Server:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'phones.db'}",
        "PHONES_SECRET_KEY": SECRET_KEY,
        "WORKER_CPUS": cpus,
    }
    return Server(env=env, log_path=tmp_path / "server.log")


def _gunicorn_worker(group: int) -> int:
    """Return the pid of the gunicorn process whose parent is gunicorn too."""
    commands: dict[int, list[bytes]] = {}
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group:
            # The program or the script that Python runs, unlike a shell's -c line.
            commands[int(entry.name)] = command.split(b"\0")[:2]
            parents[int(entry.name)] = int(fields[1])
    gunicorn = {
        pid
        for pid, arguments in commands.items()
        if any(argument.endswith(b"bin/gunicorn") for argument in arguments)
    }
    workers = [pid for pid in gunicorn if parents[pid] in gunicorn]
    assert len(workers) == 1, f"gunicorn workers found: {workers}"
    return workers[0]


def _allowed_cpus(pid: int) -> set[str]:
    """Return the Cpus_allowed_list of each thread of `pid`."""
    lists = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                lists.add(line.split(":", 1)[1].strip())
    return lists


def test_worker_threads_stay_on_named_cpu(tmp_path):
    cpu = max(os.sched_getaffinity(0))
    with _server(tmp_path, str(cpu)) as server:
        # Concurrent requests make gunicorn start its request threads.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: server.request("GET", "/healthz"), range(32)))
        worker = _gunicorn_worker(server.process.pid)

        assert {answer.status for answer in answers} == {200}
        assert len(list(Path(f"/proc/{worker}/task").iterdir())) > 1
        assert _allowed_cpus(worker) == {str(cpu)}
        assert f"runs on CPU {cpu}" in server.log_path.read_text()


@pytest.mark.parametrize("cpus", ["x", "-1", "4096", "0,,1", "²", "\uff10", "0 1"])
def test_invalid_worker_cpus_stop_the_start(tmp_path, cpus):
    server = _server(tmp_path, cpus)

    with pytest.raises(RuntimeError, match="server exited"):
        server.start()

    log = server.log_path.read_text()
    assert f"WORKER_CPUS={cpus!r}" in log
    assert "is not a CPU number available here" in log
