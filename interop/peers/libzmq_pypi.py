"""libzmq 4.3.5 through pyzmq from PyPI, in the current Python."""

from __future__ import annotations

import sys

from . import PYZMQ_DRIVER, Peer, python_has_zmq

PEER = Peer(
    name="libzmq-pypi",
    description="libzmq (pyzmq wheel from PyPI, current Python)",
    command=lambda: [sys.executable, "-u", str(PYZMQ_DRIVER)],
    check=lambda: python_has_zmq(sys.executable),
    mechanisms=frozenset({"NULL", "PLAIN", "CURVE", "ZAP"}),
    order=10,
)
