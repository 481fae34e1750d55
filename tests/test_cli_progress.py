"""Progress of long runs: ``python -m interop`` and ``python -m benchmarks`` print one flushed line per
finished row when their output is piped, and keep one rewriting status line on a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import List

import pytest

from benchmarks.runner import Progress as BenchProgress
from interop.matrix import FAIL, PASS, Cell, Result
from interop.report import Progress as InteropProgress

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Recorder(io.StringIO):
    """A stream that remembers what each flush made visible."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: List[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def cells() -> List[Cell]:
    return [Cell("libzmq-pypi", "PUSH-PULL", role, binder, "tcp", "3.1") for role in "AB" for binder in
            ("zmtp", "peer")]


def test_interop_piped_prints_one_flushed_line_per_finished_row() -> None:
    out = Recorder()
    live = InteropProgress(cells(), out, tty=False)
    cs = cells()
    live.update(Result(cs[0], PASS, seconds=0.5))
    assert out.getvalue() == ""  # the row is not finished yet
    live.update(Result(cs[1], FAIL, "boom", seconds=0.25))
    lines = out.getvalue().splitlines()
    assert "libzmq-pypi" in lines[0] and "PUSH-PULL" in lines[0] and "zmtp=PUSH(A): 1 pass, 1 fail in 0.8s" in lines[0]
    assert "boom" in lines[1]
    assert out.flushed and out.flushed[-1] == out.getvalue()
    live.update(Result(cs[2], PASS))
    live.update(Result(cs[3], PASS))
    assert "zmtp=PULL(B): 2 pass" in out.getvalue().splitlines()[-1]
    assert "\r" not in out.getvalue()


def test_interop_terminal_rewrites_one_status_line() -> None:
    out = Recorder()
    live = InteropProgress(cells(), out, tty=True)
    for i, c in enumerate(cells()):
        live.update(Result(c, FAIL if i == 1 else PASS, "bad" if i == 1 else ""))
    text = out.getvalue()
    assert text.count("\r[") == 4 and "[4/4" in text
    assert "\n" in text and "bad" in text  # a failure stays on screen
    live.close()
    assert out.getvalue().endswith("\r")


def test_benchmarks_progress_modes() -> None:
    piped = Recorder()
    p = BenchProgress(piped, tty=False)
    p.status("running something")
    p.row("[  1/2     0s] row one")
    assert piped.getvalue() == "[  1/2     0s] row one\n" and piped.flushed
    term = Recorder()
    t = BenchProgress(term, tty=True)
    t.status("case 1: zmtp, repetition 1/5")
    t.status("case 1: zmtp, repetition 2/5")
    assert term.getvalue().count("\r") == 2 and "\n" not in term.getvalue()
    t.row("[  1/2     3s] done")
    assert term.getvalue().endswith("\r[  1/2     3s] done\n")


@pytest.mark.timeout(120)
def test_python_m_interop_piped_shows_rows_before_the_report() -> None:
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, "-m", "interop", "--peers", "libzmq-pypi", "--patterns", "PUSH-PULL",
                        "--transports", "tcp", "--revisions", "3.1", "--mechanisms", "NULL"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=100)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    rows = [ln for ln in lines if ln.startswith("[")]
    assert len(rows) == 2 and all("PUSH-PULL" in r and "2 pass" in r for r in rows)
    seat = next(i for i, ln in enumerate(lines) if ln.startswith("zmtp seat:"))
    assert lines.index(rows[-1]) < seat
