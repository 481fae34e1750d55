"""The in-process side: sockets of a pyzmq-style module (``zmtp``, or ``zmq`` as a stand-in)."""

from __future__ import annotations

import errno as _errno
import importlib
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence

from .api import InteropError, OptValue, Received, Timeout

_ZMQ_ERRNO_NAMES = {156384763: "EFSM", 156384713: "ENOTSUP", 156384765: "ETERM"}


def errno_name(num: Optional[int]) -> str:
    if num is None:
        return "EUNKNOWN"
    if num in _ZMQ_ERRNO_NAMES:
        return _ZMQ_ERRNO_NAMES[num]
    return _errno.errorcode.get(num, f"E{num}")


def load_impl(name: str) -> ModuleType:
    """Import the module under test; raises ImportError with a readable message."""
    mod = importlib.import_module(name)
    for attr in ("Context", "ZMQError"):
        if not hasattr(mod, attr):
            raise ImportError(f"module {name!r} has no {attr}: not a pyzmq-style API (yet)")
    return mod


def impl_version(mod: ModuleType) -> str:
    for attr in ("__version__", "pyzmq_version"):
        v = getattr(mod, attr, None)
        if callable(v):
            v = v()
        if v:
            extra = ""
            zv = getattr(mod, "zmq_version", None)
            if mod.__name__ == "zmq" and callable(zv):
                extra = f" (libzmq {zv()})"
            return f"{mod.__name__} {v}{extra}"
    return mod.__name__


def supports_zmtp_version(mod: ModuleType) -> bool:
    """True if the module's sockets have the zmtp-only ``zmtp_version`` knob."""
    ctx = mod.Context()
    try:
        s = ctx.socket(mod.PAIR)
        try:
            return hasattr(s, "zmtp_version")
        finally:
            s.close(linger=0)
    finally:
        ctx.term()


class LocalSock:
    def __init__(self, side: LocalSide, sock: Any, type_name: str, label: str) -> None:
        self._side = side
        self._mod = side.mod
        self._sock = sock
        self.type_name = type_name
        self.label = label
        self.closed = False

    def _opt(self, name: str) -> int:
        try:
            return int(getattr(self._mod, name))
        except AttributeError:
            raise InteropError("ENOTSUP", f"{self._mod.__name__} has no option {name}") from None

    def _wrap(self, exc: Exception, what: str) -> InteropError:
        if isinstance(exc, self._mod.ZMQError):
            name = errno_name(getattr(exc, "errno", None))
            if name == "EAGAIN":
                return Timeout(f"{self.label} {what}")
            return InteropError(name, f"{self.label} {what}: {exc}")
        return InteropError("EEXC", f"{self.label} {what}: {type(exc).__name__}: {exc}")

    def setsockopt(self, name: str, value: OptValue) -> None:
        try:
            self._sock.setsockopt(self._opt(name), value)
        except InteropError:
            raise
        except Exception as e:
            raise self._wrap(e, f"setsockopt({name})") from e

    def bind(self, endpoint: str) -> str:
        try:
            self._sock.bind(endpoint)
            ep = self._sock.getsockopt(self._opt("LAST_ENDPOINT"))
        except Exception as e:
            raise self._wrap(e, f"bind({endpoint})") from e
        return ep.decode() if isinstance(ep, bytes) else str(ep)

    def connect(self, endpoint: str) -> None:
        try:
            self._sock.connect(endpoint)
        except Exception as e:
            raise self._wrap(e, f"connect({endpoint})") from e

    def send(self, frames: Sequence[bytes], timeout: int = 1000) -> None:
        try:
            self._sock.setsockopt(self._opt("SNDTIMEO"), timeout)
            self._sock.send_multipart(list(frames))
        except Exception as e:
            raise self._wrap(e, "send") from e

    def recv(self, timeout: int = 1000) -> List[bytes]:
        try:
            self._sock.setsockopt(self._opt("RCVTIMEO"), timeout)
            frames = self._sock.recv_multipart()
        except Exception as e:
            raise self._wrap(e, "recv") from e
        return [bytes(f) for f in frames]

    def close(self, linger: int = 0) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.close(linger=linger)
        except Exception as e:
            raise self._wrap(e, "close") from e

    # -- draft socket types, through pyzmq's API: send(routing_id=, group=), Frame properties --
    def send_draft(self, frames: Sequence[bytes], timeout: int = 1000, routing_id: Optional[int] = None,
                   group: Optional[bytes] = None) -> None:
        try:
            self._sock.setsockopt(self._opt("SNDTIMEO"), timeout)
            if len(frames) != 1:
                self._sock.send_multipart(list(frames))  # thread-safe types: EINVAL expected
                return
            kwargs: Dict[str, Any] = {}
            if routing_id is not None:
                kwargs["routing_id"] = routing_id
            if group is not None:
                kwargs["group"] = group.decode("utf-8")  # pyzmq's Frame.group is a str
            self._sock.send(frames[0], **kwargs)
        except Exception as e:
            raise self._wrap(e, "send") from e

    def recv_draft(self, timeout: int = 1000) -> Received:
        try:
            self._sock.setsockopt(self._opt("RCVTIMEO"), timeout)
            frame = self._sock.recv(copy=False)
            routing_id = int(getattr(frame, "routing_id", 0) or 0)
            group = getattr(frame, "group", "") or ""
        except Exception as e:
            raise self._wrap(e, "recv") from e
        return Received([bytes(frame.bytes)], routing_id, group.encode("utf-8") if isinstance(group, str) else group)

    def join(self, group: bytes) -> None:
        try:
            self._sock.join(group)
        except Exception as e:
            raise self._wrap(e, "join") from e

    def leave(self, group: bytes) -> None:
        try:
            self._sock.leave(group)
        except Exception as e:
            raise self._wrap(e, "leave") from e

    def connect_peer(self, endpoint: str) -> int:
        try:
            return int(self._sock.connect_peer(endpoint))
        except Exception as e:
            raise self._wrap(e, f"connect_peer({endpoint})") from e


