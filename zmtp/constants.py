"""Numeric constants with libzmq's (and so pyzmq's) values.

Grouped in ``IntEnum`` classes as pyzmq does (``zmtp.SocketType.PUSH``) and re-exported at module level
(``zmtp.PUSH``) so ``import zmtp as zmq`` code keeps working.
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum, IntFlag


class SocketType(IntEnum):
    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    # draft socket types (libzmq's numbering)
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20


class Flag(IntFlag):
    DONTWAIT = 1
    NOBLOCK = 1
    SNDMORE = 2


class PollEvent(IntFlag):
    POLLIN = 1
    POLLOUT = 2
    POLLERR = 4
    POLLPRI = 8


class SocketOption(IntEnum):
    AFFINITY = 4
    ROUTING_ID = 5
    IDENTITY = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    RATE = 8
    RECOVERY_IVL = 9
    SNDBUF = 11
    RCVBUF = 12
    RCVMORE = 13
    FD = 14
    EVENTS = 15
    TYPE = 16
    LINGER = 17
    RECONNECT_IVL = 18
    BACKLOG = 19
    RECONNECT_IVL_MAX = 21
    MAXMSGSIZE = 22
    SNDHWM = 23
    RCVHWM = 24
    MULTICAST_HOPS = 25
    RCVTIMEO = 27
    SNDTIMEO = 28
    IPV4ONLY = 31
    LAST_ENDPOINT = 32
    ROUTER_MANDATORY = 33
    TCP_KEEPALIVE = 34
    TCP_KEEPALIVE_CNT = 35
    TCP_KEEPALIVE_IDLE = 36
    TCP_KEEPALIVE_INTVL = 37
    IMMEDIATE = 39
    XPUB_VERBOSE = 40
    ROUTER_RAW = 41
    IPV6 = 42
    MECHANISM = 43
    PLAIN_SERVER = 44
    PLAIN_USERNAME = 45
    PLAIN_PASSWORD = 46
    CURVE_SERVER = 47
    CURVE_PUBLICKEY = 48
    CURVE_SECRETKEY = 49
    CURVE_SERVERKEY = 50
    PROBE_ROUTER = 51
    REQ_CORRELATE = 52
    REQ_RELAXED = 53
    CONFLATE = 54
    ZAP_DOMAIN = 55
    ROUTER_HANDOVER = 56
    TOS = 57
    CONNECT_ROUTING_ID = 61
    GSSAPI_SERVER = 62
    SOCKS_PROXY = 68
    HANDSHAKE_IVL = 66
    XPUB_NODROP = 69
    XPUB_MANUAL = 71
    XPUB_WELCOME_MSG = 72
    STREAM_NOTIFY = 73
    INVERT_MATCHING = 74
    HEARTBEAT_IVL = 75
    HEARTBEAT_TTL = 76
    HEARTBEAT_TIMEOUT = 77
    XPUB_VERBOSER = 78
    CONNECT_TIMEOUT = 79
    TCP_MAXRT = 80
    THREAD_SAFE = 81
    MULTICAST_MAXTPDU = 84
    BINDTODEVICE = 92
    ZAP_ENFORCE_DOMAIN = 93
    LOOPBACK_FASTPATH = 94
    METADATA = 95
    ROUTER_NOTIFY = 97
    ONLY_FIRST_SUBSCRIBE = 108
    RECONNECT_STOP = 109
    HELLO_MSG = 110
    DISCONNECT_MSG = 111
    PRIORITY = 112
    HICCUP_MSG = 114
    # pyzmq's compatibility alias: HWM sets both SNDHWM and RCVHWM
    HWM = 1


class Event(IntFlag):
    """Socket monitor events (libzmq's ZMQ_EVENT_* values, zmq.h)."""

    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    ALL = 0xFFFF


class MessageOption(IntEnum):
    MORE = 1
    SHARED = 3


class SecurityMechanism(IntEnum):
    NULL = 0
    PLAIN = 1
    CURVE = 2
    GSSAPI = 3


ZMQ_HAUSNUMERO = 156384712


class Errno(IntEnum):
    """Error numbers as libzmq reports them on this platform (pyzmq's ``zmq.Errno``)."""

    EAGAIN = _errno.EAGAIN
    EINVAL = _errno.EINVAL
    EINTR = _errno.EINTR
    EFAULT = _errno.EFAULT
    ENOMEM = _errno.ENOMEM
    ENODEV = _errno.ENODEV
    ENOENT = _errno.ENOENT
    EMFILE = _errno.EMFILE
    ENOTSUP = getattr(_errno, "ENOTSUP", ZMQ_HAUSNUMERO + 1)
    EPROTONOSUPPORT = getattr(_errno, "EPROTONOSUPPORT", ZMQ_HAUSNUMERO + 2)
    ENOBUFS = getattr(_errno, "ENOBUFS", ZMQ_HAUSNUMERO + 3)
    ENETDOWN = getattr(_errno, "ENETDOWN", ZMQ_HAUSNUMERO + 4)
    EADDRINUSE = getattr(_errno, "EADDRINUSE", ZMQ_HAUSNUMERO + 5)
    EADDRNOTAVAIL = getattr(_errno, "EADDRNOTAVAIL", ZMQ_HAUSNUMERO + 6)
    ECONNREFUSED = getattr(_errno, "ECONNREFUSED", ZMQ_HAUSNUMERO + 7)
    EINPROGRESS = getattr(_errno, "EINPROGRESS", ZMQ_HAUSNUMERO + 8)
    ENOTSOCK = getattr(_errno, "ENOTSOCK", ZMQ_HAUSNUMERO + 9)
    EMSGSIZE = getattr(_errno, "EMSGSIZE", ZMQ_HAUSNUMERO + 10)
    EAFNOSUPPORT = getattr(_errno, "EAFNOSUPPORT", ZMQ_HAUSNUMERO + 11)
    ENETUNREACH = getattr(_errno, "ENETUNREACH", ZMQ_HAUSNUMERO + 12)
    ECONNABORTED = getattr(_errno, "ECONNABORTED", ZMQ_HAUSNUMERO + 13)
    ECONNRESET = getattr(_errno, "ECONNRESET", ZMQ_HAUSNUMERO + 14)
    ENOTCONN = getattr(_errno, "ENOTCONN", ZMQ_HAUSNUMERO + 15)
    ETIMEDOUT = getattr(_errno, "ETIMEDOUT", ZMQ_HAUSNUMERO + 16)
    EHOSTUNREACH = getattr(_errno, "EHOSTUNREACH", ZMQ_HAUSNUMERO + 17)
    ENETRESET = getattr(_errno, "ENETRESET", ZMQ_HAUSNUMERO + 18)
    EFSM = ZMQ_HAUSNUMERO + 51
    ENOCOMPATPROTO = ZMQ_HAUSNUMERO + 52
    ETERM = ZMQ_HAUSNUMERO + 53
    EMTHREAD = ZMQ_HAUSNUMERO + 54


# module-level aliases, as pyzmq has them
PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH, XPUB, XSUB, STREAM = (
    SocketType.PAIR, SocketType.PUB, SocketType.SUB, SocketType.REQ, SocketType.REP, SocketType.DEALER,
    SocketType.ROUTER, SocketType.PULL, SocketType.PUSH, SocketType.XPUB, SocketType.XSUB, SocketType.STREAM,
)
DONTWAIT = NOBLOCK = Flag.DONTWAIT
SNDMORE = Flag.SNDMORE
POLLIN, POLLOUT, POLLERR, POLLPRI = PollEvent.POLLIN, PollEvent.POLLOUT, PollEvent.POLLERR, PollEvent.POLLPRI
MORE = MessageOption.MORE
RCVMORE = SocketOption.RCVMORE
NULL, PLAIN, CURVE = SecurityMechanism.NULL, SecurityMechanism.PLAIN, SecurityMechanism.CURVE

globals().update({name: member for name, member in SocketType.__members__.items()})
globals().update({name: member for name, member in SocketOption.__members__.items()})
globals().update({name: member for name, member in Errno.__members__.items()})

__all__ = [
    "SocketType", "Flag", "PollEvent", "SocketOption", "MessageOption", "SecurityMechanism", "Errno",
    "ZMQ_HAUSNUMERO", "DONTWAIT", "NOBLOCK", "SNDMORE", "POLLIN", "POLLOUT", "POLLERR", "POLLPRI", "MORE",
    "NULL", "PLAIN", "CURVE",
    *SocketType.__members__, *SocketOption.__members__, *Errno.__members__,
]
