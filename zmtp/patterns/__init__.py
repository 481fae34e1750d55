"""Socket patterns as sans-IO logic over :class:`Pipe` objects (RFC 28-31, 41, 48, 49, 51, 52, as
libzmq 4.3 behaves).

``PATTERNS`` maps a numeric socket type (:class:`zmtp.constants.SocketType`) to its class; the socket
layer builds one with ``PATTERNS[socket_type](options, id_seed=random_seed)``.
"""

from __future__ import annotations

from typing import Dict, Type

from ..constants import SocketType
from .base import Pattern
from .channel import Channel
from .clientserver import Client, Peer, Server
from .pair import Pair
from .pipe import GroupChange, Message, OutboundItem, Pipe, SingleMessage, SubscriptionChange
from .pipeline import Pull, Push
from .pubsub import Pub, Sub, XPub, XSub
from .radiodish import GROUP_MAX_LENGTH, Dish, Radio
from .reqrep import Dealer, Rep, Req, Router
from .scattergather import Gather, Scatter
from .stream import StreamPattern

PATTERNS: Dict[int, Type[Pattern]] = {
    SocketType.PAIR: Pair,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.ROUTER: Router,
    SocketType.PULL: Pull,
    SocketType.PUSH: Push,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
    SocketType.STREAM: StreamPattern,
    # draft (thread-safe) types: single-part, see base.py for routing ids and groups
    SocketType.SERVER: Server,
    SocketType.CLIENT: Client,
    SocketType.RADIO: Radio,
    SocketType.DISH: Dish,
    SocketType.GATHER: Gather,
    SocketType.SCATTER: Scatter,
    SocketType.PEER: Peer,
    SocketType.CHANNEL: Channel,
}

__all__ = [
    "PATTERNS", "Pattern", "Pipe", "Message", "OutboundItem", "SubscriptionChange",
    "Pair", "Pub", "Sub", "XPub", "XSub", "Req", "Rep", "Dealer", "Router", "Push", "Pull", "StreamPattern",
    "SingleMessage", "GroupChange", "GROUP_MAX_LENGTH",
    "Client", "Server", "Peer", "Radio", "Dish", "Scatter", "Gather", "Channel",
]
