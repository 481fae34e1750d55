"""The fuzz loop: cases from seeds, the oracle after each, minimisation, files and the report."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from .grammar import LONG, frame
from .mutators import MUTATORS, Case, make_case
from .target import Outcome, ProbeResult, Target


class _BudgetExhausted(Exception):
    pass


def split_items(data: bytes) -> Optional[List[bytes]]:
    """A ZMTP 3.x stream as [greeting, frame, frame, ...] (a trailing partial frame is one item too);
    None when it does not start with a greeting."""
    if len(data) < 64 or data[0] != 0xFF or data[10] < 3:
        return None
    items = [data[:64]]
    pos = 64
    while pos < len(data):
        flags = data[pos]
        if flags & LONG:
            end = pos + 9 + int.from_bytes(data[pos + 1 : pos + 9], "big") if pos + 9 <= len(data) else len(data) + 1
        else:
            end = pos + 2 + data[pos + 1] if pos + 2 <= len(data) else len(data) + 1
        if end > len(data):
            items.append(data[pos:])
            break
        items.append(data[pos:end])
        pos = end
    return items


def frame_parts(item: bytes) -> Tuple[int, Optional[bytes]]:
    """(flags, body) of a whole frame; body None for a partial one."""
    if len(item) < 2:
        return 0, None
    flags = item[0]
    head = 9 if flags & LONG else 2
    if len(item) < head:
        return flags, None
    size = int.from_bytes(item[1:9], "big") if flags & LONG else item[1]
    body = item[head:]
    return flags, body if len(body) == size else None


@dataclass
class FuzzConfig:
    """What to fuzz and for how long (see ``zmtp fuzz -h``)."""

    endpoint: str
    socket_type: str = "REP"
    seed: int = 0
    cases: Optional[int] = 1000
    time_limit: Optional[float] = 60.0
    mutators: Optional[Sequence[str]] = None
    only_case: Optional[int] = None
    out_dir: Optional[str] = None
    minimize_attempts: int = 200
    minimize_seconds: float = 60.0
    stop_after: int = 5  # failures before the run stops


@dataclass
class Failure:
    """A case after which the oracle failed, with its minimised form."""

    index: Optional[int]
    case: Case
    result: ProbeResult
    outcome: Outcome
    minimized: Optional[Case] = None
    attempts: int = 0
    files: List[str] = field(default_factory=list)

    def to_json(self, config: FuzzConfig, repro: List[str]) -> Dict[str, Any]:
        best = self.minimized or self.case
        return {
            "kind": self.result.kind, "detail": self.result.detail, "seed": config.seed, "case_index": self.index,
            "mutator": self.case.mutator, "description": self.case.description,
            "socket_type": config.socket_type, "endpoint": config.endpoint,
            "case": self.case.to_json(), "minimized": best.to_json(), "minimized_bytes": len(best.data),
            "minimize_attempts": self.attempts, "reproduce": repro,
        }


@dataclass
class FuzzReport:
    """What a run did: cases per mutator, how the target reacted, and the failures."""

    config: FuzzConfig
    cases_run: int = 0
    seconds: float = 0.0
    per_mutator: Counter[str] = field(default_factory=Counter)
    behaviour: Counter[str] = field(default_factory=Counter)
    errors_seen: Counter[str] = field(default_factory=Counter)
    failures: List[Failure] = field(default_factory=list)
    stopped: str = ""
    restarts: int = 0

    def reproduce(self, f: Failure) -> List[str]:
        """Commands that replay a failure: its seed and index, and its saved (minimised) case."""
        c = self.config
        base = f"zmtp fuzz {c.endpoint} --socket-type {c.socket_type}"
        out = []
        if f.index is not None:
            out.append(f"{base} --seed {c.seed} --case {f.index}")
        json_files = [p for p in f.files if p.endswith(".json")]
        if json_files:
            out.append(f"{base} --replay {json_files[0]}")
        return out

    def text(self) -> str:
        """The report for people."""
        c = self.config
        lines = [f"zmtp fuzz report: {c.endpoint} ({c.socket_type}), seed {c.seed}",
                 f"  {self.cases_run} cases in {self.seconds:.1f} s" + (f"; stopped: {self.stopped}"
                                                                       if self.stopped else "")
                 + (f"; target restarted {self.restarts} times" if self.restarts else "")]
        lines.append("  cases per mutator: " + ", ".join(f"{k} {v}" for k, v in sorted(self.per_mutator.items())))
        lines.append("  target behaviour: " + ", ".join(f"{k} {v}" for k, v in sorted(self.behaviour.items())))
        if self.errors_seen:
            top = self.errors_seen.most_common(5)
            lines.append("  ERROR reasons it sent: " + "; ".join(f"{r!r} x{n}" for r, n in top))
        if not self.failures:
            lines.append("  findings: none")
        for i, f in enumerate(self.failures, 1):
            best = f.minimized or f.case
            lines.append(f"  FINDING {i}: {f.result.kind}: {f.result.detail}")
            lines.append(f"    case: {f.case.mutator}: {f.case.description}")
            lines.append(f"    minimised to {len(best.chunks)} chunk(s), {len(best.data)} bytes "
                         f"({f.attempts} attempts): {best.data[:64].hex()}" + ("..." if len(best.data) > 64 else ""))
            for cmd in self.reproduce(f):
                lines.append(f"    reproduce: {cmd}")
            for p in f.files:
                lines.append(f"    saved: {p}")
        return "\n".join(lines)

    def to_json(self) -> Dict[str, Any]:
        """The report for programs (report.json)."""
        return {"endpoint": self.config.endpoint, "socket_type": self.config.socket_type, "seed": self.config.seed,
                "cases_run": self.cases_run, "seconds": round(self.seconds, 3), "stopped": self.stopped,
                "per_mutator": dict(self.per_mutator), "behaviour": dict(self.behaviour),
                "failures": [f.to_json(self.config, self.reproduce(f)) for f in self.failures]}


def ddmin(items: List[Any], fails: Callable[[List[Any]], bool]) -> List[Any]:
    """Delta debugging (Zeller): a smaller list for which ``fails`` still holds."""
    n = 2
    while len(items) >= 2:
        size = -(-len(items) // n)
        subsets = [items[i : i + size] for i in range(0, len(items), size)]
        for i in range(len(subsets)):
            complement = [x for j, s in enumerate(subsets) if j != i for x in s]
            if complement and fails(complement):
                items = complement
                n = max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


class Fuzzer:
    """Runs a fuzz campaign against one :class:`Target`."""

    def __init__(self, config: FuzzConfig, target: Target, log: Optional[TextIO] = None) -> None:
        self.config = config
        self.target = target
        self.log = log
        self.report = FuzzReport(config)

    def _say(self, text: str) -> None:
        if self.log is not None:
            self.log.write(text + "\n")
            self.log.flush()

    def run_case(self, case: Case) -> tuple[Outcome, ProbeResult]:
        """Deliver one case and ask the oracle."""
        outcome, held = self.target.deliver(case)
        try:
            if case.expect_echo and outcome.echoed is False:
                result = ProbeResult(False, "no-echo", "the target did not answer a valid session (sent "
                                     f"{len(case.chunks)} chunks, {case.delay:g} s apart)")
            else:
                result = self.target.check()
        finally:
            for s in held:
                s.close()
        return outcome, result

    def _ensure_alive(self) -> bool:
        if self.target.exited() is not None or not self.target.probe().ok:
            try:
                if not self.target.restart():
                    return False
            except RuntimeError:
                return False
        return True

    def minimize(self, failure: Failure) -> None:
        """Shrink the case (chunks, then bytes) while the same kind of failure still happens."""
        attempts = [0]
        end = time.monotonic() + self.config.minimize_seconds
        kind = failure.result.kind

        # Every attempt must start from a healthy target: after a failed one (a leak, a hang, a crash)
        # the target is restarted, so a failure is never blamed on the attempt that merely inherited it.
        dirty = [True]

        def fails(case: Case) -> bool:
            if attempts[0] >= self.config.minimize_attempts or time.monotonic() > end:
                raise _BudgetExhausted()
            if dirty[0]:
                try:
                    if not self.target.restart() and not self._ensure_alive():
                        raise _BudgetExhausted()
                except RuntimeError:
                    raise _BudgetExhausted() from None
            attempts[0] += 1
            _, r = self.run_case(case)
            dirty[0] = not r.ok
            return not r.ok and r.kind == kind

        best = failure.case
        if best.expect_echo:
            return  # a valid session that went unanswered: removing bytes would only make it invalid
        if not self.target.command and kind not in ("protocol", "no-echo"):
            return  # a target we cannot restart: its state after the failure would spoil every attempt
        try:
            if not fails(best):  # flaky: keep the original
                failure.attempts = attempts[0]
                failure.minimized = None
                return
            if len(best.chunks) > 1:
                best = best.with_chunks(ddmin(list(best.chunks), lambda cs: fails(best.with_chunks(cs))))
            best = self._shrink_frames(best, fails)
            best = self._shrink_bytes(best, fails)
        except _BudgetExhausted:
            pass
        failure.minimized = best
        failure.attempts = attempts[0]

    @staticmethod
    def _as_case(best: Case, data: bytes) -> Case:
        """The same delivery (one byte per send when it was a slow or split case) with other bytes."""
        if len(best.chunks) > 1 and best.delay:
            return best.with_chunks([data[i : i + 1] for i in range(len(data))])
        return best.with_chunks([data])

    def _shrink_frames(self, best: Case, fails: Callable[[Case], bool]) -> Case:
        """Grammar-aware: drop whole frames, then shrink each frame's body with its size rewritten."""
        items = split_items(best.data)
        if items is None or len(items) < 2:
            return best
        head, frames = items[0], items[1:]
        frames = ddmin(frames, lambda fs: fails(self._as_case(best, head + b"".join(fs))))
        best = self._as_case(best, head + b"".join(frames))
        for i in range(len(frames)):
            flags, body = frame_parts(frames[i])
            if body is None or len(body) < 2:
                continue

            def rebuilt(bs: List[bytes], i: int = i, flags: int = flags) -> bytes:
                return frame(b"".join(bs), flags & ~LONG & 0xFF, long=bool(flags & LONG))

            def still(bs: List[bytes], i: int = i, best: Case = best) -> bool:
                trial = frames[:i] + [rebuilt(bs)] + frames[i + 1 :]
                return fails(self._as_case(best, head + b"".join(trial)))

            kept = ddmin([body[j : j + 1] for j in range(len(body))], still)
            frames[i] = rebuilt(kept)
            best = self._as_case(best, head + b"".join(frames))
        return best

    def _shrink_bytes(self, best: Case, fails: Callable[[Case], bool]) -> Case:
        """Last resort, blind to the grammar: delete runs of bytes."""
        data = best.data
        if not 1 < len(data) <= 1 << 16:
            return best
        unit = max(1, len(data) // 256)
        pieces = [data[i : i + unit] for i in range(0, len(data), unit)]
        kept = ddmin(pieces, lambda ps: fails(self._as_case(best, b"".join(ps))))
        return self._as_case(best, b"".join(kept)) if len(b"".join(kept)) < len(data) else best

    def save(self, failure: Failure, number: int) -> None:
        """Write failure-N.bin (the minimised bytes) and failure-N.json (everything about it)."""
        out = self.config.out_dir
        if not out:
            return
        os.makedirs(out, exist_ok=True)
        stem = os.path.join(out, f"failure-{number}")
        best = failure.minimized or failure.case
        with open(stem + ".bin", "wb") as f:
            f.write(best.data)
        failure.files = [stem + ".bin", stem + ".json"]
        with open(stem + ".json", "w") as f:
            json.dump(failure.to_json(self.config, self.report.reproduce(failure)), f, indent=1)

    def _record(self, index: Optional[int], case: Case, outcome: Outcome, result: ProbeResult) -> bool:
        """Count the case; on failure minimise and save it.  True to go on."""
        rep = self.report
        rep.cases_run += 1
        rep.per_mutator[case.mutator] += 1
        rep.behaviour[f"closed-{outcome.closed}" if outcome.closed != "open" else "kept-open"] += 1
        if outcome.error is not None:
            rep.errors_seen[outcome.error] += 1
        if result.ok:
            return True
        failure = Failure(index, case, result, outcome)
        self._say(f"case {index}: {result.kind}: {result.detail} ({case.mutator}: {case.description})")
        self.minimize(failure)
        rep.failures.append(failure)
        self.save(failure, len(rep.failures))
        # go on from a fresh target (a leak or a wedged thread would fail every later case)
        try:
            restarted = self.target.restart()
        except RuntimeError:
            restarted = False
        if not restarted and not self._ensure_alive():
            rep.stopped = "the target is down and cannot be restarted (give --exec to restart it)"
            return False
        if not restarted and result.kind in ("memory", "fds"):
            rep.stopped = f"the target's {result.kind} stays high and it cannot be restarted (give --exec)"
            return False
        return len(rep.failures) < self.config.stop_after

    def run(self) -> FuzzReport:
        """The campaign: cases until the count, the time or the failure budget runs out."""
        cfg = self.config
        t0 = time.monotonic()
        self.target.start()
        try:
            indices = [cfg.only_case] if cfg.only_case is not None else None
            i = 0
            while True:
                if indices is not None:
                    if i >= len(indices):
                        break
                    index = indices[i]
                else:
                    if cfg.cases is not None and i >= cfg.cases:
                        break
                    index = i
                if cfg.time_limit is not None and time.monotonic() - t0 > cfg.time_limit:
                    self.report.stopped = f"time limit of {cfg.time_limit:g} s"
                    break
                case = make_case(cfg.seed, index, cfg.socket_type, cfg.mutators, self.target.zmtp2)
                outcome, result = self.run_case(case)
                i += 1
                if not self._record(index, case, outcome, result):
                    break
                if i % 50 == 0:
                    self._say(f"{i} cases, {len(self.report.failures)} findings, {time.monotonic() - t0:.0f} s")
        finally:
            self.report.seconds = time.monotonic() - t0
            self.report.restarts = self.target.restarts
            self.target.stop()
        return self.report

    def replay(self, case: Case) -> FuzzReport:
        """Deliver one saved case (``--replay``) and report."""
        t0 = time.monotonic()
        self.target.start()
        try:
            outcome, result = self.run_case(case)
            self._record(None, case, outcome, result)
        finally:
            self.report.seconds = time.monotonic() - t0
            self.target.stop()
        return self.report


__all__ = ["FuzzConfig", "FuzzReport", "Fuzzer", "Failure", "ddmin", "MUTATORS"]
