"""The small socket interface the scenarios are written against.

Both the in-process side (:mod:`interop.local`, any pyzmq-style module) and the remote peers
(:mod:`interop.control`) implement it, so a scenario does not care which side is which.
"""

from __future__ import annotations

from typing import List, Optional, Protocol, Sequence, Union

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


class Sock(Protocol):
    label: str

    def setsockopt(self, name: str, value: OptValue) -> None: ...

    def bind(self, endpoint: str) -> str: ...

    def connect(self, endpoint: str) -> None: ...

    def send(self, frames: Sequence[bytes], timeout: int = 1000) -> None: ...

    def recv(self, timeout: int = 1000) -> List[bytes]: ...

    def close(self, linger: int = 0) -> None: ...


class Side(Protocol):
    """One implementation's end of a cell: makes sockets."""

    name: str

    def socket(self, type_name: str, zmtp_version: Optional[tuple[int, int]] = None) -> Sock: ...
