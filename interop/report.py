"""Rendering results: the terminal grid, Markdown and JSON."""

from __future__ import annotations

import json
import shutil
import time
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from .matrix import ALL_PATTERNS as PATTERNS
from .matrix import FAIL, NA, PASS, UNAVAILABLE, Cell, Env, Result

SYMBOL = {PASS: "✓", FAIL: "✗", NA: "·", UNAVAILABLE: "?"}
BINDER_ABBR = {"zmtp": "z", "peer": "p"}
LEGEND = ("✓ pass  ✗ fail  · n/a  ? unavailable  |  z = zmtp binds, p = peer binds  |  "
          "A = first-named socket (the single one in fan-out checks), B = second")

ColKey = Tuple[str, str, str, str]  # mechanism, transport, revision, binder
NAME_W = max(len(p.name) for p in PATTERNS)
RowKey = Tuple[str, str]  # pattern, zmtp role


def _peer_title(env: Env, name: str) -> str:
    info = env.peer_info.get(name, {})
    bits = [f"{info.get('impl', '')} {info.get('version', '')}".strip(), str(info.get("binding", ""))]
    desc = env.peers[name].description if name in env.peers else ""
    shown = ", ".join(b for b in bits if b)
    return f"{name}: {shown}" + (f"  [{desc}]" if desc else "")


def _row_label(pattern: str, role: str) -> str:
    pat = next(p for p in PATTERNS if p.name == pattern)
    t = pat.role_type(role)
    same = pat.a == pat.b
    return f"{pattern:<{NAME_W}} zmtp={t}" + (f"({role})" if same and not pat.symmetric else "")


def _layout(results: Sequence[Result]) -> Tuple[List[str], List[ColKey], List[RowKey]]:
    peers: List[str] = []
    cols: List[ColKey] = []
    rows: List[RowKey] = []
    for r in results:
        c = r.cell
        if c.peer not in peers:
            peers.append(c.peer)
        ck = (c.mechanism, c.transport, c.revision, c.binder)
        if ck not in cols:
            cols.append(ck)
        rk = (c.pattern, c.zmtp_role)
        if rk not in rows:
            rows.append(rk)
    return peers, cols, rows


def _offsets(cols: List[ColKey]) -> List[int]:
    """x-offset of each column: 3 characters each, plus a gap where the revision group changes."""
    xs, x = [], 0
    w = _width(cols)
    for i, c in enumerate(cols):
        if i and c[:3] != cols[i - 1][:3]:
            x += 1
        if i and c[:2] != cols[i - 1][:2]:
            x += 1
        xs.append(x)
        x += w
    return xs


def _width(cols: List[ColKey]) -> int:
    """Column width: 3 characters, 6 when mechanism names (PLAIN, CURVE) head the columns."""
    return 6 if len({c[0] for c in cols}) > 1 else 3


def _header_lines(cols: List[ColKey], indent: int) -> List[str]:
    """Nested column headers: mechanism (if more than one), transport, revision, binder."""
    xs = _offsets(cols)
    levels = [0, 1, 2] if len({c[0] for c in cols}) > 1 else [1, 2]
    lines = []
    for lvl in levels:
        line = ""
        i = 0
        while i < len(cols):
            j = i
            while j < len(cols) and cols[j][: lvl + 1] == cols[i][: lvl + 1]:
                j += 1
            left, right = xs[i], xs[j - 1] + _width(cols)
            line = line.ljust(left) + cols[i][lvl].center(right - left)
            i = j
        lines.append((" " * indent + line).rstrip())
    line = ""
    for x, c in zip(xs, cols):
        line = line.ljust(x) + " " + BINDER_ABBR.get(c[3], c[3])
    lines.append(" " * indent + line)
    return lines


def grid(env: Env, results: Sequence[Result]) -> str:
    peers, cols, rows = _layout(results)
    by: Dict[Tuple[str, RowKey, ColKey], Result] = {}
    for r in results:
        c = r.cell
        by[(c.peer, (c.pattern, c.zmtp_role), (c.mechanism, c.transport, c.revision, c.binder))] = r
    label_w = max([len(_row_label(*rk)) for rk in rows] + [10]) + 2
    xs = _offsets(cols)
    out: List[str] = []
    for peer in peers:
        out.append(_peer_title(env, peer))
        if peer in env.unavailable:
            out.append(f"  unavailable: {env.unavailable[peer]}")
            out.append("")
            continue
        out.extend(_header_lines(cols, label_w))
        for rk in rows:
            if not any((peer, rk, ck) in by for ck in cols):
                continue  # a pattern pair this peer has no cells for (the zmtp peer: drafts only)
            line = ""
            for x, ck in zip(xs, cols):
                r = by.get((peer, rk, ck))
                line = line.ljust(x) + " " + (SYMBOL.get(r.status, "?") if r else " ")
            out.append(_row_label(*rk).ljust(label_w) + line)
        out.append("")
    out.append(LEGEND)
    return "\n".join(out)


def failures(results: Sequence[Result]) -> List[Result]:
    return [r for r in results if r.status == FAIL]


def counts(results: Sequence[Result]) -> Dict[str, int]:
    n = {PASS: 0, FAIL: 0, UNAVAILABLE: 0, NA: 0}
    for r in results:
        n[r.status] += 1
    return n


def summary_line(results: Sequence[Result]) -> str:
    n = counts(results)
    return f"{n[PASS]} passed, {n[FAIL]} failed"


