"""Jupyter both ways: jupyter_client on zmtp driving a real ipykernel kernel on pyzmq, and a pyzmq
jupyter_client driving an ipykernel kernel running on zmtp.

Each run is a subprocess (``jupyter_exchange.py``) so that ``zmq`` can be zmtp in one process and
pyzmq in another: the zmtp side is loaded through ``zmtp_as_zmq.py``, a launcher that aliases ``zmq``
to zmtp in ``sys.modules``.  Steps: start, kernel_info, execute with its stream output on iopub,
completion, heartbeat, interrupt, shutdown; a failure names its step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List

import pytest

pytest.importorskip("jupyter_client", reason="jupyter_client is in the test extra")
pytest.importorskip("ipykernel", reason="ipykernel is in the test extra")
pytest.importorskip("tornado", reason="tornado is in the test extra")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
STEPS = ["start", "kernel_info", "execute", "complete", "heartbeat", "interrupt", "shutdown"]


def _exchange(client: str, client_on_zmtp: bool, kernel_on_zmtp: bool) -> List[Dict[str, Any]]:
    cmd = [sys.executable]
    if client_on_zmtp:
        cmd.append(os.path.join(HERE, "zmtp_as_zmq.py"))
    cmd += [os.path.join(HERE, "jupyter_exchange.py"), client]
    if kernel_on_zmtp:
        cmd.append("--kernel-on-zmtp")
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("JUPYTER_PATH", None)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=90, cwd=HERE)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        pytest.fail(f"the Jupyter exchange hung (90 s); steps so far:\n{out}")
    steps = []
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            steps.append(json.loads(line))
    failed = [s for s in steps if not s["ok"]]
    if failed:
        f = failed[0]
        pytest.fail(f"step {f['step']!r} failed: {f['error']}\n{f.get('traceback', '')}\n"
                    f"stderr:\n{proc.stderr.decode(errors='replace')[-3000:]}")
    done = [s["step"] for s in steps]
    assert done == STEPS, (f"stopped after {done} (exit {proc.returncode});\n"
                           f"stderr:\n{proc.stderr.decode(errors='replace')[-3000:]}")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")[-3000:]
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("client", ["blocking", "async"])
def test_jupyter_client_on_zmtp_drives_a_pyzmq_kernel(client: str) -> None:
    steps = _exchange(client, client_on_zmtp=True, kernel_on_zmtp=False)
    assert steps[0]["zmq"] == "zmtp"
    if client == "async":
        assert steps[0]["socket"] == "zmtp.asyncio"
    else:
        assert steps[2]["output"] == "hello 42 zmq"  # the kernel runs on pyzmq


@pytest.mark.slow
@pytest.mark.parametrize("client", ["blocking", "async"])
def test_pyzmq_jupyter_client_drives_a_kernel_on_zmtp(client: str) -> None:
    steps = _exchange(client, client_on_zmtp=False, kernel_on_zmtp=True)
    assert steps[0]["zmq"] == "zmq"
    if client == "blocking":
        assert steps[2]["output"] == "hello 42 zmtp"  # the kernel's own zmq is zmtp


@pytest.mark.slow
def test_both_sides_on_zmtp() -> None:
    steps = _exchange("blocking", client_on_zmtp=True, kernel_on_zmtp=True)
    assert steps[0]["zmq"] == "zmtp" and steps[2]["output"] == "hello 42 zmtp"


def test_launcher_refuses_after_real_pyzmq() -> None:
    code = (
        f"import sys; sys.path.insert(0, {HERE!r})\n"
        "import zmq, zmtp_as_zmq\n"
        "try:\n    zmtp_as_zmq.install()\nexcept RuntimeError as e:\n    print('refused:', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert out.stdout.decode().startswith("refused: the real pyzmq is already imported")
