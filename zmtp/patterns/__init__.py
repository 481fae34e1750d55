"""Socket patterns as sans-IO logic over :class:`Pipe` objects (RFC 28-31, as libzmq 4.3 behaves).

``PATTERNS`` maps a numeric socket type (:class:`zmtp.constants.SocketType`) to its class; the socket
layer builds one with ``PATTERNS[socket_type](options, id_seed=random_seed)``.
"""

from __future__ import annotations

from typing import Dict, Type

from ..constants import SocketType
from .base import Pattern
from .pair import Pair
from .pipe import Message, OutboundItem, Pipe, SubscriptionChange
from .pipeline import Pull, Push
from .pubsub import Pub, Sub, XPub, XSub
from .reqrep import Dealer, Rep, Req, Router

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
}

__all__ = [
    "PATTERNS", "Pattern", "Pipe", "Message", "OutboundItem", "SubscriptionChange",
    "Pair", "Pub", "Sub", "XPub", "XSub", "Req", "Rep", "Dealer", "Router", "Push", "Pull",
]
