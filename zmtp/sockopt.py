"""The socket option table: which options exist, their types, ranges, defaults and owners.

``setsockopt``/``getsockopt`` and the attribute form (``sock.linger = 0``) all go through
:data:`OPTIONS`: validation is read from the table (:meth:`OptionSpec.check`), not written as if-chains.
An unknown option, a value out of range, or a read-only option is ``ZMQError(EINVAL)``; a value of the
wrong Python type is ``TypeError`` (pyzmq's behaviour).  Defaults live in :class:`~zmtp.options.Options`
(libzmq's values) and are reported here by :attr:`OptionSpec.default`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Dict, FrozenSet, NamedTuple, Optional

from .constants import Errno
from .constants import SocketOption as O
from .constants import SocketType as T
from .error import ZMQError
from .options import Options

_DEFAULTS = {f.name: f.default for f in fields(Options)}

#: Option kinds: "int" (an int within [lo, hi]), "bool" (stored as bool, read back as 0/1), "bytes"
#: (at most ``hi`` bytes when ``hi`` is set), "key" (a CURVE key: 32 raw bytes or 40 Z85 characters).
INT, BOOL, BYTES, KEY = "int", "bool", "bytes", "key"

_INT_MAX = (1 << 31) - 1
_INT64_MAX = (1 << 63) - 1


class OptionSpec(NamedTuple):
    attr: Optional[str]  # attribute of Options (None: computed or acted on by the socket core)
    kind: str
    lo: int = 0
    hi: int = _INT_MAX
    writable: bool = True
    readable: bool = True
    #: The socket types that have this option (None: all).  Setting it on another type is EINVAL.
    types: Optional[FrozenSet[int]] = None

    @property
    def default(self) -> Any:
        return None if self.attr is None else _DEFAULTS[self.attr]

    def check(self, option: int, value: Any) -> Any:
        """The value to store for ``option``, or TypeError / ZMQError(EINVAL)."""
        kind = self.kind
        if kind in (BYTES, KEY):
            if isinstance(value, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError(f"expected bytes, got: {value!r}")
            value = bytes(value)
            if kind == BYTES and not self.lo <= len(value) <= self.hi:
                raise ZMQError(Errno.EINVAL, f"Invalid length {len(value)} for option {_name(option)}")
            if kind == KEY:
                from .utils.curve import curve_key

                return curve_key(value)  # 32 raw bytes, 40 Z85 characters (41 with a NUL), else EINVAL
            return value
        if isinstance(value, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise TypeError(f"expected int, got: {value!r}")
        if not self.lo <= value <= self.hi:
            raise ZMQError(Errno.EINVAL, f"Invalid value {value} for option {_name(option)}")
        return bool(value) if kind == BOOL else value


def _name(option: int) -> str:
    try:
        return O(option).name
    except ValueError:
        return str(option)


def _types(*names: T) -> FrozenSet[int]:
    return frozenset(int(t) for t in names)


_SUB = _types(T.SUB, T.XSUB)
_ROUTER = _types(T.ROUTER)
_XPUB = _types(T.XPUB)
_REQ = _types(T.REQ)


def _int(attr: str, lo: int = 0, hi: int = _INT_MAX, types: Optional[FrozenSet[int]] = None) -> OptionSpec:
    return OptionSpec(attr, INT, lo, hi, types=types)


def _bool(attr: str, types: Optional[FrozenSet[int]] = None, readable: bool = True) -> OptionSpec:
    return OptionSpec(attr, BOOL, 0, 1, readable=readable, types=types)


def _wbool(attr: str, types: FrozenSet[int]) -> OptionSpec:
    """A socket-type option libzmq takes in the type's ``xsetsockopt`` and has no getter for: reading
    it is EINVAL (pyzmq: "attribute is write-only")."""
    return OptionSpec(attr, BOOL, 0, 1, readable=False, types=types)


OPTIONS: Dict[int, OptionSpec] = {
    O.TYPE: OptionSpec("socket_type", INT, writable=False),
    O.LINGER: _int("linger", -1),
    O.RCVTIMEO: _int("rcvtimeo", -1),
    O.SNDTIMEO: _int("sndtimeo", -1),
    O.SNDHWM: _int("sndhwm"),
    O.RCVHWM: _int("rcvhwm"),
    O.HWM: OptionSpec(None, INT, 0),
    O.ROUTING_ID: OptionSpec("routing_id", BYTES, 1, 255),
    # ROUTER and STREAM (routing_socket_base_t::xsetsockopt): any non-empty id, write-only
    O.CONNECT_ROUTING_ID: OptionSpec("connect_routing_id", BYTES, 1, _INT_MAX, readable=False,
                                     types=_types(T.ROUTER, T.STREAM)),
    O.SUBSCRIBE: OptionSpec(None, BYTES, 0, _INT_MAX, readable=False, types=_SUB),
    O.UNSUBSCRIBE: OptionSpec(None, BYTES, 0, _INT_MAX, readable=False, types=_SUB),
    O.RCVMORE: OptionSpec(None, INT, writable=False),
    O.EVENTS: OptionSpec(None, INT, writable=False),
    O.FD: OptionSpec(None, INT, writable=False),
    O.LAST_ENDPOINT: OptionSpec(None, BYTES, writable=False),
    O.RECONNECT_IVL: _int("reconnect_ivl", -1),
    O.RECONNECT_IVL_MAX: _int("reconnect_ivl_max"),
    O.RECONNECT_STOP: _int("reconnect_stop", 0, 7),
    O.CONNECT_TIMEOUT: _int("connect_timeout"),
    O.MAXMSGSIZE: _int("maxmsgsize", -1, _INT64_MAX),
    O.HANDSHAKE_IVL: _int("handshake_ivl"),
    O.HEARTBEAT_IVL: _int("heartbeat_ivl"),
    O.HEARTBEAT_TTL: _int("heartbeat_ttl", 0, 6553599),
    O.HEARTBEAT_TIMEOUT: _int("heartbeat_timeout", -1),
    O.IMMEDIATE: _bool("immediate"),
    O.CONFLATE: _bool("conflate"),
    O.ROUTER_MANDATORY: _wbool("router_mandatory", _ROUTER),
    O.ROUTER_HANDOVER: _wbool("router_handover", _ROUTER),
    O.ROUTER_NOTIFY: _int("router_notify", 0, 3, _types(T.ROUTER, T.REP)),  # REP is a router in libzmq
    O.PROBE_ROUTER: _wbool("probe_router", _types(T.ROUTER, T.DEALER, T.REQ)),
    O.STREAM_NOTIFY: _wbool("stream_notify", _types(T.STREAM)),
    O.XPUB_VERBOSE: _wbool("xpub_verbose", _XPUB),
    O.XPUB_VERBOSER: _wbool("xpub_verboser", _XPUB),
    O.XPUB_NODROP: _wbool("xpub_nodrop", _types(T.XPUB, T.PUB)),
    O.XPUB_MANUAL: _wbool("xpub_manual", _XPUB),
    O.XPUB_WELCOME_MSG: OptionSpec("xpub_welcome_msg", BYTES, 0, _INT_MAX, readable=False, types=_XPUB),
    O.ONLY_FIRST_SUBSCRIBE: _wbool("only_first_subscribe", _types(T.XPUB, T.XSUB)),
    O.INVERT_MATCHING: _bool("invert_matching", _types(T.PUB, T.XPUB, T.SUB, T.XSUB)),
    O.REQ_CORRELATE: _wbool("req_correlate", _REQ),
    O.REQ_RELAXED: _wbool("req_relaxed", _REQ),
    O.IPV6: _bool("ipv6"),
    O.IPV4ONLY: OptionSpec(None, BOOL, 0, 1),
    O.TCP_KEEPALIVE: _int("tcp_keepalive", -1, 1),
    O.TCP_KEEPALIVE_CNT: _int("tcp_keepalive_cnt", -1),
    O.TCP_KEEPALIVE_IDLE: _int("tcp_keepalive_idle", -1),
    O.TCP_KEEPALIVE_INTVL: _int("tcp_keepalive_intvl", -1),
    O.TCP_MAXRT: _int("tcp_maxrt"),
    O.TOS: _int("tos"),
    O.BACKLOG: _int("backlog"),
    O.SNDBUF: _int("sndbuf", -1),
    O.RCVBUF: _int("rcvbuf", -1),
    O.HELLO_MSG: OptionSpec("hello_msg", BYTES, 0, _INT_MAX, readable=False),
    O.DISCONNECT_MSG: OptionSpec("disconnect_msg", BYTES, 0, _INT_MAX, readable=False),
    O.HICCUP_MSG: OptionSpec("hiccup_msg", BYTES, 0, _INT_MAX, readable=False),
    O.MULTICAST_HOPS: _int("multicast_hops", 1),
    O.RATE: _int("rate", 1),
    O.RECOVERY_IVL: _int("recovery_ivl"),
    O.AFFINITY: _int("affinity", 0, (1 << 64) - 1),
    O.MECHANISM: OptionSpec("mechanism", INT, writable=False),
    O.PLAIN_SERVER: _bool("plain_server"),
    # libzmq 4.3 (src/options.cpp): an empty PLAIN credential or ZAP domain is EINVAL through pyzmq (a
    # non-NULL pointer of length 0); CURVE keys cannot be read back through pyzmq (its 255-byte buffer
    # is neither 32 nor 41 bytes, libzmq's do_getsockopt_curve_key answers EINVAL), so they are write-only.
    O.PLAIN_USERNAME: OptionSpec("plain_username", BYTES, 1, 255),
    O.PLAIN_PASSWORD: OptionSpec("plain_password", BYTES, 1, 255),
    O.CURVE_SERVER: _bool("curve_server"),
    O.CURVE_PUBLICKEY: OptionSpec("curve_publickey", KEY, readable=False),
    O.CURVE_SECRETKEY: OptionSpec("curve_secretkey", KEY, readable=False),
    O.CURVE_SERVERKEY: OptionSpec("curve_serverkey", KEY, readable=False),
    O.ZAP_DOMAIN: OptionSpec("zap_domain", BYTES, 1, 255),
    O.ZAP_ENFORCE_DOMAIN: _bool("zap_enforce_domain"),
    O.THREAD_SAFE: OptionSpec(None, BOOL, writable=False),
}

#: Lower-case attribute names accepted as options (``sock.linger``), pyzmq style.
OPTION_NAMES: Dict[str, int] = {
    name.lower(): int(value) for name, value in O.__members__.items() if int(value) in OPTIONS
}
OPTION_NAMES["identity"] = int(O.ROUTING_ID)


#: Options pyzmq passes as bytes that zmtp does not implement (their transport, mechanism or feature is
#: missing): setting one is EINVAL, as in a libzmq built without the feature, after pyzmq's type check.
_UNIMPLEMENTED_BYTES = frozenset(
    int(o) for o in (
        O.GSSAPI_PRINCIPAL, O.GSSAPI_SERVICE_PRINCIPAL, O.SOCKS_PROXY, O.SOCKS_USERNAME, O.SOCKS_PASSWORD,
        O.BINDTODEVICE, O.TCP_ACCEPT_FILTER, O.METADATA, O.WSS_KEY_PEM, O.WSS_CERT_PEM, O.WSS_TRUST_PEM,
        O.WSS_HOSTNAME,
    )
)


def check_unknown_option(option: int, value: Any) -> None:
    """pyzmq's type check for an option zmtp does not have (it types options by name, int by default):
    TypeError for a str or for a value of the wrong kind; the caller then raises EINVAL."""
    if isinstance(value, str):
        raise TypeError("unicode not allowed, use setsockopt_string")
    if option in _UNIMPLEMENTED_BYTES:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, got: {value!r}")
    elif not isinstance(value, int):
        raise TypeError(f"expected int, got: {value!r}")


def spec_for(option: int) -> OptionSpec:
    """The spec of ``option``; EINVAL for an option zmtp does not have."""
    spec = OPTIONS.get(option)
    if spec is None:
        raise ZMQError(Errno.EINVAL, f"Invalid argument: unknown socket option {option}")
    return spec


__all__ = ["OPTIONS", "OPTION_NAMES", "OptionSpec", "spec_for", "check_unknown_option", "INT", "BOOL", "BYTES", "KEY"]
