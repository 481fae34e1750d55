"""The socket option table: which options exist, their types, and where their values live.

``setsockopt``/``getsockopt`` and the attribute form (``sock.linger = 0``) all go through
:data:`OPTIONS`.  An unknown option, a value of the wrong type, or a read-only option is
``ZMQError(EINVAL)``, never silence.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional

from .constants import SocketOption as O


class OptionSpec(NamedTuple):
    attr: Optional[str]  # attribute of Options (None: computed by the socket)
    kind: str  # "int", "bool", "bytes"
    writable: bool = True
    readable: bool = True


OPTIONS: Dict[int, OptionSpec] = {
    O.TYPE: OptionSpec("socket_type", "int", writable=False),
    O.LINGER: OptionSpec("linger", "int"),
    O.RCVTIMEO: OptionSpec("rcvtimeo", "int"),
    O.SNDTIMEO: OptionSpec("sndtimeo", "int"),
    O.SNDHWM: OptionSpec("sndhwm", "int"),
    O.RCVHWM: OptionSpec("rcvhwm", "int"),
    O.ROUTING_ID: OptionSpec("routing_id", "bytes"),
    O.SUBSCRIBE: OptionSpec(None, "bytes", readable=False),
    O.UNSUBSCRIBE: OptionSpec(None, "bytes", readable=False),
    O.RCVMORE: OptionSpec(None, "int", writable=False),
    O.EVENTS: OptionSpec(None, "int", writable=False),
    O.FD: OptionSpec(None, "int", writable=False),
    O.LAST_ENDPOINT: OptionSpec(None, "bytes", writable=False),
    O.RECONNECT_IVL: OptionSpec("reconnect_ivl", "int"),
    O.RECONNECT_IVL_MAX: OptionSpec("reconnect_ivl_max", "int"),
    O.MAXMSGSIZE: OptionSpec("maxmsgsize", "int"),
    O.HANDSHAKE_IVL: OptionSpec("handshake_ivl", "int"),
    O.HEARTBEAT_IVL: OptionSpec("heartbeat_ivl", "int"),
    O.HEARTBEAT_TTL: OptionSpec("heartbeat_ttl", "int"),
    O.HEARTBEAT_TIMEOUT: OptionSpec("heartbeat_timeout", "int"),
    O.IMMEDIATE: OptionSpec("immediate", "bool"),
    O.CONFLATE: OptionSpec("conflate", "bool"),
    O.ROUTER_MANDATORY: OptionSpec("router_mandatory", "bool"),
    O.ROUTER_HANDOVER: OptionSpec("router_handover", "bool"),
    O.PROBE_ROUTER: OptionSpec("probe_router", "bool"),
    O.XPUB_VERBOSE: OptionSpec("xpub_verbose", "bool"),
    O.XPUB_VERBOSER: OptionSpec("xpub_verboser", "bool"),
    O.XPUB_NODROP: OptionSpec("xpub_nodrop", "bool"),
    O.XPUB_MANUAL: OptionSpec("xpub_manual", "bool"),
    O.XPUB_WELCOME_MSG: OptionSpec("xpub_welcome_msg", "bytes"),
    O.INVERT_MATCHING: OptionSpec("invert_matching", "bool"),
    O.REQ_CORRELATE: OptionSpec("req_correlate", "bool"),
    O.REQ_RELAXED: OptionSpec("req_relaxed", "bool"),
    O.IPV6: OptionSpec("ipv6", "bool"),
    O.IPV4ONLY: OptionSpec(None, "bool"),
    O.TCP_KEEPALIVE: OptionSpec("tcp_keepalive", "int"),
    O.TCP_KEEPALIVE_CNT: OptionSpec("tcp_keepalive_cnt", "int"),
    O.TCP_KEEPALIVE_IDLE: OptionSpec("tcp_keepalive_idle", "int"),
    O.TCP_KEEPALIVE_INTVL: OptionSpec("tcp_keepalive_intvl", "int"),
    O.BACKLOG: OptionSpec("backlog", "int"),
    O.SNDBUF: OptionSpec("sndbuf", "int"),
    O.RCVBUF: OptionSpec("rcvbuf", "int"),
    O.MECHANISM: OptionSpec("mechanism", "int", writable=False),
    O.ZAP_DOMAIN: OptionSpec("zap_domain", "bytes"),
    O.HWM: OptionSpec(None, "int"),
}

#: Lower-case attribute names accepted as options (``sock.linger``), pyzmq style.
OPTION_NAMES: Dict[str, int] = {
    name.lower(): int(value) for name, value in O.__members__.items() if int(value) in OPTIONS
}
OPTION_NAMES["identity"] = int(O.ROUTING_ID)
