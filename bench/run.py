"""Benchmark of the phones service under wrk, at several table sizes.

For each size, a fresh database gets one client with that many phones,
gunicorn serves the service on it the way `make run` does, and wrk drives
each operation for a fixed time after a warm-up. A bare Flask app under the
same gunicorn settings gives the ceiling to compare against. The database
is a SQLite file, or with --database postgresql a database of its own on a
loopback PostgreSQL server, dropped at the end.

    python -m bench.run --sizes 1000,100000,1000000 --json results.json
    python -m bench.run --database postgresql --sizes 1000,100000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL

from .load import LoadSettings, Request, run_wrk
from .machine import describe_machine
from .postgres import DEFAULT_URL, describe_server, server_url, temporary_database
from .report import markdown_report, text_report, to_json
from .results import OperationResult, Results, SizeResult
from .seed import LINES_PER_PREFIX, NumberPrefixes, SeededDatabase, create_database
from .server import Gunicorn
from .targets import ALONE_SUFFIX, SEARCHES

log = logging.getLogger("bench")

OPERATIONS = (
    "get",
    "list10",
    "list100",
    "search_digits",
    "search_area",
    "search_name",
    "update",
    "register",
)
# Registrations per second that one run gets distinct numbers for. Past it,
# numbers repeat and the server returns 409 Conflict, counted as an error.
MAX_REGISTER_RATE = 5000

RequestFactory = Callable[[], Request]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_options(parser)
    _add_database_options(parser)
    _add_load_options(parser)
    _add_cpu_option(parser)
    _add_output_options(parser)
    return parser.parse_args(argv)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1000, 100_000, 1_000_000],
        help="comma-separated phone counts (default 1000,100000,1000000)",
    )
    parser.add_argument(
        "--operations",
        type=_operations,
        default=list(OPERATIONS),
        help=f"comma-separated subset of {','.join(OPERATIONS)} (default all)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed of the phones (default 1)"
    )


def _add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="database to seed and serve: a SQLite file in --workdir, or a new "
        "database per size on the PostgreSQL server of --postgres-url, dropped "
        "at the end (default sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        type=_postgres_url,
        default=None,
        help="SQLAlchemy URL of a loopback PostgreSQL server and its maintenance "
        "database, for --database postgresql. The user needs the right to "
        f"create databases, and pg_trgm must be installed (default {DEFAULT_URL})",
    )


def _postgres_url(text: str) -> URL:
    try:
        return server_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    options = [
        ("--duration", 10, "seconds of measured load per operation"),
        ("--warmup", 2, "seconds of unmeasured load before each measured run"),
        ("--connections", 8, "open connections that wrk keeps busy"),
        ("--wrk-threads", 1, "wrk threads, at most the connections"),
        ("--timeout", 20, "seconds after which wrk counts a request as timed out"),
        ("--rounds", 3, "rounds per size, each result the median round's"),
    ]
    for name, default, text in options:
        minimum = 0 if name == "--warmup" else 1
        parser.add_argument(
            name,
            type=_at_least(minimum),
            default=default,
            help=f"{text} (default {default})",
        )


def _add_cpu_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-cpu",
        type=_server_cpu,
        default=None,
        help="CPU to keep the server's worker on (WORKER_CPUS), with wrk on the "
        "others (default: none, so Linux places both, as with `make run`)",
    )


def _server_cpu(text: str) -> int | None:
    if text == "none":
        return None
    available = os.sched_getaffinity(0)
    if not (text.isascii() and text.isdigit()) or int(text) not in available:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not 'none' or a CPU of {sorted(available)}"
        )
    if len(available) < 2:
        raise argparse.ArgumentTypeError("one CPU only: wrk would have none left")
    return int(text)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--markdown", type=Path, help="write the results as Markdown tables here"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="folder for the temporary databases and logs (default the system's)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the SQLite databases and server logs, and print where "
        "(PostgreSQL databases are dropped all the same)",
    )


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return parse


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"invalid sizes {text!r}: give counts >= 1")
    return sizes


def _operations(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(OPERATIONS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown operations {unknown}. Choose from {','.join(OPERATIONS)}."
        )
    return names


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if shutil.which("wrk") is None:
        log.error("wrk is not installed. Install it with `apt-get install wrk`.")
        return 2
    if args.wrk_threads > args.connections:
        log.error("--wrk-threads must be at most --connections")
        return 2
    postgres_server = None
    if args.database == "postgresql":
        if args.postgres_url is None:
            args.postgres_url = server_url(DEFAULT_URL)
        postgres_server = _describe_postgres(args.postgres_url)
        if postgres_server is None:
            return 2
        _stop_on_sigterm()
    elif args.postgres_url is not None:
        log.error("--postgres-url applies only with --database postgresql")
        return 2
    settings = LoadSettings(
        args.duration,
        args.warmup,
        args.connections,
        args.wrk_threads,
        args.timeout,
        args.server_cpu,
        args.rounds,
    )
    folder = Path(tempfile.mkdtemp(prefix="phones-bench-", dir=args.workdir))
    try:
        results = _run(args, settings, folder, postgres_server)
    finally:
        _clean_up(folder, args.keep)
    _write(results, args)
    return 0


def _describe_postgres(url: URL) -> dict[str, Any] | None:
    """Read the server's version and settings, or log the error and return None."""
    try:
        return describe_server(url)
    except psycopg.Error as error:
        display_url = url.render_as_string(hide_password=True)
        message = " ".join(str(error).split())
        log.error(
            "connecting to PostgreSQL at %s failed (%s). Start the server, or "
            "give another loopback server with --postgres-url.",
            display_url,
            message,
        )
        return None


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that the databases are dropped on it too.

    Ctrl-C raises KeyboardInterrupt, which drops them as any error does.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _run(
    args: argparse.Namespace,
    settings: LoadSettings,
    folder: Path,
    postgres_server: dict[str, Any] | None,
) -> Results:
    machine = describe_machine(folder)
    postgres: URL | None = None
    if postgres_server is not None:
        postgres = args.postgres_url
        machine["postgresql"] = postgres_server
    sizes = [
        measure_size(phones, args.operations, folder, settings, args.seed, postgres)
        for phones in args.sizes
    ]
    return Results(machine, settings, sizes, args.database)


