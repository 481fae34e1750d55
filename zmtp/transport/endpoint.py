"""Endpoint strings: ``tcp://host:port``, ``ipc://path``, ``inproc://name``, ``udp://...`` (libzmq's syntax;
udp addresses are parsed by :mod:`zmtp.transport.udp`).

Parsing errors are ``ZMQError(EINVAL)``; an unknown transport is ``EPROTONOSUPPORT``, as in libzmq.
"""

from __future__ import annotations

import errno as _errno
import socket
from dataclasses import dataclass
from typing import Any, Tuple

from ..constants import IPC_PATH_MAX_LEN, Errno
from ..error import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc", "udp")


@dataclass(frozen=True)
class Endpoint:
    transport: str
    address: str  # everything after "://"

    def __str__(self) -> str:
        return f"{self.transport}://{self.address}"


def parse_endpoint(endpoint: str) -> Endpoint:
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str, not {type(endpoint).__name__}")
    transport, sep, address = endpoint.partition("://")
    if not sep or not address:
        raise ZMQError(Errno.EINVAL, f"Invalid endpoint: {endpoint!r}")
    if transport not in TRANSPORTS:
        raise ZMQError(Errno.EPROTONOSUPPORT, f"Protocol not supported: {transport!r}")
    return Endpoint(transport, address)


def split_host_port(address: str) -> Tuple[str, str]:
    """``host:port`` or ``[v6]:port`` → (host, port); the port may be ``*``."""
    if ";" in address:  # "source;destination": we ignore the source part
        address = address.split(";", 1)[1]
    host, sep, port = address.rpartition(":")
    if not sep or not port:
        raise ZMQError(Errno.EINVAL, f"Invalid tcp address (no port): {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def tcp_bind_addresses(address: str, ipv6: bool) -> Tuple[int, Any]:
    """(family, sockaddr) to bind for a tcp address; ``*`` is every interface."""
    host, port_s = split_host_port(address)
    port = parse_port(port_s)
    if host in ("*", ""):
        return (socket.AF_INET6, ("::", port, 0, 0)) if ipv6 else (socket.AF_INET, ("0.0.0.0", port))
    try:
        family, sockaddr = resolve(host, port, ipv6)
    except ZMQError:
        # libzmq: an interface it cannot resolve is ENODEV for bind
        raise ZMQError(_errno.ENODEV, f"No such device: {host!r}") from None
    if family == socket.AF_INET6 and not ipv6:
        raise ZMQError(_errno.ENODEV, f"No such device: {host!r} (set the IPV6 option for IPv6)")
    return family, sockaddr


def parse_port(port_s: str) -> int:
    if port_s in ("*", "0"):
        return 0
    try:
        port = int(port_s)
    except ValueError:
        raise ZMQError(Errno.EINVAL, f"Invalid port: {port_s!r}") from None
    if not 0 <= port <= 65535:
        raise ZMQError(Errno.EINVAL, f"Invalid port: {port_s!r}")
    return port


def resolve(host: str, port: int, ipv6: bool) -> Tuple[int, Any]:
    family = socket.AF_UNSPEC if ipv6 or ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror:
        raise ZMQError(Errno.EINVAL, f"Invalid address: cannot resolve {host!r}") from None
    if not infos:
        raise ZMQError(Errno.EINVAL, f"Invalid address: cannot resolve {host!r}")
    fam, _, _, _, sockaddr = infos[0]
    return fam, sockaddr


def format_tcp(sockaddr: Any, family: int) -> str:
    if family == socket.AF_INET6:
        return f"tcp://[{sockaddr[0]}]:{sockaddr[1]}"
    return f"tcp://{sockaddr[0]}:{sockaddr[1]}"


def ipc_path(address: str) -> str:
    """The Unix socket path for ``ipc://address``; ``@name`` is Linux's abstract namespace.

    A path of more than IPC_PATH_MAX_LEN bytes does not fit ``sockaddr_un.sun_path``: ENAMETOOLONG, as
    libzmq's ``ipc_address_t::resolve`` says."""
    if len(address.encode("utf-8", "surrogateescape")) > IPC_PATH_MAX_LEN:
        raise ZMQError(_errno.ENAMETOOLONG, "File name too long")
    if address.startswith("@"):
        return "\0" + address[1:]
    return address


def format_ipc(path: str) -> str:
    if path.startswith("\0"):
        return "ipc://@" + path[1:]
    return "ipc://" + path
