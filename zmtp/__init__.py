"""zmtp: a pure-Python implementation of ZMTP 3.x, the ZeroMQ wire protocol.

``import zmtp as zmq`` runs ordinary pyzmq code against libzmq (or any ZeroMQ) peers, with no
compiled dependency.  The sans-IO protocol core is :mod:`zmtp.protocol`.
"""

from __future__ import annotations

from .constants import *  # noqa: F403
from .constants import Errno, Event, Flag, PollEvent, SecurityMechanism, SocketOption, SocketType
from .context import Context, ContextOption, SyncContext
from .devices import FORWARDER, QUEUE, STREAMER, device  # zmq_device and zmtp.devices
from .error import (
    Again,
    ContextTerminated,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
)
from .message import Frame, Message, MessageTracker
from .poll import Poller, select
from .proxy import proxy, proxy_steerable
from .socket import Socket, SyncSocket
from .utils.curve import curve_keypair, curve_public

__version__ = "0.1.0"
#: The libzmq version we behave like (pyzmq's ``zmq.zmq_version()``).
LIBZMQ_VERSION = "4.3.5"
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = 4, 3, 5


def zmq_version() -> str:
    return LIBZMQ_VERSION


def zmq_version_info() -> tuple[int, int, int]:
    return (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)


def pyzmq_version() -> str:
    return __version__


def has(capability: str) -> bool:
    """Which optional features exist (pyzmq's ``zmq.has``): ipc, draft, curve (pure Python or a faster crypto
    backend, :mod:`zmtp.crypto`) and plain.  libzmq's ``zmq_has`` knows no "plain" (pyzmq answers
    False although every libzmq has PLAIN); zmtp answers True."""
    return capability in {"ipc", "draft", "curve", "plain"}


__all__ = [
    "Context", "SyncContext", "ContextOption", "Socket", "SyncSocket", "Frame", "Message", "MessageTracker",
    "Poller", "select", "proxy", "proxy_steerable",
    "ZMQBaseError", "ZMQError", "Again", "ContextTerminated", "NotDone", "ZMQBindError", "ZMQVersionError",
    "strerror", "Errno", "Event", "Flag", "PollEvent", "SecurityMechanism", "SocketOption", "SocketType",
    "zmq_version", "zmq_version_info", "pyzmq_version", "has", "__version__",
    "device", "QUEUE", "FORWARDER", "STREAMER",
    "curve_keypair", "curve_public",
]
