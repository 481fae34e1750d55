"""Socket options: one :class:`Options` object per socket holds every option's current value.

The defaults here are libzmq's (``options_t`` in src/options.cpp).  Which options exist, their types
and their ranges are in :mod:`zmtp.sockopt`; the socket core validates through that table and stores
here; patterns and transports read the attributes directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Options:
    socket_type: int = 0
    sndhwm: int = 1000
    rcvhwm: int = 1000
    routing_id: bytes = b""
    connect_routing_id: bytes = b""
    linger: int = -1
    rcvtimeo: int = -1
    sndtimeo: int = -1
    reconnect_ivl: int = 100
    reconnect_ivl_max: int = 0
    reconnect_stop: int = 0
    connect_timeout: int = 0
    maxmsgsize: int = -1
    handshake_ivl: int = 30000
    heartbeat_ivl: int = 0
    heartbeat_ttl: int = 0
    heartbeat_timeout: int = -1
    immediate: bool = False
    conflate: bool = False
    router_mandatory: bool = False
    router_handover: bool = False
    router_notify: int = 0
    probe_router: bool = False
    stream_notify: bool = True
    xpub_verbose: bool = False
    xpub_verboser: bool = False
    xpub_nodrop: bool = False
    xpub_manual: bool = False
    xpub_welcome_msg: bytes = b""
    only_first_subscribe: bool = False
    invert_matching: bool = False
    req_correlate: bool = False
    req_relaxed: bool = False
    ipv6: bool = False
    tcp_keepalive: int = -1
    tcp_keepalive_cnt: int = -1
    tcp_keepalive_idle: int = -1
    tcp_keepalive_intvl: int = -1
    tcp_maxrt: int = 0
    tos: int = 0
    backlog: int = 100
    sndbuf: int = -1
    rcvbuf: int = -1
    hello_msg: bytes = b""
    disconnect_msg: bytes = b""
    hiccup_msg: bytes = b""
    multicast_hops: int = 1
    rate: int = 100
    recovery_ivl: int = 10000
    affinity: int = 0
    #: zmtp's own knob: the ZMTP minor version we advertise (1 = 3.1, 0 = 3.0).
    zmtp_minor: int = 1
    # security: NULL (0) by default; PLAIN (1) and CURVE (2) are chosen by setting their options
    mechanism: int = 0
    #: The greeting's as-server flag (PLAIN_SERVER / CURVE_SERVER set it, client options clear it).
    as_server: bool = False
    plain_server: bool = False
    plain_username: bytes = b""
    plain_password: bytes = b""
    curve_server: bool = False
    curve_publickey: bytes = b""
    curve_secretkey: bytes = b""
    curve_serverkey: bytes = b""
    zap_domain: bytes = b""
    zap_enforce_domain: bool = False