def text_report(env: Env, results: Sequence[Result], impl_desc: str) -> str:
    out = [f"zmtp seat: {impl_desc}", "", grid(env, results), ""]
    fails = failures(results)
    if fails:
        out.append(f"Failures ({len(fails)}):")
        for r in fails:
            out.append(f"  ✗ {r.cell.describe()}")
            out.append(f"      {r.reason}")
        out.append("")
    n = counts(results)
    out.append(f"({n[UNAVAILABLE]} unavailable, {n[NA]} n/a)")
    out.append(summary_line(results))
    return "\n".join(out)


def markdown_report(env: Env, results: Sequence[Result], impl_desc: str) -> str:
    peers, cols, rows = _layout(results)
    by = {(r.cell.peer, (r.cell.pattern, r.cell.zmtp_role),
           (r.cell.mechanism, r.cell.transport, r.cell.revision, r.cell.binder)): r for r in results}
    multi_mech = len({c[0] for c in cols}) > 1
    heads = [" ".join(([c[0]] if multi_mech else []) + [c[1], c[2], BINDER_ABBR[c[3]]]) for c in cols]
    out = ["# zmtp interop matrix", "", f"zmtp seat: `{impl_desc}`", "", LEGEND, ""]
    for peer in peers:
        out.append(f"## {_peer_title(env, peer)}")
        out.append("")
        if peer in env.unavailable:
            out.append(f"unavailable: {env.unavailable[peer]}")
            out.append("")
            continue
        out.append("| pattern | zmtp | " + " | ".join(heads) + " |")
        out.append("|---|---|" + "---|" * len(cols))
        for rk in rows:
            if not any((peer, rk, ck) in by for ck in cols):
                continue
            pat = next(p for p in PATTERNS if p.name == rk[0])
            cells = []
            for ck in cols:
                r = by.get((peer, rk, ck))
                cells.append(SYMBOL.get(r.status, "?") if r else "")
            out.append(f"| {rk[0]} | {pat.role_type(rk[1])} ({rk[1]}) | " + " | ".join(cells) + " |")
        out.append("")
    fails = failures(results)
    if fails:
        out.append("## Failures")
        out.append("")
        for r in fails:
            reason = r.reason.replace("|", "\\|")
            out.append(f"- **{r.cell.describe()}**: {reason}")
        out.append("")
    n = counts(results)
    out.append(f"{n[UNAVAILABLE]} unavailable, {n[NA]} n/a")
    out.append("")
    out.append(summary_line(results))
    return "\n".join(out) + "\n"


def json_report(env: Env, results: Sequence[Result], impl_desc: str) -> str:
    peers: Dict[str, Dict[str, object]] = {}
    for name, p in env.peers.items():
        reason: Optional[str] = env.unavailable.get(name)
        peers[name] = {"description": p.description, "available": reason is None, "reason": reason,
                       "info": env.peer_info.get(name, {}), "transports": sorted(p.transports)}
    doc = {"impl": impl_desc, "peers": peers, "counts": counts(results),
           "summary": summary_line(results), "cells": [r.to_json() for r in results]}
    return json.dumps(doc, indent=1)


class Progress:
    """Live progress while the matrix runs, so a long run never looks dead.

    On a terminal: one status line rewritten in place (cells done, elapsed time, the last cell), with
    failures printed above it as they happen.  Piped (CI logs): one line per finished grid row (peer,
    pattern, zmtp's role) with its counts and time, flushed at once, so a log shows where time goes.
    """

    def __init__(self, cells: Sequence[Cell], stream: TextIO, tty: Optional[bool] = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.total = len(cells)
        self.done = 0
        self.t0 = time.monotonic()
        self._row_total: Dict[Tuple[str, str, str], int] = {}
        self._row_results: Dict[Tuple[str, str, str], List[Result]] = {}
        for c in cells:
            key = self._key(c)
            self._row_total[key] = self._row_total.get(key, 0) + 1
        self._shown = 0

    @staticmethod
    def _key(c: Cell) -> Tuple[str, str, str]:
        return c.peer, c.pattern, c.zmtp_role

    def _write_status(self, text: str) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        line = text[:width]
        self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
        self._shown = len(line)
        self.stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def update(self, r: Result) -> None:
        """One cell finished."""
        self.done += 1
        elapsed = time.monotonic() - self.t0
        key = self._key(r.cell)
        row = self._row_results.setdefault(key, [])
        row.append(r)
        if self.tty:
            if r.status == FAIL:
                self._clear()
                self.stream.write(f"{SYMBOL[FAIL]} {r.cell.describe()}\n      {r.reason}\n")
            mark = SYMBOL.get(r.status, "?")
            self._write_status(f"[{self.done}/{self.total} {elapsed:4.0f}s] {mark} {r.cell.describe()}")
            return
        if len(row) == self._row_total[key]:
            n = {st: sum(1 for x in row if x.status == st) for st in (PASS, FAIL, NA, UNAVAILABLE)}
            secs = sum(x.seconds for x in row)
            counts_text = ", ".join(f"{v} {k}" for k, v in n.items() if v)
            pattern = next(p for p in PATTERNS if p.name == key[1])
            self.stream.write(f"[{self.done:4d}/{self.total} {elapsed:5.0f}s] {key[0]:<14} {key[1]:<{NAME_W}} "
                              f"zmtp={pattern.role_type(key[2])}({key[2]}): {counts_text} in {secs:.1f}s\n")
            for x in row:
                if x.status == FAIL:
                    self.stream.write(f"      {SYMBOL[FAIL]} {x.cell.describe()}: {x.reason}\n")
            self.stream.flush()

    def close(self) -> None:
        """Before the report: take the status line away."""
        if self.tty:
            self._clear()
            self.stream.flush()