class LocalSide:
    """Sockets made in this process by a pyzmq-style module; one context per cell."""

    def __init__(self, mod: ModuleType, name: str = "zmtp") -> None:
        self.mod = mod
        self.name = name
        self.ctx = mod.Context()
        self.socks: List[LocalSock] = []
        self._auth: Any = None

    def socket(self, type_name: str, zmtp_version: Optional[tuple[int, int]] = None) -> LocalSock:
        try:
            raw = self.ctx.socket(int(getattr(self.mod, type_name)))
        except Exception as e:
            raise InteropError("EEXC", f"{self.name} socket({type_name}): {type(e).__name__}: {e}") from e
        s = LocalSock(self, raw, type_name, f"{self.name}:{type_name}#{len(self.socks) + 1}")
        self.socks.append(s)
        s.setsockopt("LINGER", 0)
        if zmtp_version is not None:
            if not hasattr(raw, "zmtp_version"):
                raise InteropError("ENOTSUP", f"{self.mod.__name__} sockets have no zmtp_version")
            raw.zmtp_version = zmtp_version
        return s

    def start_auth(self, passwords: Dict[str, str], curve_keys: Sequence[bytes]) -> None:
        """A ``<impl>.auth.thread.ThreadAuthenticator`` in this side's context (zmtp's or pyzmq's)."""
        if self._auth is not None:
            return
        try:
            thread = importlib.import_module(f"{self.mod.__name__}.auth.thread")
            auth = thread.ThreadAuthenticator(self.ctx)
            auth.start()
        except Exception as e:
            raise InteropError("EEXC", f"{self.name} ThreadAuthenticator: {type(e).__name__}: {e}") from e
        self._auth = auth
        if passwords:
            auth.configure_plain(domain="*", passwords=dict(passwords))
        if curve_keys:
            auth.configure_curve_callback(domain="*", credentials_provider=_KeySet(curve_keys))

    def close(self) -> None:
        """Close every socket (and the ZAP handler) and terminate the context."""
        for s in self.socks:
            try:
                s.close(linger=0)
            except InteropError:
                pass
        if self._auth is not None:
            self._auth.stop()
            self._auth = None
        self.ctx.term()


class _KeySet:
    """A CURVE credentials provider (``configure_curve_callback``): admits the listed Z85 keys."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self.keys = {bytes(k) for k in keys}

    def callback(self, domain: str, key: bytes) -> bool:
        return bytes(key) in self.keys
