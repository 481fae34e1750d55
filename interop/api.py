"""The small socket interface the scenarios are written against.

Both the in-process side (:mod:`interop.local`, any pyzmq-style module) and the remote peers
(:mod:`interop.control`) implement it, so a scenario does not care which side is which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Sequence, Union

OptValue = Union[int, bytes]


class InteropError(Exception):
    """A socket operation failed; ``error`` is an errno-ish name such as ``EAGAIN``."""

    def __init__(self, error: str, detail: str = "") -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error
        self.detail = detail


class Timeout(InteropError):
    """No message (recv) or no room (send) within the timeout: EAGAIN."""

    def __init__(self, detail: str = "") -> None:
        super().__init__("EAGAIN", detail)


class CheckFailed(AssertionError):
    """A scenario's expectation did not hold."""


@dataclass(frozen=True)
class Received:
    """A draft (thread-safe) socket's message: its frame(s) and its properties.

    ``routing_id`` is set by SERVER (libzmq's non-zero 32-bit id, 0 elsewhere); ``group`` by DISH.
    """

    frames: List[bytes] = field(default_factory=list)
    routing_id: int = 0
    group: bytes = b""


class Sock(Protocol):
    label: str

    def setsockopt(self, name: str, value: OptValue) -> None: ...

    def bind(self, endpoint: str) -> str: ...

    def connect(self, endpoint: str) -> None: ...

    def send(self, frames: Sequence[bytes], timeout: int = 1000) -> None: ...

    def recv(self, timeout: int = 1000) -> List[bytes]: ...

    def close(self, linger: int = 0) -> None: ...

    # draft socket types (scenarios_draft.py): message properties, and DISH groups
    def send_draft(self, frames: Sequence[bytes], timeout: int = 1000, routing_id: Optional[int] = None,
                   group: Optional[bytes] = None) -> None: ...

    def recv_draft(self, timeout: int = 1000) -> Received: ...

    def join(self, group: bytes) -> None: ...

    def leave(self, group: bytes) -> None: ...

    def connect_peer(self, endpoint: str) -> int: ...


class Side(Protocol):
    """One implementation's end of a cell: makes sockets."""

    name: str

    def socket(self, type_name: str, zmtp_version: Optional[tuple[int, int]] = None) -> Sock: ...

    def start_auth(self, passwords: Dict[str, str], curve_keys: Sequence[bytes]) -> None:
        """Run a ZAP handler (a ThreadAuthenticator) in this side's context until the cell ends:
        PLAIN ``passwords`` (username -> password), CURVE client public keys (Z85) it admits."""
        ...

    def close(self) -> None:
        """Close every socket made (and the ZAP handler); the side is done."""
        ...
