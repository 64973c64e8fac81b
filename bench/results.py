"""Measurements of a benchmark run, per table size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .load import LoadResult, LoadSettings


@dataclass(frozen=True)
class OperationResult:
    """One measured wrk run of one operation."""

    operation: str
    load: LoadResult
    # CPU time (user and system) that the worker process spent in the run.
    worker_cpu_seconds: float

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.worker_cpu_seconds / max(self.load.requests, 1)


@dataclass
class SizeResult:
    """Runs against one database of `phones` phones, and what was seeded."""

    phones: int
    seed_seconds: float
    revision: str | None
    search_digits: str
    search_area: str
    search_name: str
    digit_matches: int
    area_matches: int
    name_matches: int
    # The bare Flask app, measured just before this size's operations.
    ceiling: OperationResult | None = None
    ceiling_memory_kib: int = 0
    peak_memory_kib: int = 0
    worker_restarted: bool = False
    operations: list[OperationResult] = field(default_factory=list)

    def ratio(self, load: LoadResult) -> float:
        """Return the throughput of `load` as a share of the ceiling's."""
        if self.ceiling is None or not self.ceiling.load.throughput:
            return float("nan")
        return load.throughput / self.ceiling.load.throughput

    def find(self, operation: str) -> LoadResult | None:
        for result in self.operations:
            if result.operation == operation:
                return result.load
        return None


@dataclass
class Results:
    """Everything one run measured, and where."""

    machine: dict[str, Any]
    settings: LoadSettings
    sizes: list[SizeResult]
    # "sqlite" or "postgresql", the value of --database.
    database: str = "sqlite"

    def size(self, phones: int) -> SizeResult | None:
        return next((size for size in self.sizes if size.phones == phones), None)


def megabytes(kib: int) -> float:
    """Convert KiB, the unit of /proc/<pid>/status, to MB of 10**6 bytes."""
    return kib * 1024 / 1e6