def _clean_up(folder: Path, keep: bool) -> None:
    if keep:
        log.info("databases and server logs kept in %s", folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _write(results: Results, args: argparse.Namespace) -> None:
    print(text_report(results))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results), indent=2) + "\n")
        log.info("results written to %s", args.json)
    if args.markdown is not None:
        args.markdown.write_text(markdown_report(results))
        log.info("Markdown tables written to %s", args.markdown)


def measure_ceiling(
    folder: Path, settings: LoadSettings
) -> tuple[OperationResult, int]:
    """Measure the bare Flask app and return its result and peak memory in KiB."""
    log_path = folder / "ceiling.log"
    env = settings.server_env()
    with Gunicorn("bench.ceiling:app", env, log_path, ready_path="/") as server:
        request = Request("path", {"path": "/"})
        result = _measure(server, "ceiling", lambda: request, settings, None)
        assert server.memory is not None
        return result, server.memory.sample()


def measure_size(
    phones: int,
    operations: list[str],
    folder: Path,
    settings: LoadSettings,
    seed: int,
    postgres: URL | None = None,
) -> SizeResult:
    """Seed a database of `phones` phones and measure each operation on it.

    The database is a SQLite file in `folder`, or, with `postgres`, a new
    database on that server, which is dropped at the end, also on errors.
    """
    size_folder = folder / f"phones-{phones}"
    size_folder.mkdir()
    prefixes = NumberPrefixes(seed)
    secret_key = Fernet.generate_key().decode()
    if postgres is None:
        log.info("seeding %d phones", phones)
        database = create_database(size_folder, phones, prefixes, secret_key, seed)
        return _measure_seeded(database, size_folder, prefixes, operations, settings)
    with temporary_database(postgres) as url:
        log.info("seeding %d phones", phones)
        database = create_database(size_folder, phones, prefixes, secret_key, seed, url)
        return _measure_seeded(database, size_folder, prefixes, operations, settings)


def _measure_seeded(
    database: SeededDatabase,
    size_folder: Path,
    prefixes: NumberPrefixes,
    operations: list[str],
    settings: LoadSettings,
) -> SizeResult:
    """Measure each operation on a seeded database, for `settings.rounds` rounds."""
    phones = database.phones
    ids_path = size_folder / "phone-ids.txt"
    ids_path.write_text("\n".join(database.phone_ids) + "\n")
    factories = _request_factories(database, ids_path, prefixes, settings)
    result = _size_result(database)
    rounds = []
    for number in range(1, settings.rounds + 1):
        log.info("%d phones: round %d of %d", phones, number, settings.rounds)
        measured = dataclasses.replace(result, operations=[])
        _measure_round(measured, database, size_folder, operations, factories, settings)
        rounds.append(measured)
    _keep_median_rounds(result, rounds)
    return result


