"""The fault and soak rows as tests.

Quick tests (every CI interpreter) run each row against zmtp at the ``quick`` scale and assert zmtp's own
sanity and the row's bound (``Row.limit``: what the old engine failed).  Slow tests (the main interpreter)
run zmtp and libzmq 4.3.5 at the ``slow`` scale; they assert the same, and for rows whose figures are
counts or memory (``Row.robust``) also that zmtp is at or better than libzmq.  Time-based comparisons
(stalls, rates, CPU) are printed in the table at the end of the run, not asserted.
"""

from __future__ import annotations

import platform

import pytest

from .core import SCALES, Row, record
from .rows import ALL, LIBZMQ, ZMTP

#: Rows too slow for the quick run, or meaningless without their libzmq figure.
_SLOW_ONLY = {"14k", "14s"}

#: Rows whose figure is the victim's RSS after zmtp let go of a buffer: CPython returns it at once
#: (reference counting), PyPy only at its next major collection, which nothing here triggers (seen on
#: PyPy 7.3: row 2 +9 MiB, row 3 +83 MiB held until a gc.collect()).  Measured on CPython.
_FREED_BY_REFCOUNT = {"2", "3"}
_PYPY = platform.python_implementation() == "PyPy"


def _param(row: Row) -> object:
    if _PYPY and row.key in _FREED_BY_REFCOUNT:
        return pytest.param(row, id=row.key, marks=pytest.mark.skip(
            reason="RSS after a free: PyPy returns memory at its next major collection, not at once"))
    return pytest.param(row, id=row.key)


QUICK = [_param(row) for row in ALL if row.key not in _SLOW_ONLY]


def _check(row: Row, fig_text: str, ok: bool, within: bool) -> None:
    assert ok, f"row {row.key}: {fig_text}"
    assert within, f"row {row.key}: {fig_text} (bound: {row.limit})"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("row", QUICK)
def test_row_quick(row: Row) -> None:
    fig = record(row, ZMTP, row.measure(ZMTP, SCALES["quick"]))
    _check(row, fig.text, fig.ok, row.within_limit(fig))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("row", ALL, ids=[row.key for row in ALL])
def test_row_slow(row: Row) -> None:
    scale = SCALES["slow"]
    z = record(row, ZMTP, row.measure(ZMTP, scale))
    ref = record(row, LIBZMQ, row.measure(LIBZMQ, scale))
    _check(row, z.text, z.ok, row.within_limit(z))
    if row.robust:
        ok, verdict = row.judge(z, ref)
        assert ok, f"row {row.key}: zmtp {z.text} is {verdict} than libzmq {ref.text}"
