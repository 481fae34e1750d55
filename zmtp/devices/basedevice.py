"""Devices run in the background (pyzmq's ``zmq.devices.basedevice``).

A device is given socket *types*, not sockets: the sockets are made, configured, bound and connected
in the thread (or process) that runs the device, since sockets are not thread-safe.  ``bind_in``,
``connect_out``, ``setsockopt_in`` ... queue what to do with them once they exist.
"""

from __future__ import annotations

import time
from multiprocessing import Process
from threading import Thread
from typing import Any, Callable, List, Optional, Tuple

from ..constants import Errno, SocketType
from ..context import Context
from ..error import ZMQBindError, ZMQError
from ..proxy import proxy
from ..socket import Socket

#: zmq_device's types (libzmq's numbers); every one of them is a proxy since libzmq 3.2.
STREAMER, FORWARDER, QUEUE = 1, 2, 3


class Device:
    """A proxy between two sockets of the given types, run by :meth:`start` (here: in the caller's
    thread, blocking; see :class:`ThreadDevice` and :class:`ProcessDevice`).

    ``out_type < 0``: one socket serves as both ends.  ``daemon`` (default True) is passed on to the
    thread or process.
    """

    context_factory: Callable[[], Context[Any]] = Context.instance

    def __init__(self, device_type: int = QUEUE, in_type: Optional[int] = None, out_type: Optional[int] = None) -> None:
        if in_type is None:
            raise TypeError("in_type must be specified")
        if out_type is None:
            raise TypeError("out_type must be specified")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        self._in_binds: List[str] = []
        self._in_connects: List[str] = []
        self._in_sockopts: List[Tuple[int, Any]] = []
        self._out_binds: List[str] = []
        self._out_connects: List[str] = []
        self._out_sockopts: List[Tuple[int, Any]] = []
        self._random_addrs: List[str] = []
        self.daemon = True
        self.done = False
        self._sockets: List[Socket[Any]] = []
        self._context: Optional[Context[Any]] = None

    def bind_in(self, addr: str) -> None:
        """Bind the in-socket to ``addr`` once it exists."""
        self._in_binds.append(addr)

    def bind_in_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` now; the in-socket binds it once it exists."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_in(f"{addr}:{port}")
        return port

    def connect_in(self, addr: str) -> None:
        """Connect the in-socket to ``addr`` once it exists."""
        self._in_connects.append(addr)

    def setsockopt_in(self, opt: int, value: Any) -> None:
        """Set an option on the in-socket once it exists."""
        self._in_sockopts.append((opt, value))

    def bind_out(self, addr: str) -> None:
        """Bind the out-socket to ``addr`` once it exists."""
        self._out_binds.append(addr)

    def bind_out_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Reserve a free port on ``addr`` now; the out-socket binds it once it exists."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_out(f"{addr}:{port}")
        return port

    def connect_out(self, addr: str) -> None:
        """Connect the out-socket to ``addr`` once it exists."""
        self._out_connects.append(addr)

    def setsockopt_out(self, opt: int, value: Any) -> None:
        """Set an option on the out-socket once it exists."""
        self._out_sockopts.append((opt, value))

    def _reserve_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        with Context() as ctx:
            with ctx.socket(SocketType.PUSH) as binder:
                for _ in range(5):
                    port = binder.bind_to_random_port(addr, *args, **kwargs)
                    new_addr = f"{addr}:{port}"
                    if new_addr not in self._random_addrs:
                        break
                else:
                    raise ZMQBindError("Could not reserve random port.")
                self._random_addrs.append(new_addr)
        return port

    @staticmethod
    def _configure(sock: Socket[Any], opts: List[Tuple[int, Any]], binds: List[str], connects: List[str]) -> None:
        for opt, value in opts:
            sock.setsockopt(opt, value)
        for addr in binds:
            sock.bind(addr)
        for addr in connects:
            sock.connect(addr)

    def _setup_sockets(self) -> Any:
        ctx = self.context_factory()
        self._context = ctx
        ins = ctx.socket(self.in_type)
        self._sockets.append(ins)
        if self.out_type < 0:
            outs = ins
        else:
            outs = ctx.socket(self.out_type)
            self._sockets.append(outs)
        for opt, value in self._in_sockopts:
            ins.setsockopt(opt, value)
        for opt, value in self._out_sockopts:
            outs.setsockopt(opt, value)
        for addr in self._in_binds:
            ins.bind(addr)
        for addr in self._out_binds:
            outs.bind(addr)
        for addr in self._in_connects:
            ins.connect(addr)
        for addr in self._out_connects:
            outs.connect(addr)
        return ins, outs

    def run_device(self) -> None:
        """Make the sockets and proxy between them (called by :meth:`run`)."""
        ins, outs = self._setup_sockets()
        proxy(ins, outs)

    def _close_sockets(self) -> None:
        for s in self._sockets:
            if s is not None and not s.closed:
                s.close()

    def run(self) -> None:
        """Run the device until its context is terminated (or its sockets closed)."""
        try:
            self.run_device()
        except ZMQError as e:
            if e.errno not in (Errno.ETERM, Errno.ENOTSOCK):
                raise
        finally:
            self.done = True
            self._close_sockets()

    def start(self) -> None:
        """Run the device (blocking here; subclasses run it in the background)."""
        self.run()

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait until the device is done, at most ``timeout`` seconds."""
        start = time.monotonic()
        while not self.done and not (timeout is not None and time.monotonic() - start > timeout):
            time.sleep(0.001)


class BackgroundDevice(Device):
    """A device started in a background thread or process."""

    launcher: Any = None
    _launch_class: Any = None

    def start(self) -> None:
        self.launcher = self._launch_class(target=self.run)
        self.launcher.daemon = self.daemon
        self.launcher.start()

    def join(self, timeout: Optional[float] = None) -> None:
        self.launcher.join(timeout=timeout)


class ThreadDevice(BackgroundDevice):
    """A device run in a background thread (sockets from ``Context.instance()``)."""

    _launch_class = Thread


class ProcessDevice(BackgroundDevice):
    """A device run in a background process (sockets from a new Context there)."""

    _launch_class = Process
    context_factory = Context


__all__ = ["Device", "ThreadDevice", "ProcessDevice", "BackgroundDevice", "STREAMER", "FORWARDER", "QUEUE"]
