"""pyzmq's exception classes: ``ZMQError`` with ``.errno``, ``Again``, ``ContextTerminated`` ..."""

from __future__ import annotations

import errno as _errno
import os
from typing import Optional

from .constants import Errno

_MESSAGES = {
    Errno.EFSM: "Operation cannot be accomplished in current state",
    Errno.ETERM: "Context was terminated",
    Errno.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    Errno.EMTHREAD: "No thread available",
    Errno.EAGAIN: "Resource temporarily unavailable",
}


def strerror(errnum: int) -> str:
    """The message libzmq gives for ``errnum`` (``zmq_strerror``), its own numbers included."""
    msg: Optional[str] = _MESSAGES.get(errnum)  # type: ignore[call-overload]
    if msg is not None:
        return msg
    return os.strerror(errnum)


class ZMQBaseError(Exception):
    """Base of every zmtp exception (pyzmq's name)."""


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno, as pyzmq raises it."""

    errno: Optional[int]
    strerror: str

    def __init__(self, errno: Optional[int] = None, msg: Optional[str] = None) -> None:
        if errno is None:
            errno = _errno.EINVAL if msg is None else None
        self.errno = errno
        self.strerror = msg if msg is not None else strerror(errno or 0)
        super().__init__(self.strerror)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strerror!r})"

    def __new__(cls, errno: Optional[int] = None, msg: Optional[str] = None) -> ZMQError:
        # ZMQError(EAGAIN) is an Again, ZMQError(ETERM) a ContextTerminated, as in pyzmq
        if cls is ZMQError:
            sub = _SUBCLASSES.get(errno or 0)
            if sub is not None:
                cls = sub
        return super().__new__(cls)


class Again(ZMQError):
    """EAGAIN: the operation would block (DONTWAIT, or a timeout ran out)."""

    def __init__(self, errno: Optional[int] = None, msg: Optional[str] = None) -> None:
        super().__init__(Errno.EAGAIN if errno is None else errno, msg)


class ContextTerminated(ZMQError):
    """ETERM: the context was terminated while the call was in progress."""

    def __init__(self, errno: Optional[int] = None, msg: Optional[str] = None) -> None:
        super().__init__(Errno.ETERM if errno is None else errno, msg)


class InterruptedSystemCall(ZMQError, InterruptedError):  # type: ignore[misc]
    """EINTR (pyzmq's class): a signal interrupted a call.  zmtp retries interrupted system calls
    itself, so this exists for code that catches it."""

    def __init__(self, errno: Optional[int] = None, msg: Optional[str] = None) -> None:
        super().__init__(_errno.EINTR, msg if msg is not None else "Interrupted system call")


class NotDone(ZMQBaseError):
    """Raised by a message tracker that is not done (pyzmq's name)."""


class ZMQBindError(ZMQBaseError):
    """``bind_to_random_port`` found no free port."""


class ZMQVersionError(NotImplementedError):
    """A feature this version does not provide."""


_SUBCLASSES = {int(Errno.EAGAIN): Again, int(Errno.ETERM): ContextTerminated}

__all__ = [
    "ZMQBaseError", "ZMQError", "Again", "ContextTerminated", "InterruptedSystemCall", "NotDone", "ZMQBindError",
    "ZMQVersionError", "strerror",
]
