"""zmtp against itself, for what no other implementation can check: PEER (RFC 51).

zeromq.js has no PEER (no ``connect_peer``) and pyzmq's wheels have no draft API at all, so the draft
pairs also run zmtp against zmtp: a second context of ``zmtp`` in the matrix's own process
(:class:`interop.local.LocalSide`), whatever module sits in the zmtp seat.  Only the draft pattern
pairs get cells here; the classic ones are checked against three real implementations already.
"""

from __future__ import annotations

from . import Peer

DRAFT_PAIRS = frozenset({"CLIENT-SERVER", "RADIO-DISH", "SCATTER-GATHER", "CHANNEL-CHANNEL", "PEER-PEER"})

PEER = Peer(
    name="zmtp",
    description="zmtp itself, in-process (a second context): the draft pairs, PEER-PEER included",
    command=lambda: [],
    transports=frozenset({"tcp", "ipc", "udp"}),
    mechanisms=frozenset({"NULL", "PLAIN", "CURVE", "ZAP"}),
    draft=frozenset({"CLIENT", "SERVER", "RADIO", "DISH", "SCATTER", "GATHER", "CHANNEL", "PEER"}),
    local=True,
    patterns=DRAFT_PAIRS,
    order=50,
    notes="the only peer with PEER",
)
