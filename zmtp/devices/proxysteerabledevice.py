"""Steerable proxy devices: a :class:`~.proxydevice.Proxy` with a control socket that takes PAUSE,
RESUME, TERMINATE and STATISTICS (pyzmq's ``zmq.devices.proxysteerabledevice``)."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from ..constants import SocketType
from ..proxy import proxy_steerable
from .basedevice import Device
from .proxydevice import ProcessProxy, Proxy, ThreadProxy


class ProxySteerableBase:
    """The control socket's configuration (``bind_ctrl``, ``connect_ctrl``, ``setsockopt_ctrl``)."""

    _sockets: List[Any]
    _context: Any

    def __init__(self, in_type: int, out_type: int, mon_type: int = SocketType.PUB,
                 ctrl_type: Optional[int] = None) -> None:
        super().__init__(in_type=in_type, out_type=out_type, mon_type=mon_type)  # type: ignore[call-arg]
        self.ctrl_type = ctrl_type
        self._ctrl_binds: List[str] = []
        self._ctrl_connects: List[str] = []
        self._ctrl_sockopts: List[Tuple[int, Any]] = []

    def bind_ctrl(self, addr: str) -> None:
        """Bind the control socket to ``addr`` once it exists."""
        self._ctrl_binds.append(addr)

    def bind_ctrl_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port for the control socket."""
        port: int = self._reserve_random_port(addr, *args, **kwargs)  # type: ignore[attr-defined]
        self.bind_ctrl(f"{addr}:{port}")
        return port

    def connect_ctrl(self, addr: str) -> None:
        """Connect the control socket to ``addr`` once it exists."""
        self._ctrl_connects.append(addr)

    def setsockopt_ctrl(self, opt: int, value: Any) -> None:
        """Set an option on the control socket once it exists."""
        self._ctrl_sockopts.append((opt, value))

    def _setup_sockets(self) -> Any:
        ins, outs, mons = super()._setup_sockets()  # type: ignore[misc]
        if self.ctrl_type is None:
            raise TypeError("ctrl_type must be specified")
        ctrls = self._context.socket(self.ctrl_type)
        self._sockets.append(ctrls)
        Device._configure(ctrls, self._ctrl_sockopts, self._ctrl_binds, self._ctrl_connects)
        return ins, outs, mons, ctrls

    def run_device(self) -> None:
        ins, outs, mons, ctrls = self._setup_sockets()
        proxy_steerable(ins, outs, mons, ctrls)


class ProxySteerable(ProxySteerableBase, Proxy):
    """A :class:`Proxy` steered through a control socket."""


class ThreadProxySteerable(ProxySteerableBase, ThreadProxy):
    """:class:`ProxySteerable` in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessProxy):
    """:class:`ProxySteerable` in a background process."""


__all__ = ["ProxySteerable", "ThreadProxySteerable", "ProcessProxySteerable"]
