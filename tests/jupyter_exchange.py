"""A Jupyter session, step by step, for tests/test_jupyter.py (run as a subprocess).

    python jupyter_exchange.py blocking|async [--kernel-on-zmtp]

The client is jupyter_client (BlockingKernelClient or AsyncKernelClient with their managers) on
whatever ``zmq`` is in this process: real pyzmq, or zmtp when run through ``zmtp_as_zmq.py``.
``--kernel-on-zmtp`` starts the ipykernel kernel through ``zmtp_as_zmq.py`` too (a kernelspec in a
temporary JUPYTER_PATH).  Each step prints one JSON line ``{"step": ..., "ok": ...}``; the first
failure prints its error and ends the run, so the test can say which step failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import traceback
from queue import Empty
from typing import Any, Callable, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 20


def report(step: str, **info: Any) -> None:
    print(json.dumps({"step": step, "ok": True, **info}), flush=True)


def fail(step: str, exc: BaseException) -> None:
    print(json.dumps({"step": step, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc()}), flush=True)
    raise SystemExit(1)


def kernel_name(on_zmtp: bool) -> str:
    if not on_zmtp:
        return "python3"
    root = tempfile.mkdtemp(prefix="zmtp-kernelspec-")
    spec_dir = os.path.join(root, "kernels", "zmtp-python")
    os.makedirs(spec_dir)
    argv = [sys.executable, os.path.join(HERE, "zmtp_as_zmq.py"), "-m", "ipykernel_launcher", "-f",
            "{connection_file}"]
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump({"argv": argv, "display_name": "Python on zmtp", "language": "python"}, f)
    os.environ["JUPYTER_PATH"] = root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    return "zmtp-python"


def until(get: Callable[[], Dict[str, Any]], pred: Callable[[Dict[str, Any]], bool], what: str) -> Dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            msg = get()
        except Empty:
            continue
        if pred(msg):
            return msg
    raise TimeoutError(what)


def blocking(on_zmtp: bool) -> None:
    from jupyter_client.manager import KernelManager

    step = "start"
    try:
        km = KernelManager(kernel_name=kernel_name(on_zmtp))
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=TIMEOUT)
        report(step, zmq=sys.modules["zmq"].__name__)

        step = "kernel_info"
        reply = kc.kernel_info(reply=True, timeout=TIMEOUT)
        assert reply["content"]["status"] == "ok", reply["content"]
        report(step, implementation=reply["content"].get("implementation"))

        step = "execute"
        msg_id = kc.execute("import zmq; print('hello', 6 * 7, zmq.__name__)")
        stream = until(lambda: kc.get_iopub_msg(timeout=1),
                       lambda m: m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id,
                       "stream output on iopub")
        text = stream["content"]["text"]
        assert text.startswith("hello 42 "), text
        reply = until(lambda: kc.get_shell_msg(timeout=1), lambda m: m["parent_header"].get("msg_id") == msg_id,
                      "execute_reply")
        assert reply["content"]["status"] == "ok", reply["content"]
        report(step, output=text.strip())

        step = "complete"
        reply = kc.complete("import o", reply=True, timeout=TIMEOUT)
        assert "os" in reply["content"]["matches"], reply["content"]
        report(step)

        step = "heartbeat"
        time.sleep(1.5)  # the heartbeat channel pings every time_to_dead (1 s), on its own loop thread
        assert kc.hb_channel.is_beating(), "the heartbeat channel reports a dead kernel"
        report(step)

        step = "interrupt"
        msg_id = kc.execute("import time; time.sleep(60)")
        until(lambda: kc.get_iopub_msg(timeout=1),
              lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy"
              and m["parent_header"].get("msg_id") == msg_id, "busy status")
        time.sleep(0.3)
        km.interrupt_kernel()
        reply = until(lambda: kc.get_shell_msg(timeout=1), lambda m: m["parent_header"].get("msg_id") == msg_id,
                      "execute_reply after interrupt")
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt", \
            reply["content"]
        report(step)

        step = "shutdown"
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        assert not km.is_alive()
        report(step)
    except BaseException as exc:
        fail(step, exc)


async def async_run(on_zmtp: bool) -> None:
    from jupyter_client.manager import AsyncKernelManager

    step = "start"
    try:
        km = AsyncKernelManager(kernel_name=kernel_name(on_zmtp))
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=TIMEOUT)
        report(step, zmq=sys.modules["zmq"].__name__, socket=type(kc.shell_channel.socket).__module__)

        step = "kernel_info"
        reply = await kc.kernel_info(reply=True, timeout=TIMEOUT)
        assert reply["content"]["status"] == "ok", reply["content"]
        report(step)

        async def until_async(get: Any, pred: Any, what: str) -> Dict[str, Any]:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                try:
                    msg = await get()
                except Empty:
                    continue
                if pred(msg):
                    return msg  # type: ignore[no-any-return]
            raise TimeoutError(what)

        step = "execute"
        msg_id = kc.execute("print('hello', 6 * 7)")
        stream = await until_async(lambda: kc.get_iopub_msg(timeout=1),
                                   lambda m: m["msg_type"] == "stream"
                                   and m["parent_header"].get("msg_id") == msg_id, "stream output")
        assert stream["content"]["text"] == "hello 42\n", stream["content"]
        reply = await until_async(lambda: kc.get_shell_msg(timeout=1),
                                  lambda m: m["parent_header"].get("msg_id") == msg_id, "execute_reply")
        assert reply["content"]["status"] == "ok"
        # execute_interactive polls iopub with zmq.asyncio.Poller
        outputs = []
        reply = await kc.execute_interactive("print(1 + 1)", output_hook=outputs.append, timeout=TIMEOUT)
        assert reply["content"]["status"] == "ok"
        assert any(m["msg_type"] == "stream" and m["content"]["text"] == "2\n" for m in outputs), outputs
        report(step)

        step = "complete"
        reply = await kc.complete("import o", reply=True, timeout=TIMEOUT)
        assert "os" in reply["content"]["matches"]
        report(step)

        step = "heartbeat"
        await asyncio.sleep(1.5)
        assert kc.hb_channel.is_beating(), "the heartbeat channel reports a dead kernel"
        report(step)

        step = "interrupt"
        msg_id = kc.execute("import time; time.sleep(60)")
        await until_async(lambda: kc.get_iopub_msg(timeout=1),
                          lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy"
                          and m["parent_header"].get("msg_id") == msg_id, "busy status")
        await asyncio.sleep(0.3)
        await km.interrupt_kernel()
        reply = await until_async(lambda: kc.get_shell_msg(timeout=1),
                                  lambda m: m["parent_header"].get("msg_id") == msg_id, "reply after interrupt")
        assert reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
        report(step)

        step = "shutdown"
        kc.stop_channels()
        await km.shutdown_kernel(now=False)
        assert not await km.is_alive()
        report(step)
    except BaseException as exc:
        fail(step, exc)


if __name__ == "__main__":
    mode = sys.argv[1]
    on_zmtp = "--kernel-on-zmtp" in sys.argv
    if mode == "blocking":
        blocking(on_zmtp)
    else:
        asyncio.run(async_run(on_zmtp))
