"""ZAP authentication on an asyncio event loop: pyzmq's ``zmq.auth.asyncio`` API.

:class:`AsyncioAuthenticator` answers ZAP requests in a task of the running loop.  It waits on the ZAP
socket's edge-triggered ``FD`` with ``loop.add_reader`` and drains the socket while ``EVENTS`` says
POLLIN, so it needs nothing from :mod:`zmtp.asyncio` and works with a plain or an asyncio zmtp context.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Optional

from ..constants import PollEvent, SocketOption
from ..error import Again
from .base import Authenticator

_POLLIN = int(PollEvent.POLLIN)
_DONTWAIT = 1


class AsyncioAuthenticator(Authenticator):
    """An :class:`Authenticator` answering in the running asyncio loop (pyzmq's name and signature;
    ``loop`` is deprecated and ignored there too).  :meth:`start` must be called with a loop running."""

    def __init__(self, context: Any = None, loop: Any = None, encoding: str = "utf-8", log: Any = None) -> None:
        super().__init__(context, encoding, log)
        if loop is not None:
            warnings.warn(f"{self.__class__.__name__}(loop) is deprecated and ignored", DeprecationWarning,
                          stacklevel=2)
        self._task: Optional[asyncio.Task[None]] = None
        self._wakeup: Optional[asyncio.Event] = None
        self._fd = -1
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def start(self) -> None:
        """Bind the ZAP socket and start answering in a task of the running loop."""
        super().start()
        loop = asyncio.get_event_loop()
        self._loop = loop
        self._wakeup = asyncio.Event()
        self._fd = self.zap_socket.getsockopt(SocketOption.FD)
        loop.add_reader(self._fd, self._wakeup.set)
        self._task = asyncio.ensure_future(self._handle_zap())

    async def _handle_zap(self) -> None:
        wakeup = self._wakeup
        assert wakeup is not None
        while self.zap_socket is not None:
            # FD is edge-triggered: read EVENTS (which re-arms it) and drain while it says POLLIN
            while self.zap_socket is not None and self.zap_socket.getsockopt(SocketOption.EVENTS) & _POLLIN:
                try:
                    msg = self.zap_socket.recv_multipart(_DONTWAIT)
                except Again:
                    break
                await self.handle_zap_message(msg)
            wakeup.clear()
            if self.zap_socket is not None and self.zap_socket.getsockopt(SocketOption.EVENTS) & _POLLIN:
                continue
            await wakeup.wait()

    def stop(self) -> None:
        """Stop answering and close the ZAP socket."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._loop is not None and self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._fd = -1
        super().stop()


__all__ = ["AsyncioAuthenticator"]
