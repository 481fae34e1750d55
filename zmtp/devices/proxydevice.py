"""Proxy devices: a QUEUE that also copies every message to a monitor socket (pyzmq's
``zmq.devices.proxydevice``)."""

from __future__ import annotations

from typing import Any, List, Tuple

from ..constants import SocketType
from ..proxy import proxy
from .basedevice import Device, ProcessDevice, ThreadDevice


class ProxyBase:
    """The monitor socket's configuration (``bind_mon``, ``connect_mon``, ``setsockopt_mon``)."""

    _sockets: List[Any]
    _context: Any

    def __init__(self, in_type: int, out_type: int, mon_type: int = SocketType.PUB) -> None:
        Device.__init__(self, in_type=in_type, out_type=out_type)  # type: ignore[arg-type]
        self.mon_type = mon_type
        self._mon_binds: List[str] = []
        self._mon_connects: List[str] = []
        self._mon_sockopts: List[Tuple[int, Any]] = []

    def bind_mon(self, addr: str) -> None:
        """Bind the monitor socket to ``addr`` once it exists."""
        self._mon_binds.append(addr)

    def bind_mon_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port for the monitor socket."""
        port: int = self._reserve_random_port(addr, *args, **kwargs)  # type: ignore[attr-defined]
        self.bind_mon(f"{addr}:{port}")
        return port

    def connect_mon(self, addr: str) -> None:
        """Connect the monitor socket to ``addr`` once it exists."""
        self._mon_connects.append(addr)

    def setsockopt_mon(self, opt: int, value: Any) -> None:
        """Set an option on the monitor socket once it exists."""
        self._mon_sockopts.append((opt, value))

    def _setup_sockets(self) -> Any:
        ins, outs = Device._setup_sockets(self)  # type: ignore[arg-type]
        mons = self._context.socket(self.mon_type)
        self._sockets.append(mons)
        Device._configure(mons, self._mon_sockopts, self._mon_binds, self._mon_connects)
        return ins, outs, mons

    def run_device(self) -> None:
        ins, outs, mons = self._setup_sockets()
        proxy(ins, outs, mons)


class Proxy(ProxyBase, Device):
    """A QUEUE that sends a copy of each message on a monitor socket (PUB by default)."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """:class:`Proxy` in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """:class:`Proxy` in a background process."""


__all__ = ["Proxy", "ThreadProxy", "ProcessProxy", "ProxyBase"]
