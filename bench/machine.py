"""Description of the machine and software that a benchmark ran on."""

from __future__ import annotations

import os
import platform
import runpy
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def describe_machine(work_folder: Path) -> dict[str, Any]:
    """Return cores, CPU, memory, versions and the state of the source tree."""
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu_model": _cpuinfo_value("model name"),
        "memory_gib": round(_meminfo_kib("MemTotal") / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": _first_line(["wrk", "--version"]),
        "filesystem": _filesystem(work_folder),
        "load_average": list(os.getloadavg()),
        "source": _first_line(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
        ),
        "gunicorn_threads": runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"],
    }


def _cpuinfo_value(name: str) -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return "unknown"


def _meminfo_kib(name: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return int(value.split()[0])
    return 0


def _first_line(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError:
        return "unknown"
    output = (completed.stdout or completed.stderr).strip()
    return output.splitlines()[0] if output else "unknown"


def _filesystem(folder: Path) -> str:
    """Return the type and mount point of the file system holding `folder`."""
    folder = folder.resolve()
    best = ("unknown", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        _device, mount_point, kind, *_ = line.split()
        inside = folder == Path(mount_point) or Path(mount_point) in folder.parents
        if inside and len(mount_point) >= len(best[1]):
            best = (kind, mount_point)
    return f"{best[0]} at {best[1]}"
