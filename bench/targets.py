"""Targets that the service is measured against, and their checks."""

from __future__ import annotations

from dataclasses import dataclass

from .results import Results, megabytes

MEMORY_TARGET_MB = 150
SEARCH_TARGET_MS = 20
LATENCY_GROWTH_TARGET = 1.2
LARGE_SIZE = 1_000_000
SMALL_SIZE = 1_000
SEARCHES = ("search_digits", "search_area", "search_name")
# Suffix of the runs of an operation with a single connection.
ALONE_SUFFIX = "_alone"


@dataclass(frozen=True)
class TargetCheck:
    """Target, its verdict (None when not measured) and the measured figures."""

    target: str
    met: bool | None
    measured: str

    @property
    def verdict(self) -> str:
        return {True: "met", False: "not met", None: "not measured"}[self.met]


def check_targets(results: Results) -> list[TargetCheck]:
    return [
        _throughput_share(results, "get", 0.5, "GET one phone"),
        _throughput_share(results, "list100", 0.2, "list with limit=100"),
        _search_latency(results),
        _get_latency_growth(results),
        _memory(results),
    ]


def _throughput_share(
    results: Results, operation: str, share: float, label: str
) -> TargetCheck:
    """Check the share at every size measured: met only if met at each."""
    target = f"{label}: throughput at least {share:g} of the ceiling's"
    ratios = {}
    for size in results.sizes:
        load = size.find(operation)
        if load is not None:
            ratios[size.phones] = size.ratio(load)
    if not ratios:
        return TargetCheck(target, None, "not measured")
    met = all(ratio >= share for ratio in ratios.values())
    measured = "; ".join(
        f"{ratio:.2f} at {phones:,}" for phones, ratio in ratios.items()
    )
    return TargetCheck(target, met, measured)


def _search_latency(results: Results) -> TargetCheck:
    """Check the p50 of each search run alone, and show it under load too.

    Under load, wrk keeps several requests in flight, so a request's
    latency includes the wait behind the others: p50 is about the number
    of connections divided by the throughput, whatever one search costs.
    """
    target = f"search p50 under {SEARCH_TARGET_MS} ms at {LARGE_SIZE:,} phones"
    size = results.size(LARGE_SIZE)
    alone: dict[str, float] = {}
    loaded: dict[str, float] = {}
    for name in SEARCHES:
        single = size.find(name + ALONE_SUFFIX) if size else None
        load = size.find(name) if size else None
        if single is not None:
            alone[name] = single.p50_ms
        if load is not None:
            loaded[name] = load.p50_ms
    if not alone:
        return TargetCheck(target, None, "not measured")
    met = all(p50 < SEARCH_TARGET_MS for p50 in alone.values())
    measured = "; ".join(
        f"{name} {p50:.1f} ms alone"
        + (f", {loaded[name]:.1f} ms under load" if name in loaded else "")
        for name, p50 in alone.items()
    )
    return TargetCheck(target, met, measured)


def _get_latency_growth(results: Results) -> TargetCheck:
    target = (
        f"GET one phone: p50 at {LARGE_SIZE:,} phones within "
        f"{LATENCY_GROWTH_TARGET:g} times its p50 at {SMALL_SIZE:,}"
    )
    small, large = results.size(SMALL_SIZE), results.size(LARGE_SIZE)
    small_get = small.find("get") if small else None
    large_get = large.find("get") if large else None
    if small_get is None or large_get is None:
        return TargetCheck(target, None, "not measured")
    growth = large_get.p50_ms / small_get.p50_ms
    measured = (
        f"{large_get.p50_ms:.1f} ms against {small_get.p50_ms:.1f} ms, "
        f"{growth:.2f} times"
    )
    return TargetCheck(target, growth <= LATENCY_GROWTH_TARGET, measured)


def _memory(results: Results) -> TargetCheck:
    target = f"worker peak memory under {MEMORY_TARGET_MB} MB"
    peaks = {size.phones: megabytes(size.peak_memory_kib) for size in results.sizes}
    if not peaks:
        return TargetCheck(target, None, "not measured")
    met = all(peak < MEMORY_TARGET_MB for peak in peaks.values())
    measured = "; ".join(
        f"{peak:.0f} MB at {phones:,}" for phones, peak in peaks.items()
    )
    return TargetCheck(target, met, measured)
