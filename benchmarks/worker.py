"""One benchmark process: ``python -m benchmarks.worker --impl zmq|zmtp|raw --role NAME --params JSON``.

Speaks JSON lines on stdout to the orchestrator:
``{"event": "announce", ...}`` (server roles, once bound), ``{"event": "result", "result": {...}}`` and
``{"event": "error", "error": "..."}``. With ``--inproc SERVER CLIENT`` both ends run in this process as
threads sharing one Context (the endpoint is then an ``inproc://`` name given in the parameters).

Standard library only (plus the implementation under test) so that it runs under PyPy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import traceback
from typing import Any, Dict, List, Optional

from benchmarks.common import pin_to
from benchmarks.roles import CLIENT_ROLES, SERVER_ROLES, Params

_out_lock = threading.Lock()


def emit(obj: Dict[str, Any]) -> None:
    line = json.dumps(obj)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def load_impl(name: str) -> Any:
    if name == "raw":
        return None
    return importlib.import_module(name)


def _term(ctx: Any) -> None:
    if ctx is None:
        return
    try:
        ctx.term()
    except Exception:
        traceback.print_exc()


def run_single(impl: Any, role: str, params: Params) -> None:
    ctx = impl.Context() if impl is not None else None
    try:
        if role in SERVER_ROLES:
            result = SERVER_ROLES[role](impl, ctx, params, lambda d: emit(dict(d, event="announce")))
        else:
            result = CLIENT_ROLES[role](impl, ctx, params)
        emit({"event": "result", "result": result})
    finally:
        _term(ctx)


def run_inproc(impl: Any, server: str, client: str, clients: int, params: Params) -> None:
    """Server and ``clients`` clients as threads sharing one Context."""
    ctx = impl.Context()
    announced = threading.Event()
    info: Dict[str, Any] = {}
    results: Dict[str, Any] = {}
    errors: List[str] = []

    def announce(d: Params) -> None:
        info.update(d)
        announced.set()

    def srv() -> None:
        try:
            results["server"] = SERVER_ROLES[server](impl, ctx, params, announce)
        except BaseException:
            errors.append(traceback.format_exc())
            announced.set()

    def cli(i: int) -> None:
        try:
            results[f"client{i}"] = CLIENT_ROLES[client](impl, ctx, dict(params, index=i, **info))
        except BaseException:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=srv, daemon=True)]
    threads[0].start()
    announced.wait()
    if errors:
        raise RuntimeError(errors[0])
    emit(dict(info, event="announce"))
    for i in range(clients):
        t = threading.Thread(target=cli, args=(i,), daemon=True)
        t.start()
        threads.append(t)
    # The server finishing means the measurement is over (latency: the client sent its stop message). A
    # throughput sender may still be blocked on a receiver that stopped at its time cap: don't wait for it.
    threads[0].join()
    for t in threads[1:]:
        t.join(timeout=5.0)
    if errors:
        raise RuntimeError(errors[0])
    merged: Dict[str, Any] = dict(results.get("server") or {})
    for i in range(clients):
        merged.update({k: v for k, v in (results.get(f"client{i}") or {}).items() if k not in merged})
    emit({"event": "result", "result": merged})
    if any(t.is_alive() for t in threads):
        sys.stdout.flush()
        os._exit(0)  # a thread is stuck in send(): term() would wait for it forever
    _term(ctx)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    ap.add_argument("--impl", required=True, help="zmq, zmtp or raw")
    ap.add_argument("--role", help="a server or client role name")
    ap.add_argument("--inproc", nargs=2, metavar=("SERVER", "CLIENT"))
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--params", default="{}", help="JSON object")
    ap.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = ap.parse_args(argv)
    try:
        pin_to(args.cpu)
        params = json.loads(args.params)
        impl = load_impl(args.impl)
        if args.inproc:
            run_inproc(impl, args.inproc[0], args.inproc[1], args.clients, params)
        else:
            run_single(impl, args.role, params)
    except BaseException as e:  # report, never hang silently
        traceback.print_exc()
        emit({"event": "error", "error": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
