"""libzmq 4.3.4 through Debian's python3-zmq, under the system /usr/bin/python3."""

from __future__ import annotations

from . import PYZMQ_DRIVER, Peer, python_has_zmq

PYTHON = "/usr/bin/python3"

PEER = Peer(
    name="libzmq-debian",
    description="libzmq (Debian python3-zmq under /usr/bin/python3; apt-get install python3-zmq)",
    command=lambda: [PYTHON, "-u", str(PYZMQ_DRIVER)],
    check=lambda: python_has_zmq(PYTHON),
    mechanisms=frozenset({"NULL", "PLAIN", "CURVE", "ZAP"}),
    order=20,
)
