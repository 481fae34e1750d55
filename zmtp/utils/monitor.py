"""Parsing monitor events, pyzmq's ``zmq.utils.monitor``: ``parse_monitor_message`` and
``recv_monitor_message`` (which also works on asyncio sockets, returning an awaitable)."""

from __future__ import annotations

import inspect
import struct
from typing import Any, Awaitable, Dict, List, Union

from ..constants import Event


def parse_monitor_message(msg: List[bytes]) -> Dict[str, Any]:
    """``{"event": Event, "value": int, "endpoint": bytes}`` from a monitor PAIR's 2-frame message."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError(f"Invalid event message format: {msg}")
    event_id, value = struct.unpack("=hi", msg[0])
    try:
        event: Any = Event(event_id)
    except ValueError:
        event = event_id
    return {"event": event, "value": value, "endpoint": msg[1]}


async def _parse_async(awaitable: Awaitable[List[bytes]]) -> Dict[str, Any]:
    return parse_monitor_message(await awaitable)


def recv_monitor_message(socket: Any, flags: int = 0) -> Union[Dict[str, Any], Awaitable[Dict[str, Any]]]:
    """Receive and parse one monitor event from ``socket`` (the PAIR of ``get_monitor_socket``)."""
    msg = socket.recv_multipart(flags)
    if inspect.isawaitable(msg):
        return _parse_async(msg)
    return parse_monitor_message(msg)


__all__ = ["parse_monitor_message", "recv_monitor_message"]
