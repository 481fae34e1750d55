"""What every row of the suite shares: scales, figures, verdicts, and the table.

A *row* measures one attack (or one good behaviour to keep) against zmtp and against libzmq 4.3.5
(pyzmq) in the same run, and judges zmtp's figure against libzmq's.  Each row's measure function takes
the implementation ("zmtp" or "libzmq") and a :class:`Scale`; scales name how hard to push:

``quick``  the normal test suite (every CI interpreter): seconds per row
``slow``   ``@pytest.mark.slow`` tests (the main CI interpreter only): the issue's shapes, smaller sizes
``full``   the issue's own sizes (``python -m tests.soak --scale full``): minutes, gigabytes
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

MiB = 1 << 20


@dataclass(frozen=True)
class Scale:
    name: str
    reset_trials: int  # row 1: trials per driver
    churn: int  # row 2: connect/handshake/reset cycles
    announce_body: int  # row 3: bytes really sent after announcing 1 GiB (3 times)
    ping_seconds: float  # row 4
    announcers: int  # row 5: connections announcing 1 MiB
    sub_topics: int  # row 7: hostile subscriptions (distinct lengths)
    ready_conns: int  # row 9
    big_message: int  # row 10
    empty_frames_bytes: int  # row 12
    restart_messages: int  # row 14
    restarts: int  # row 14
    hostile_conns: int  # keep: simultaneous hostile connections
    resets: int  # keep: connect+reset
    messages: int  # keep: messages in order
    round_trips: int  # keep: round trips in order
    settle: float  # seconds to let RSS settle before a baseline


SCALES = {
    "quick": Scale("quick", reset_trials=12, churn=3_000, announce_body=40 * MiB, ping_seconds=1.5, announcers=200,
                   sub_topics=1024, ready_conns=10, big_message=64 * MiB, empty_frames_bytes=4 * MiB,
                   restart_messages=100_000, restarts=2, hostile_conns=100, resets=300, messages=50_000,
                   round_trips=3_000, settle=0.5),
    "slow": Scale("slow", reset_trials=24, churn=20_000, announce_body=100 * MiB, ping_seconds=4.0, announcers=1000,
                  sub_topics=4096, ready_conns=40, big_message=256 * MiB, empty_frames_bytes=16 * MiB,
                  restart_messages=400_000, restarts=5, hostile_conns=500, resets=1000, messages=300_000,
                  round_trips=20_000, settle=1.0),
    "full": Scale("full", reset_trials=30, churn=86_000, announce_body=200 * MiB, ping_seconds=10.0, announcers=1000,
                  sub_topics=4096, ready_conns=40, big_message=1 << 30, empty_frames_bytes=100 * MiB,
                  restart_messages=1_000_000, restarts=5, hostile_conns=500, resets=1000, messages=1_000_000,
                  round_trips=100_000, settle=2.0),
}


@dataclass
class Figure:
    """One implementation's result on a row: ``value`` is what the verdict compares (``unit``), ``text``
    what the table shows (the value and the details that explain it)."""

    value: float
    unit: str
    text: str
    ok: bool = True  # the implementation's own sanity (e.g. the legit peer was served)
    extra: Dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    key: str
    case: str
    #: "lower" or "higher": which way is better; "strict-lower": zmtp must beat libzmq outright.
    better: str
    #: What zmtp may lose to libzmq and still be "at" its figure: absolute (in the unit) and relative.
    slack: float
    ratio: float
    measure: Callable[[str, Scale], Figure]
    #: The bound the tests assert on zmtp's own figure, in the row's direction (what the old engine failed).
    limit: float = float("inf")
    #: The slow tests also assert the verdict against libzmq (counts and memory, not timings).
    robust: bool = False

    def within_limit(self, z: Figure) -> bool:
        return z.value >= self.limit if self.better == "higher" else z.value <= self.limit

    def judge(self, z: Figure, ref: Optional[Figure]) -> Tuple[bool, str]:
        """zmtp's verdict against libzmq's figure (or its own sanity when there is none)."""
        if not z.ok:
            return False, "FAIL"
        if ref is None:
            return True, "ok"
        zv, lv = z.value, ref.value
        if self.better == "strict-lower":
            return (zv < lv), ("better" if zv < lv else "WORSE")
        if self.better == "lower":
            if zv <= lv:
                return True, "better" if zv < lv * 0.9 - 1e-9 else "at"
            return (zv <= lv * self.ratio + self.slack), ("at" if zv <= lv * self.ratio + self.slack else "WORSE")
        if zv >= lv:
            return True, "better" if zv > lv * 1.1 + 1e-9 else "at"
        return (zv >= lv / self.ratio - self.slack), ("at" if zv >= lv / self.ratio - self.slack else "WORSE")


#: Figures recorded by the tests of this run, for the table printed at the end (conftest.py).
RESULTS: Dict[str, Dict[str, Figure]] = {}


def record(row: Row, impl: str, fig: Figure) -> Figure:
    RESULTS.setdefault(row.key, {})[impl] = fig
    return fig


def table(rows: List[Row], results: Dict[str, Dict[str, Figure]]) -> List[str]:
    """The report: row, case, zmtp's figure, libzmq's, verdict."""
    out = ["| row | case | zmtp | libzmq 4.3.5 | verdict |", "|---|---|---|---|---|"]
    for row in rows:
        figs = results.get(row.key)
        if not figs or "zmtp" not in figs:
            continue
        z = figs["zmtp"]
        ref = figs.get("libzmq")
        _, verdict = row.judge(z, ref)
        out.append(f"| {row.key} | {row.case} | {z.text} | {ref.text if ref else '–'} | {verdict} |")
    return out


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def env_scale(default: str = "quick") -> Scale:
    return SCALES[os.environ.get("ZMTP_SOAK_SCALE", default)]


__all__ = ["Scale", "SCALES", "Figure", "Row", "RESULTS", "record", "table", "MiB", "deadline", "env_scale"]
