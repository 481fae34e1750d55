"""ZAP authentication in a background thread: pyzmq's ``zmq.auth.thread`` API.

:class:`ThreadAuthenticator` binds the ZAP socket in the caller's thread (so the handler exists as soon
as :meth:`~ThreadAuthenticator.start` returns, before any connection needs it) and answers requests in
a daemon thread that polls that socket and an inproc PAIR over which :meth:`~ThreadAuthenticator.stop`
says TERMINATE.  The policy methods (``allow``, ``configure_curve`` ...) may be called while it runs, as
in pyzmq.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List, Optional

from ..constants import PollEvent, SocketType
from .base import Authenticator


class AuthenticationThread(threading.Thread):
    """Runs an :class:`Authenticator`'s requests until TERMINATE arrives on ``pipe``."""

    def __init__(self, authenticator: Authenticator, pipe: Any) -> None:
        super().__init__(daemon=True, name="zmtp-auth")
        self.authenticator = authenticator
        self.log = authenticator.log
        self.pipe: Any = pipe
        self.started = threading.Event()

    def run(self) -> None:
        from ..poll import Poller

        loop = asyncio.new_event_loop()
        poller = Poller()
        zap = self.authenticator.zap_socket
        poller.register(self.pipe, PollEvent.POLLIN)
        poller.register(zap, PollEvent.POLLIN)
        self.started.set()
        try:
            while True:
                events = dict(poller.poll())
                if self.pipe in events:
                    if self._handle_pipe_message(self.pipe.recv_multipart()):
                        return
                if zap in events:
                    # handle_zap_message is a coroutine (a CURVE callback may be async, as in pyzmq)
                    loop.run_until_complete(self.authenticator.handle_zap_message(zap.recv_multipart()))
        finally:
            self.pipe.close()
            self.pipe = None
            loop.close()

    def _handle_pipe_message(self, msg: List[bytes]) -> bool:
        command = msg[0]
        self.log.debug("auth received API command %r", command)
        if command == b"TERMINATE":
            return True
        self.log.error("Invalid auth command from API: %r", command)
        self.pipe.send(b"ERROR")
        return False


class ThreadAuthenticator(Authenticator):
    """An :class:`Authenticator` answering in a background thread (pyzmq's ``ThreadAuthenticator``)."""

    def __init__(self, context: Any = None, encoding: str = "utf-8", log: Any = None) -> None:
        super().__init__(context=context, encoding=encoding, log=log)
        self.pipe: Any = None
        self.pipe_endpoint = f"inproc://{id(self)}.inproc"
        self.thread: Optional[AuthenticationThread] = None

    def start(self) -> None:
        """Bind the ZAP socket and start the thread (RuntimeError if it does not start in 10 s)."""
        from ..socket import Socket

        super().start()
        self.pipe = self.context.socket(SocketType.PAIR, socket_class=Socket)
        self.pipe.linger = 1
        self.pipe.bind(self.pipe_endpoint)
        thread_pipe = self.context.socket(SocketType.PAIR, socket_class=Socket)
        thread_pipe.linger = 1
        thread_pipe.connect(self.pipe_endpoint)
        self.thread = AuthenticationThread(self, thread_pipe)
        self.thread.start()
        if not self.thread.started.wait(timeout=10):
            raise RuntimeError("Authenticator thread failed to start")

    def stop(self) -> None:
        """Stop the thread, then close the ZAP socket."""
        if self.pipe is not None:
            self.pipe.send(b"TERMINATE")
            if self.is_alive():
                assert self.thread is not None
                self.thread.join()
            self.thread = None
            self.pipe.close()
            self.pipe = None
        super().stop()

    def is_alive(self) -> bool:
        """Is the ZAP thread running?"""
        return bool(self.thread and self.thread.is_alive())

    def __del__(self) -> None:
        try:
            self.stop()
        except Exception:
            pass


__all__ = ["ThreadAuthenticator", "AuthenticationThread"]
