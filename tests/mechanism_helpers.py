"""Helpers for the PLAIN/CURVE tests: wiring two mechanisms together, and a raw blocking ZMTP driver
that runs one mechanism over a real TCP socket against libzmq (pyzmq), with no engine involved."""

from __future__ import annotations

import os
import socket
import struct
from typing import List, Optional, Tuple

from zmtp.protocol.commands import command_body, split_command
from zmtp.protocol.frames import COMMAND, LONG, MORE, frame_header
from zmtp.protocol.greeting import GREETING_SIZE, Greeting, parse_greeting
from zmtp.protocol.mechanism import Mechanism, PeerErrorCommand
from zmtp.protocol.metadata import encode_metadata


def metadata_for(socket_type: str, **extra: bytes) -> bytes:
    props = {"Socket-Type": socket_type.encode()}
    props.update({k.replace("_", "-"): v for k, v in extra.items()})
    return encode_metadata(props)


def deliver(receiver: Mechanism, bodies: List[bytes]) -> List[bytes]:
    """Hand command bodies to a mechanism as the connection would (split, then receive_command)."""
    replies: List[bytes] = []
    for body in bodies:
        name, data = split_command(body)
        replies.extend(receiver.receive_command(name, data))
    return replies


def handshake(client: Mechanism, server: Mechanism, zap_status: Optional[bytes] = None) -> List[List[bytes]]:
    """Run a handshake to completion in memory; returns every batch of bodies exchanged, in order.

    When the server asks for a ZAP decision the answer is ``zap_status`` (default 200)."""
    log: List[List[bytes]] = []
    to_server = client.start(metadata_for("DEALER", Identity=b"c"))
    to_client = server.start(metadata_for("ROUTER"))
    log += [to_server, to_client]
    for _ in range(10):
        if client.complete and server.complete:
            return log
        if to_server:
            to_client = to_client + deliver(server, to_server)
            to_server = []
            if getattr(server, "auth_request", None) is not None:
                to_client += server.auth_result(zap_status or b"200", b"OK", b"user", {})
            log.append(to_client)
        if to_client:
            to_server = deliver(client, to_client)
            to_client = []
            log.append(to_server)
    raise AssertionError("handshake did not complete")


# -- a raw blocking driver over TCP --------------------------------------------------------------------
def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> Tuple[int, bytes]:
    flags = recv_exactly(sock, 1)[0]
    if flags & LONG:
        size = struct.unpack(">Q", recv_exactly(sock, 8))[0]
    else:
        size = recv_exactly(sock, 1)[0]
    return flags & ~LONG, recv_exactly(sock, size)


def write_frame(sock: socket.socket, flags: int, body: bytes) -> None:
    sock.sendall(frame_header(len(body), flags) + body)


class RawDriver:
    """ZMTP 3.1 greeting + handshake + sealed frames for one mechanism over a connected socket."""

    def __init__(self, sock: socket.socket, mechanism: Mechanism, socket_type: str, identity: bytes = b"") -> None:
        self.sock = sock
        self.mech = mechanism
        self.socket_type = socket_type
        self.identity = identity
        sock.settimeout(5)

    def handshake(self, zap_status: bytes = b"200") -> None:
        self.sock.sendall(Greeting(3, 1, self.mech.name, self.mech.as_server).encode())
        peer = parse_greeting(recv_exactly(self.sock, GREETING_SIZE))
        assert peer.mechanism == self.mech.name
        props = {"Socket-Type": self.socket_type.encode()}
        if self.socket_type in ("REQ", "DEALER", "ROUTER"):
            props["Identity"] = self.identity
        for body in self.mech.start(encode_metadata(props)):
            write_frame(self.sock, COMMAND, body)
        while not self.mech.complete:
            flags, body = read_frame(self.sock)
            assert flags & COMMAND, "data frame during the handshake"
            name, data = split_command(body)
            replies = self.mech.receive_command(name, data)
            refused = False
            if getattr(self.mech, "auth_request", None) is not None:
                replies += self.mech.auth_result(zap_status, b"", b"", {})
                refused = zap_status != b"200"
            for reply in replies:
                write_frame(self.sock, COMMAND, reply)
            if refused:
                return

    def send(self, frames: List[bytes]) -> None:
        for i, frame in enumerate(frames):
            flags, body = self.mech.encode_frame(MORE if i < len(frames) - 1 else 0, frame)
            write_frame(self.sock, flags, body)

    def send_command(self, body: bytes) -> None:
        flags, sealed = self.mech.encode_frame(COMMAND, body)
        write_frame(self.sock, flags, sealed)

    def recv(self) -> List[bytes]:
        """The next data message (commands such as PING are skipped)."""
        frames: List[bytes] = []
        while True:
            wire_flags, wire_body = read_frame(self.sock)
            flags, body = self.mech.decode_frame(wire_flags, wire_body)
            if flags & COMMAND:
                continue
            frames.append(body)
            if not flags & MORE:
                return frames

    def close(self) -> None:
        self.sock.close()


def connect_raw(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def accept_raw() -> Tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)
    return listener, listener.getsockname()[1]


def expect_refusal(driver: RawDriver) -> str:
    """Run the handshake expecting the peer to refuse: 'error:<reason>' or 'closed'."""
    try:
        driver.handshake()
    except PeerErrorCommand as exc:
        return f"error:{exc.reason}"
    except (ConnectionError, socket.timeout, OSError):
        return "closed"
    return "accepted"


__all__ = [
    "metadata_for", "deliver", "handshake", "RawDriver", "connect_raw", "accept_raw", "expect_refusal",
    "read_frame", "write_frame", "command_body", "os",
]
