"""tornado's IOLoop under pyzmq's old name (deprecated in pyzmq 17: any tornado IOLoop works)."""

from __future__ import annotations

import warnings

from tornado.ioloop import IOLoop

#: pyzmq's old name for tornado's IOLoop.
ZMQIOLoop = IOLoop


def install() -> None:
    """Deprecated in pyzmq 17: nothing to install."""
    warnings.warn(
        "zmq.eventloop.ioloop.install is deprecated in pyzmq 17; tornado's default IOLoop works as it is",
        DeprecationWarning,
        stacklevel=2,
    )


__all__ = ["IOLoop", "ZMQIOLoop", "install"]
