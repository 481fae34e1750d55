"""Socket options: their values, defaults (libzmq's) and types.

One :class:`Options` object per socket holds every option's current value.  The socket layer validates
and stores them (``setsockopt``); patterns and transports read the attributes directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Options:
    socket_type: int = 0
    sndhwm: int = 1000
    rcvhwm: int = 1000
    routing_id: bytes = b""
    linger: int = -1
    rcvtimeo: int = -1
    sndtimeo: int = -1
    reconnect_ivl: int = 100
    reconnect_ivl_max: int = 0
    maxmsgsize: int = -1
    handshake_ivl: int = 30000
    heartbeat_ivl: int = 0
    heartbeat_ttl: int = 0
    heartbeat_timeout: int = -1
    immediate: bool = False
    conflate: bool = False
    router_mandatory: bool = False
    router_handover: bool = False
    probe_router: bool = False
    xpub_verbose: bool = False
    xpub_verboser: bool = False
    xpub_nodrop: bool = False
    xpub_manual: bool = False
    xpub_welcome_msg: bytes = b""
    invert_matching: bool = False
    req_correlate: bool = False
    req_relaxed: bool = False
    ipv6: bool = False
    tcp_keepalive: int = -1
    tcp_keepalive_cnt: int = -1
    tcp_keepalive_idle: int = -1
    tcp_keepalive_intvl: int = -1
    backlog: int = 100
    sndbuf: int = -1
    rcvbuf: int = -1
    #: zmtp's own knob: the ZMTP minor version we advertise (1 = 3.1, 0 = 3.0).
    zmtp_minor: int = 1
    # security (PLAIN / CURVE land later; NULL is the default)
    mechanism: int = 0
    plain_server: bool = False
    plain_username: bytes = b""
    plain_password: bytes = b""
    zap_domain: bytes = b""
