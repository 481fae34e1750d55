"""tornado integration, as pyzmq's ``zmq.eventloop``: :mod:`.zmqstream` (``ZMQStream``), :mod:`.ioloop`,
:mod:`.future`.

tornado is not a dependency of zmtp: importing this package without it raises an ImportError that
names it.  zmtp's sync sockets work with any tornado IOLoop through their edge-triggered ``FD``
(``Socket.fileno()``), exactly as pyzmq's do.
"""

from __future__ import annotations

try:
    from tornado.ioloop import IOLoop
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "zmtp.eventloop needs tornado, which is not installed (pip install tornado); "
        "zmtp.asyncio works without it"
    ) from exc

__all__ = ["IOLoop"]
