"""``python -m benchmarks``: run every workload for pyzmq, zmtp (CPython) and zmtp (PyPy); print a table."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmarks.common import median
from benchmarks.runner import ROOT, BenchTimeout, Interp, Progress, WorkerFailed, worker_env
from benchmarks.workloads import WORKLOADS, Case, Metric, Settings, build_cases

IMPL_CHOICES = ("zmq", "zmtp", "pypy")


@dataclass
class Outcome:
    """All repetitions of one Case for one Interp."""

    values: List[Dict[str, float]] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)

    def cell(self, metric: Metric) -> Tuple[Optional[float], str]:
        vals = [v[metric.key] for v in self.values if metric.key in v]
        if vals:
            m = median(vals)
            return m, metric.fmt(m) + ("*" if self.failures else "")
        if self.failures:
            f = self.failures[0]
            if "unavailable: " in f:
                return None, "n/a"
            return None, "timeout" if f.startswith("timeout") else "error"
        return None, "-"


# -------------------------------------------------------------------------------------------- machine info


def _first_line(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=worker_env())
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_info(pypy: Optional[str]) -> Dict[str, Any]:
    info: Dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "cpython": platform.python_version(),
        "pypy": None,
        "pyzmq": None,
        "libzmq": None,
    }
    try:
        import zmq

        info["pyzmq"] = zmq.__version__
        info["libzmq"] = zmq.zmq_version()
    except Exception:
        pass
    if pypy:
        info["pypy"] = _first_line(
            [
                pypy,
                "-c",
                "import sys, platform; v = sys.pypy_version_info; "
                "print('%s (PyPy %d.%d.%d)' % (platform.python_version(), v.major, v.minor, v.micro))",
            ]
        )
    return info


def header_line(info: Dict[str, Any]) -> str:
    return (
        "# {date} | nproc={nproc} | CPU: {cpu} | Linux {kernel} | CPython {cpython} | PyPy {pypy} | "
        "pyzmq {pyzmq} / libzmq {libzmq}".format(**info)
    )


# -------------------------------------------------------------------------------------------------- table


def render_table(headers: List[str], rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(r: List[str]) -> str:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        return "| " + " | ".join(cells) + " |"

    return "\n".join(["+" + line + "+", fmt(headers), "+" + line + "+", *map(fmt, rows), "+" + line + "+"])


def ratio_str(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def build_tables(cases: List[Case], outcomes: Dict[Tuple[int, str], Outcome]) -> str:
    zrows: List[List[str]] = []
    rrows: List[List[str]] = []
    for ci, case in enumerate(cases):
        for m in case.metrics:

            def get(key: str, ci: int = ci, m: Metric = m) -> Tuple[Optional[float], str]:
                oc = outcomes.get((ci, key))
                return oc.cell(m) if oc else (None, "-")

            if case.family == "zmq":
                zv, zs = get("zmq")
                tv, ts = get("zmtp")
                pv, ps = get("pypy")
                zrows.append([case.row_label(m), zs, ts, ratio_str(tv, zv), ps, ratio_str(pv, zv)])
            else:
                _, cs = get("raw")
                _, ps = get("raw-pypy")
                rrows.append([case.row_label(m), cs, ps])
    out = []
    if zrows:
        out.append(
            render_table(["workload", "pyzmq", "zmtp (CPython)", "zmtp/pyzmq", "zmtp (PyPy)", "PyPy/pyzmq"], zrows)
        )
    if rrows:
        out.append("Raw Python sockets (no ZeroMQ): the ceiling of what the interpreter allows")
        out.append(render_table(["workload", "CPython", "PyPy"], rrows))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- main


def find_interps(impls: Sequence[str], pypy: Optional[str]) -> Tuple[List[Interp], List[Interp], List[str]]:
    zmq_family: List[Interp] = []
    raw_family: List[Interp] = [Interp("raw", sys.executable, "raw", "CPython")]
    notes: List[str] = []
    if "zmq" in impls:
        zmq_family.append(Interp("zmq", sys.executable, "zmq", "pyzmq"))
    if "zmtp" in impls:
        zmq_family.append(Interp("zmtp", sys.executable, "zmtp", "zmtp (CPython)"))
    if "pypy" in impls:
        if pypy:
            zmq_family.append(Interp("pypy", pypy, "zmtp", "zmtp (PyPy)"))
            raw_family.append(Interp("raw-pypy", pypy, "raw", "PyPy"))
        else:
            notes.append("pypy3 not found (apt-get install -y pypy3): PyPy columns skipped")
    return zmq_family, raw_family, notes


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--repeat", type=int, default=None, help="repetitions per cell (default 5, 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="small message counts, one repetition")
    ap.add_argument(
        "--impl",
        action="append",
        default=None,
        help="run only these implementations: zmq, zmtp, pypy (repeatable or comma-separated)",
    )
    ap.add_argument(
        "--only",
        action="append",
        default=None,
        help="workloads: {} (repeatable/comma-sep)".format(", ".join(WORKLOADS)),
    )
    ap.add_argument("--transport", action="append", default=None, help="tcp, ipc, inproc (default all)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds before a run is killed (default 60, 15 with --quick)",
    )
    ap.add_argument("--pypy", default=None, help="path to pypy3 (default: found on PATH)")
    ap.add_argument("--json", metavar="FILE", help="save all results as JSON")
    return ap.parse_args(argv)


def _split(values: Optional[List[str]]) -> List[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    impls = _split(args.impl) or list(IMPL_CHOICES)
    only = _split(args.only) or None
    # --quick: tcp only (unless --transport says otherwise), fewer sizes, shorter runs and timeouts
    transports = tuple(_split(args.transport)) or (("tcp",) if args.quick else ("tcp", "ipc", "inproc"))
    timeout = args.timeout if args.timeout is not None else (15.0 if args.quick else 60.0)
    for x in impls:
        if x not in IMPL_CHOICES:
            sys.exit("unknown --impl {!r} (choose from {})".format(x, ", ".join(IMPL_CHOICES)))
    for x in only or []:
        if x not in WORKLOADS:
            sys.exit("unknown --only {!r} (choose from {})".format(x, ", ".join(WORKLOADS)))
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    pypy = args.pypy or shutil.which("pypy3")
    settings = Settings(quick=args.quick, timeout=timeout, transports=transports)
    zmq_family, raw_family, notes = find_interps(impls, pypy)
    info = machine_info(pypy if "pypy" in impls else None)
    print(header_line(info), flush=True)
    for n in notes:
        print("# note: " + n, flush=True)

    cases = build_cases(settings, only)
    outcomes: Dict[Tuple[int, str], Outcome] = {}
    t_start = time.monotonic()
    # Progress goes where the table goes: a live status line on a terminal, one line per row when piped.
    live = Progress(sys.stdout)
    for ci, case in enumerate(cases):
        interps = zmq_family if case.family == "zmq" else raw_family
        for _rep in range(repeat):
            for interp in interps:
                oc = outcomes.setdefault((ci, interp.key), Outcome())
                if oc.failures and not oc.values:
                    continue  # it failed every time so far: don't burn another timeout on it
                live.status(f"[{ci + 1}/{len(cases)}] {case.row_label(case.metrics[0])}: {interp.label}, "
                            f"repetition {_rep + 1}/{repeat}")
                try:
                    oc.values.append(case.run(interp))
                except BenchTimeout as e:
                    oc.failures.append(f"timeout: {e}")
                except WorkerFailed as e:
                    oc.failures.append(f"error: {e}")
                except Exception as e:  # a malformed result etc.: report, keep going
                    oc.failures.append(f"error: {type(e).__name__}: {e}")
        summary = []
        for interp in interps:
            oc = outcomes[(ci, interp.key)]
            _, s = oc.cell(case.metrics[0])
            summary.append(f"{interp.key}={s}")
            for f in oc.failures[:1]:
                summary.append("[{}: {}]".format(interp.key, f.replace("\n", " ")[:300]))
        elapsed = time.monotonic() - t_start
        label = case.row_label(case.metrics[0])
        live.row(f"[{ci + 1:3d}/{len(cases)} {elapsed:5.0f}s] {label}: {' '.join(summary)}")
    live.close()

    print()
    print(header_line(info))
    print(
        f"# medians of {repeat} repetition(s); ratio = zmtp/pyzmq (throughput: higher is better, "
        "latency: lower is better); * = some repetitions failed"
    )
    print(build_tables(cases, outcomes))
    print("# total %.0f s" % (time.monotonic() - t_start))

    if args.json:
        records = []
        for ci, case in enumerate(cases):
            interps = zmq_family if case.family == "zmq" else raw_family
            for interp in interps:
                oc = outcomes.get((ci, interp.key))
                if oc is None:
                    continue
                for m in case.metrics:
                    vals = [v[m.key] for v in oc.values if m.key in v]
                    records.append(
                        {
                            "workload": case.workload,
                            "title": case.title,
                            "size": case.size,
                            "transport": case.transport,
                            "pinning": case.pinning or None,
                            "metric": m.key,
                            "impl": interp.key,
                            "label": interp.label,
                            "values": vals,
                            "median": median(vals) if vals else None,
                            "extra": [
                                {k: v for k, v in r.items() if k not in {mm.key for mm in case.metrics}}
                                for r in oc.values
                            ],
                            "failures": oc.failures,
                        }
                    )
        doc = {
            "machine": info,
            "settings": {
                "repeat": repeat,
                "quick": args.quick,
                "timeout": timeout,
                "impls": impls,
                "transports": list(transports),
                "root": ROOT,
            },
            "results": records,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"# results saved to {args.json}")
    return 0
