"""Small helpers shared by the pattern modules."""

from __future__ import annotations

from typing import NoReturn

from ..constants import Errno
from ..error import ZMQError


def not_supported() -> NoReturn:
    """libzmq's socket_base_t default ``xsend``/``xrecv``: ENOTSUP (e.g. recv on PUSH, send on SUB)."""
    raise ZMQError(Errno.ENOTSUP)


def bad_state() -> NoReturn:
    """EFSM: REQ/REP called out of turn (RFC 28 sections 3.2, 3.3)."""
    raise ZMQError(Errno.EFSM)
