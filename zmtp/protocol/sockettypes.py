"""Socket types and which of them may talk to each other (RFC 37 section 3.6; RFC 28-31).

libzmq checks the peer's Socket-Type property in ``mechanism_t::check_socket_type``
(src/mechanism.cpp); the table below is the same, draft types included.
"""

from __future__ import annotations

from typing import Dict, FrozenSet

#: Numeric socket types (libzmq's values) to the names sent in the Socket-Type property.
SOCKET_TYPE_NAMES: Dict[int, str] = {
    0: "PAIR", 1: "PUB", 2: "SUB", 3: "REQ", 4: "REP", 5: "DEALER", 6: "ROUTER", 7: "PULL", 8: "PUSH",
    9: "XPUB", 10: "XSUB", 11: "STREAM", 12: "SERVER", 13: "CLIENT", 14: "RADIO", 15: "DISH",
    16: "GATHER", 17: "SCATTER", 18: "DGRAM", 19: "PEER", 20: "CHANNEL",
}

_PAIRS = {
    "REQ": {"REP", "ROUTER"},
    "REP": {"REQ", "DEALER"},
    "DEALER": {"REP", "DEALER", "ROUTER"},
    "ROUTER": {"REQ", "DEALER", "ROUTER"},
    "PUB": {"SUB", "XSUB"},
    "XPUB": {"SUB", "XSUB"},
    "SUB": {"PUB", "XPUB"},
    "XSUB": {"PUB", "XPUB"},
    "PUSH": {"PULL"},
    "PULL": {"PUSH"},
    "PAIR": {"PAIR"},
    # draft socket types (libzmq built with ZMQ_BUILD_DRAFT_API)
    "SERVER": {"CLIENT"},
    "CLIENT": {"SERVER"},
    "RADIO": {"DISH"},
    "DISH": {"RADIO"},
    "GATHER": {"SCATTER"},
    "SCATTER": {"GATHER"},
    "DGRAM": {"DGRAM"},
    "PEER": {"PEER"},
    "CHANNEL": {"CHANNEL"},
}

#: For each socket type name, the peer socket type names it accepts.
COMPATIBLE: Dict[str, FrozenSet[str]] = {name: frozenset(peers) for name, peers in _PAIRS.items()}


def is_compatible(local: str, peer: str) -> bool:
    """True when a ``local`` socket may talk to a ``peer`` socket (names as on the wire, any case)."""
    peers = COMPATIBLE.get(local.upper())
    return peers is not None and peer.upper() in peers