def _measure_round(
    result: SizeResult,
    database: SeededDatabase,
    folder: Path,
    operations: list[str],
    factories: dict[str, RequestFactory],
    settings: LoadSettings,
) -> None:
    """Measure the ceiling, then each operation, into `result`."""
    result.ceiling, result.ceiling_memory_kib = measure_ceiling(folder, settings)
    alone = dataclasses.replace(settings, connections=1, threads=1)
    with _service(database, folder, settings) as server:
        for operation in operations:
            factory = factories[operation]
            measured = _measure(server, operation, factory, settings, database.api_key)
            result.operations.append(measured)
            if operation in SEARCHES:
                # With one connection, latency is the search's own time,
                # without the wait behind the other requests in flight.
                name = operation + ALONE_SUFFIX
                measured = _measure(server, name, factory, alone, database.api_key)
                result.operations.append(measured)
        assert server.memory is not None
        result.peak_memory_kib = server.memory.sample()
        result.worker_restarted = server.worker_restarted()


def _keep_median_rounds(result: SizeResult, rounds: list[SizeResult]) -> None:
    """Keep, for the ceiling and each operation, the round of median throughput.

    Memory is the highest peak of all rounds.
    """
    ceilings = [measured.ceiling for measured in rounds if measured.ceiling]
    result.ceiling = _median(ceilings) if ceilings else None
    result.ceiling_memory_kib = max(measured.ceiling_memory_kib for measured in rounds)
    result.peak_memory_kib = max(measured.peak_memory_kib for measured in rounds)
    result.worker_restarted = any(measured.worker_restarted for measured in rounds)
    for index, first in enumerate(rounds[0].operations):
        samples = [measured.operations[index] for measured in rounds]
        assert all(sample.operation == first.operation for sample in samples)
        result.operations.append(_median(samples))


def _median(samples: list[OperationResult]) -> OperationResult:
    """Return the sample of median throughput, the lower one of an even count."""
    ordered = sorted(samples, key=lambda sample: sample.load.throughput)
    return ordered[(len(ordered) - 1) // 2]


def _service(
    database: SeededDatabase, folder: Path, settings: LoadSettings
) -> Gunicorn:
    # A PHONES_DATABASE_URL in the caller's environment would win over
    # DATABASE_URL, so both are set.
    env = {
        "DATABASE_URL": database.url,
        "PHONES_DATABASE_URL": database.url,
        "PHONES_SECRET_KEY": database.secret_key,
        **settings.server_env(),
    }
    return Gunicorn("wsgi:app", env, folder / "server.log", ready_path="/healthz")


def _size_result(database: SeededDatabase) -> SizeResult:
    return SizeResult(
        phones=database.phones,
        seed_seconds=database.seconds,
        revision=database.revision,
        search_digits=database.search_digits,
        search_area=database.search_area,
        search_name=database.search_name,
        digit_matches=database.digit_matches,
        area_matches=database.area_matches,
        name_matches=database.name_matches,
    )


def _request_factories(
    database: SeededDatabase,
    ids_path: Path,
    prefixes: NumberPrefixes,
    settings: LoadSettings,
) -> dict[str, RequestFactory]:
    """Return a function per operation that builds the wrk request of one run.

    Each registration run takes prefixes of its own, so no run repeats a
    number that an earlier one registered.
    """
    ids = {"ids": str(ids_path)}
    per_run = -(-settings.duration * MAX_REGISTER_RATE // LINES_PER_PREFIX)
    threads = str(settings.threads)

    def register() -> Request:
        taken = ",".join(prefixes.take(per_run))
        return Request("register", {"prefixes": taken, "threads": threads})

    def path(query: dict[str, str | int]) -> RequestFactory:
        request = Request(
            "path", {"path": "/api/phones?" + urllib.parse.urlencode(query)}
        )
        return lambda: request

    return {
        "get": lambda: Request("get", ids),
        "list10": path({"limit": 10}),
        "list100": path({"limit": 100}),
        "search_digits": path({"search": database.search_digits, "limit": 10}),
        "search_area": path({"search": database.search_area, "limit": 10}),
        "search_name": path({"search": database.search_name, "limit": 10}),
        "update": lambda: Request("update", ids),
        "register": register,
    }


def _measure(
    server: Gunicorn,
    operation: str,
    factory: RequestFactory,
    settings: LoadSettings,
    api_key: str | None,
) -> OperationResult:
    """Warm up, then run wrk and read the worker's CPU time around the run."""
    if settings.warmup > 0:
        run_wrk(server.base_url, factory(), settings, settings.warmup, api_key)
    cpu_before = server.worker_cpu_seconds()
    load = run_wrk(server.base_url, factory(), settings, settings.duration, api_key)
    cpu_seconds = server.worker_cpu_seconds() - cpu_before
    log.info(
        "%s: %.0f req/s, p50 %.1f ms, p99 %.1f ms, %d errors",
        operation, load.throughput, load.p50_ms, load.p99_ms, load.error_count,
    )  # fmt: skip
    return OperationResult(operation, load, cpu_seconds)


if __name__ == "__main__":
    sys.exit(main())
