"""JSON as bytes, pyzmq's ``zmq.utils.jsonapi``: ``dumps`` returns UTF-8 bytes, ``loads`` takes bytes."""

from __future__ import annotations

import json
from typing import Any, Union


def dumps(o: Any, **kwargs: Any) -> bytes:
    """Serialize ``o`` to JSON bytes (UTF-8); keyword arguments go to ``json.dumps``."""
    return json.dumps(o, **kwargs).encode("utf8")


def loads(s: Union[bytes, bytearray, memoryview, str], **kwargs: Any) -> Any:
    """Load JSON from bytes or str."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        s = bytes(s).decode("utf8")
    return json.loads(s, **kwargs)


__all__ = ["dumps", "loads"]
