"""Helpers shared by the orchestrator and the workers (standard library only, PyPy-compatible)."""

from __future__ import annotations

import os
import resource
from typing import Iterable, Optional, Sequence


def vm_rss_kib() -> int:
    """Resident set size of this process in KiB (``VmRSS`` from ``/proc/self/status``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpus_allowed() -> str:
    """``Cpus_allowed_list`` of this process (works on PyPy, which lacks os.sched_getaffinity)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def pin_to(cpu: Optional[int]) -> None:
    """Pin this process to one CPU (no-op for None or where unsupported)."""
    if cpu is None:
        return
    setaff = getattr(os, "sched_setaffinity", None)
    if setaff is not None:
        setaff(0, {cpu})


def raise_nofile(minimum: int) -> int:
    """Raise the soft open-file limit to at least ``minimum`` (bounded by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < minimum:
        new = minimum if hard == resource.RLIM_INFINITY else min(minimum, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return int(soft)


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return float("nan")
    mid = n // 2
    return float(s[mid]) if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(pct / 100.0 * len(sorted_values) + 0.5)) - 1))
    return float(sorted_values[k])


def latency_summary(samples_ns: Iterable[int]) -> dict:
    s = sorted(samples_ns)
    return {
        "median_us": median(s) / 1000.0,
        "p99_us": percentile(s, 99.0) / 1000.0,
        "min_us": (s[0] / 1000.0) if s else float("nan"),
        "n": len(s),
    }
