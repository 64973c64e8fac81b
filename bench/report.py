"""Results of a benchmark run as a text table, Markdown tables and JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .results import OperationResult, Results, SizeResult, megabytes
from .targets import ALONE_SUFFIX, check_targets

HEADER = [
    "operation",
    "phones",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "vs ceiling",
    "worker CPU ms/req",
]
SIZE_HEADER = [
    "phones",
    "seeded in",
    "worker peak memory",
    "ceiling app's",
    "digit search",
    "area code search",
    "name search",
]


def _rows(results: Results) -> list[list[str]]:
    """Return one row per measured run, each size's ceiling first."""
    rows = []
    for size in results.sizes:
        phones = f"{size.phones:,}"
        measured = [size.ceiling] if size.ceiling else []
        rows += [_row(size, phones, result) for result in measured + size.operations]
    return rows


def _row(size: SizeResult, phones: str, result: OperationResult) -> list[str]:
    load = result.load
    return [
        result.operation,
        phones,
        f"{load.throughput:.0f}",
        f"{load.p50_ms:.1f}",
        f"{load.p99_ms:.1f}",
        str(load.error_count),
        # A run with one connection is not comparable with the ceiling's.
        "-" if result.operation.endswith(ALONE_SUFFIX) else f"{size.ratio(load):.2f}",
        f"{result.cpu_ms_per_request:.2f}",
    ]


def _size_rows(results: Results) -> list[list[str]]:
    return [
        [
            f"{size.phones:,}",
            f"{size.seed_seconds:.0f} s",
            f"{megabytes(size.peak_memory_kib):.0f} MB"
            + (" (worker restarted)" if size.worker_restarted else ""),
            f"{megabytes(size.ceiling_memory_kib):.0f} MB",
            f"`{size.search_digits}`: {size.digit_matches:,} matches",
            f"`{size.search_area}`: {size.area_matches:,} matches",
            f"`{size.search_name}`: {size.name_matches:,} matches",
        ]
        for size in results.sizes
    ]


def _target_rows(results: Results) -> list[list[str]]:
    checks = check_targets(results)
    return [[check.target, check.verdict, check.measured] for check in checks]


def database_line(results: Results) -> str:
    """Return the report line that names the database, its version and settings.

    Settings are listed for PostgreSQL only. Example: "database: SQLite 3.40.1".
    """
    if results.database != "postgresql":
        return f"database: SQLite {results.machine.get('sqlite', 'unknown')}"
    server = results.machine.get("postgresql", {})
    settings = ", ".join(
        f"{name} {value}" for name, value in server.get("settings", {}).items()
    )
    return f"database: PostgreSQL {server.get('version', 'unknown')} ({settings})"


def text_report(results: Results) -> str:
    """Return the database line, then the results as aligned plain-text tables."""
    lines = [database_line(results), ""]
    lines += _aligned([HEADER, *_rows(results)])
    lines += ["", *_aligned([SIZE_HEADER, *_size_rows(results)])]
    lines += ["", *_aligned([["target", "result", "measured"], *_target_rows(results)])]
    return "\n".join(lines)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in rows]  # fmt: skip


def markdown_report(results: Results) -> str:
    """Return the database line, then results, memory and targets as tables."""
    lines = [database_line(results), ""]
    lines += _markdown_table(HEADER, _rows(results))
    lines += ["", *_markdown_table(SIZE_HEADER, _size_rows(results))]
    target_header = ["target", "result", "measured"]
    lines += ["", *_markdown_table(target_header, _target_rows(results))]
    return "\n".join(lines) + "\n"


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def to_json(results: Results) -> dict[str, Any]:
    """Return everything measured, with throughputs and ratios computed."""
    return {
        "database": results.database,
        "machine": results.machine,
        "settings": asdict(results.settings),
        "sizes": [_size_json(size) for size in results.sizes],
        "targets": [asdict(check) for check in check_targets(results)],
    }


def _size_json(size: SizeResult) -> dict[str, Any]:
    data = asdict(size)
    data["peak_memory_mb"] = megabytes(size.peak_memory_kib)
    data["ceiling_memory_mb"] = megabytes(size.ceiling_memory_kib)
    data["ceiling"] = _operation_json(size, size.ceiling) if size.ceiling else None
    data["operations"] = {
        result.operation: _operation_json(size, result) for result in size.operations
    }
    return data


def _operation_json(size: SizeResult, result: OperationResult) -> dict[str, Any]:
    load = result.load
    return {
        **asdict(load),
        "throughput": load.throughput,
        "error_count": load.error_count,
        "ratio": size.ratio(load),
        "worker_cpu_seconds": result.worker_cpu_seconds,
        "cpu_ms_per_request": result.cpu_ms_per_request,
    }
