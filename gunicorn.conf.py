"""gunicorn settings: one process with threads, on loopback unless HOST is set.

HOST and PORT set the address (default 127.0.0.1:3000); THREADS sets the
thread count (default 2); WORKER_CPUS, a list such as "3" or "2,3", keeps
each worker process on one of those CPUs (default: wherever Linux puts it).
"""

import os

_host = os.environ.get("HOST", "127.0.0.1")
_port = os.environ.get("PORT", "3000")

# An IPv6 address such as ::1 needs brackets before the port.
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = 1
# gunicorn's gthread worker, except that the requests gunicorn rejects itself
# get the service's JSON error format instead of an HTML page.
worker_class = "phones_service.gunicorn_worker.JsonErrorWorker"
# Python runs one thread at a time, and every SQLite call and socket read
# lets another thread take over, so threads beyond a few add waiting rather
# than throughput. On 2 cores, under GETs, searches and updates at once on
# 100,000 phones, 2 threads served the most requests of 1 to 4, with the
# lowest p99 latency. With a single thread, GETs waited behind slow requests.
DEFAULT_THREADS = 2


def _whole_number(text: str) -> int | None:
    """Return `text` read as ASCII digits, or None if it is anything else."""
    number = text.strip()
    return int(number) if number.isascii() and number.isdigit() else None


def _threads(text: str) -> int:
    """Read THREADS, raising ValueError unless it is a whole number from 1."""
    if not text.strip():
        return DEFAULT_THREADS
    number = _whole_number(text)
    if number is None or number < 1:
        raise ValueError(
            f"invalid THREADS={text!r}: set a whole number from 1, "
            f"such as {DEFAULT_THREADS}, or unset it"
        )
    return number


threads = _threads(os.environ.get("THREADS", ""))
timeout = 30
graceful_timeout = 10
# The service logs each request itself, with its request id.
accesslog = None
errorlog = "-"
loglevel = "info"
# gunicorn 27 opens one control socket path shared by every instance of the
# user, so servers on other ports would replace each other's.
control_socket_disable = True


def _worker_cpus(text: str) -> list[int]:
    """Read WORKER_CPUS, raising ValueError for a CPU this process cannot use."""
    if not text.strip():
        return []
    if not hasattr(os, "sched_setaffinity"):
        raise ValueError("WORKER_CPUS needs Linux; unset it on this system")
    available = os.sched_getaffinity(0)
    cpus = []
    for part in text.split(","):
        number = _whole_number(part)
        if number is None or number not in available:
            raise ValueError(
                f"WORKER_CPUS={text!r}: {part.strip()!r} is not a CPU number "
                f"available here; choose from {sorted(available)}"
            )
        cpus.append(number)
    return cpus


_pinned_cpus = _worker_cpus(os.environ.get("WORKER_CPUS", ""))


def post_fork(server, worker):
    """Keep the new worker on one CPU of WORKER_CPUS, in turn, if it names any.

    Its threads take turns holding the GIL. On several cores, a thread that
    releases it wakes a waiting thread on another core, and the two hand it
    back and forth. On the machine of docs/benchmarks.md, a GET cost 36
    context switches with the worker on both cores and under 1 on one.
    Threads that the worker starts later inherit the setting.
    """
    if _pinned_cpus:
        cpu = _pinned_cpus[(worker.age - 1) % len(_pinned_cpus)]
        os.sched_setaffinity(0, {cpu})
        server.log.info("Worker %s runs on CPU %s", worker.pid, cpu)


def on_starting(server):
    """Redact API keys in gunicorn's own log lines.

    gunicorn logs a request it cannot parse with the offending line, such
    as an Authorization header without its colon. The workers, forked
    later, share these loggers and their filters.
    """
    from phones_service.logging_config import RedactSecrets

    for logger in (server.log.error_log, server.log.access_log):
        logger.addFilter(RedactSecrets())
