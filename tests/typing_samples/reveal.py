# ruff: noqa: F821  (reveal_type is known to type checkers only; this file is never run)
"""What a type checker infers for the key calls; each ``reveal_type`` line names the expected type
after ``# revealed:`` (tests/test_typing.py compares them with mypy's notes)."""

from __future__ import annotations

import zmtp
import zmtp as zmq

ctx = zmq.Context()
reveal_type(ctx)  # revealed: zmtp.context.Context[zmtp.socket.Socket[builtins.bytes]]
sock = ctx.socket(zmq.DEALER)
reveal_type(sock)  # revealed: zmtp.socket.Socket[builtins.bytes]
reveal_type(sock.recv())  # revealed: builtins.bytes
reveal_type(sock.recv(zmq.NOBLOCK))  # revealed: builtins.bytes
reveal_type(sock.recv(copy=False))  # revealed: zmtp.message.Frame
reveal_type(sock.recv(0, copy=False))  # revealed: zmtp.message.Frame
reveal_type(sock.recv_multipart())  # revealed: builtins.list[builtins.bytes]
reveal_type(sock.recv_multipart(copy=False))  # revealed: builtins.list[zmtp.message.Frame]
reveal_type(sock.recv_string())  # revealed: builtins.str
reveal_type(sock.send(b"x"))  # revealed: zmtp.message.MessageTracker | None
reveal_type(zmq.REQ)  # revealed: zmtp.constants.SocketType
reveal_type(zmq.XREP)  # revealed: zmtp.constants.SocketType
reveal_type(zmq.LINGER)  # revealed: zmtp.constants.SocketOption
reveal_type(zmq.EVENT_CONNECTED)  # revealed: zmtp.constants.Event
reveal_type(zmq.PROTOCOL_ERROR_ZMTP_UNSPECIFIED)  # revealed: zmtp.constants.Event
reveal_type(zmq.IO_THREADS)  # revealed: zmtp.constants.ContextOption
reveal_type(zmq.EAGAIN)  # revealed: zmtp.constants.Errno
reveal_type(zmq.POLLIN)  # revealed: zmtp.constants.PollEvent
reveal_type(zmq.IPC_PATH_MAX_LEN)  # revealed: builtins.int
reveal_type(zmtp.Poller().poll(0))  # revealed: builtins.list[tuple[Any, builtins.int]]
reveal_type(zmq.pyzmq_version_info())  # revealed: tuple[builtins.int, builtins.int, builtins.int]
reveal_type(sock.get_monitor_socket())  # revealed: zmtp.socket.Socket[Any]
frame = sock.recv(copy=False)
reveal_type(frame.bytes)  # revealed: builtins.bytes
reveal_type(frame.get("Peer-Address"))  # revealed: Any
