"""zmtp: a pure-Python implementation of ZMTP 3.x, the ZeroMQ wire protocol.

``import zmtp as zmq`` runs ordinary pyzmq code against libzmq (or any ZeroMQ) peers, with no
compiled dependency.  The sans-IO protocol core is :mod:`zmtp.protocol`.

Every name below, the constants included, is written out in this package (no ``globals().update``), so
``mypy --strict`` on a user program sees ``zmtp.REQ`` and friends with their types.
"""

from __future__ import annotations

import logging as _logging

from . import constants as constants
from .constants import *  # noqa: F403
from .context import Context, SyncContext
from .devices import device  # zmq_device and zmtp.devices (QUEUE, FORWARDER, STREAMER: constants)
from .error import (
    Again,
    ContextTerminated,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
)
from .message import Frame, Message, MessageTracker
from .poll import Poller, select, zmq_poll
from .proxy import proxy, proxy_steerable
from .socket import Socket, SyncSocket
from .utils.curve import curve_keypair, curve_public

# The "zmtp" logger says why connections fail (see zmtp.transport.failure); silent unless configured.
_logging.getLogger("zmtp").addHandler(_logging.NullHandler())

#: zmtp's own version.
__version__ = "0.1.0"
#: The libzmq version we behave like (pyzmq's ``zmq.zmq_version()``).
LIBZMQ_VERSION = "4.3.5"
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = 4, 3, 5
#: The pyzmq release whose API zmtp follows (what ``pyzmq_version()`` reports, see there).
PYZMQ_API_VERSION = "27.0.0"
#: pyzmq's default for ``copy_threshold``: frames smaller than this are copied even with copy=False.
COPY_THRESHOLD = 65536


def zmq_version() -> str:
    """The libzmq version zmtp behaves like, as a string ("4.3.5")."""
    return LIBZMQ_VERSION


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version zmtp behaves like, as (major, minor, patch)."""
    return (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)


def pyzmq_version() -> str:
    """The pyzmq version whose API zmtp provides ("27.0.0"), not zmtp's own (``zmtp.__version__``).

    Programs written for pyzmq test this to pick code paths (``pyzmq_version_info() >= (17,)``); the
    answer they need is which pyzmq API they are talking to."""
    return PYZMQ_API_VERSION


def pyzmq_version_info() -> tuple[int, int, int]:
    """:func:`pyzmq_version` as a tuple of ints, e.g. (27, 0, 0)."""
    major, minor, patch = (int(x) for x in PYZMQ_API_VERSION.split("."))
    return (major, minor, patch)


def has(capability: str) -> bool:
    """Which optional features exist (pyzmq's ``zmq.has``): ipc, draft, curve (pure Python or a faster crypto
    backend, :mod:`zmtp.crypto`) and plain.  libzmq's ``zmq_has`` knows no "plain" (pyzmq answers
    False although every libzmq has PLAIN); zmtp answers True."""
    return capability in {"ipc", "draft", "curve", "plain"}


#: True when the draft socket API is available (pyzmq's ``zmq.DRAFT_API``), as ``has("draft")`` says.
DRAFT_API: bool = has("draft")
PYZMQ_DRAFT_API: bool = DRAFT_API

__all__ = [
    "Context", "SyncContext", "Socket", "SyncSocket", "Frame", "Message", "MessageTracker",
    "Poller", "select", "zmq_poll", "proxy", "proxy_steerable", "device",
    "ZMQBaseError", "ZMQError", "Again", "ContextTerminated", "InterruptedSystemCall", "NotDone", "ZMQBindError",
    "ZMQVersionError", "strerror",
    "zmq_version", "zmq_version_info", "pyzmq_version", "pyzmq_version_info", "has", "__version__",
    "LIBZMQ_VERSION", "VERSION_MAJOR", "VERSION_MINOR", "VERSION_PATCH", "PYZMQ_API_VERSION", "COPY_THRESHOLD",
    "DRAFT_API", "PYZMQ_DRAFT_API", "constants", "curve_keypair", "curve_public",
]
__all__ += constants.__all__
