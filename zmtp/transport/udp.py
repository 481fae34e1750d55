"""udp://: RADIO and DISH over UDP datagrams, as libzmq 4.3.5 carries them (no ZMTP at all).

libzmq's UDP transport (src/udp_engine.cpp, src/udp_address.cpp) exists for RADIO and DISH only: a
DISH *binds* (it receives), a RADIO *connects* (it sends); anything else is ENOCOMPATPROTO
(socket_base.cpp ``check_protocol``, ``bind``, ``connect_internal``).  There is no handshake, no
connection and no JOIN/LEAVE on the wire: each RADIO message is one datagram

    +-----------+----------------+--------------+
    | group len | group          | body         |
    | 1 byte    | group-len bytes| the rest     |
    +-----------+----------------+--------------+

so the RADIO's UDP pipe takes every group (``Pipe.subscribe_to_all``, libzmq's ``subscribe_to_all``
in ``radio_t::xattach_pipe``) and the DISH keeps only the groups it joined, when the application
receives (dish.cpp ``xrecv``; zmtp's :class:`~zmtp.patterns.radiodish.Dish` does that already).  The
JOINs a DISH queues on its UDP pipe are thrown away (udp_engine ``restart_output``).

Addresses, as :func:`resolve_udp` parses them (udp_address.cpp ``resolve``):

* ``udp://host:port``: a DISH binds ``host`` (``*``, an interface name, an address); a RADIO sends to
  it (a name is resolved).  ``udp://*:port`` only binds.
* ``udp://multicast-group:port``: both sides use the group; the DISH binds ``ANY:port`` and joins it on
  the default interface.
* ``udp://iface;multicast-group:port``: ``iface`` (``*``, an interface name or an address, never a
  name to look up) chooses the interface the DISH joins on and the RADIO sends from; the target must
  then be a multicast group (EINVAL otherwise).
* IPv6 needs the IPV6 option (``udp://[::1]:port``, ``udp://eth0;[ff12::1]:port``); IPv6 multicast
  needs ``*`` or an interface *name* (ENODEV otherwise), as the kernel joins by interface index.

Where zmtp differs from libzmq 4.3.5, on purpose (spec-notes.md Part 4, "UDP"):

* errors come at ``bind``/``connect`` (libzmq opens the socket later, in its I/O thread, and retries
  a failing bind silently); a port must be 0-65535 (libzmq wraps ``atoi``: ``99999`` is 34463);
* ``bind("udp://host:*")`` gets a free port and LAST_ENDPOINT names it (libzmq answers ``host:*``,
  without the ``udp://``); ``unbind`` works (libzmq's answers ENOENT);
* a datagram whose group length byte is 128 or more is read as unsigned (libzmq reads a signed
  ``char`` and aborts: "Cannot allocate memory (udp_engine.cpp:547)");
* the RADIO never sends a datagram over :data:`MAX_UDP_MSG` bytes (libzmq's RADIO writes past its
  8 KiB buffer and sends it; a libzmq DISH then delivers the body cut short): such a message is dropped
  on the UDP pipe, as RADIO drops what a peer cannot take; the DISH takes datagrams of any size;
* MULTICAST_HOPS sets IPV6_MULTICAST_HOPS on IPv6 (libzmq passes IP_MULTICAST_TTL's number at the
  IPv6 level, which Linux reads as IPV6_FLOWINFO_SEND);
* a failed ``sendto`` loses that datagram only (libzmq tears the engine down and reconnects).

Flow control: the DISH stops reading while its pipe holds RCVHWM messages (the kernel's socket buffer
then drops what comes), as libzmq's ``in_event`` does with ``reset_pollin``.  Everything here runs with
the context lock held.
"""

from __future__ import annotations

import errno as _errno
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from ..constants import Errno
from ..error import ZMQError
from ..patterns.pipe import Pipe
from ..reactor import READ, WRITE, Handler, Reactor
from .owner import Owner

#: libzmq's datagram buffer (udp_engine.hpp ``MAX_UDP_MSG``): the largest datagram a libzmq DISH reads
#: whole, so the largest our RADIO sends.
MAX_UDP_MSG = 8192
#: Datagrams handled per readiness event, so a flood does not starve the reactor's other work.
READ_BATCH = 256
#: Datagrams sent per flush before going back to the reactor (WRITE interest brings us back).
WRITE_BATCH = 256

Sockaddr = Tuple[Any, ...]


# -- the datagram format ---------------------------------------------------------------------------
def encode_datagram(group: bytes, body: bytes) -> Optional[bytes]:
    """One RADIO message as libzmq's ``udp_engine_t::out_event`` frames it, or None when it cannot be
    sent: a group over 255 bytes (the length is one byte), or a datagram over :data:`MAX_UDP_MSG`."""
    n = len(group)
    if n > 255 or 1 + n + len(body) > MAX_UDP_MSG:
        return None
    return b"".join((bytes((n,)), group, body))


def decode_datagram(data: Any) -> Optional[Tuple[bytes, bytes]]:
    """``(group, body)`` from a received datagram, or None for one that is malformed: empty, or shorter
    than its group length says (libzmq ``in_event``: "This doesn't fit, just ignore").  The length byte
    is unsigned (0-255)."""
    size = len(data)
    if size == 0:
        return None
    n = data[0]
    if size - 1 < n:
        return None
    return bytes(data[1 : 1 + n]), bytes(data[1 + n : size])


# -- addresses --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UdpAddress:
    """A resolved ``udp://`` address (udp_address.cpp's ``udp_address_t``)."""

    family: int
    #: Where a RADIO sends (a unicast address or a multicast group), with the port.
    target: Sockaddr
    #: What a DISH binds: the target for unicast, ANY (or the interface's address) for multicast.
    bind: Sockaddr
    multicast: bool
    #: Interface index for IPv6 multicast: 0 any, -1 unknown (an address, not a name, was given).
    interface: int


def _err(code: int, text: str) -> ZMQError:
    return ZMQError(code, text)


def _is_multicast(family: int, host: str) -> bool:
    """224.0.0.0/4 or ff00::/8 (``ip_addr_t::is_multicast``)."""
    first = socket.inet_pton(family, host.partition("%")[0])[0]
    return 224 <= first <= 239 if family == socket.AF_INET else first == 0xFF


def _any(family: int, port: int) -> Sockaddr:
    return ("::", port, 0, 0) if family == socket.AF_INET6 else ("0.0.0.0", port)


def _if_index(name: str) -> Optional[int]:
    """The index of the network interface called ``name``, or None when there is none.  PyPy's
    ``socket`` has no ``if_nametoindex``: there the index comes from sysfs (Linux) or libc."""
    lookup = getattr(socket, "if_nametoindex", None)
    if lookup is not None:
        try:
            return int(lookup(name))
        except (OSError, ValueError):
            return None
    if not name or "/" in name or name in (".", ".."):
        return None
    try:
        with open(f"/sys/class/net/{name}/ifindex") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        pass
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        index = int(libc.if_nametoindex(name.encode()))
    except (OSError, AttributeError, TypeError):
        return None
    return index or None


def _nic_address(name: str, ipv6: bool) -> Optional[str]:
    """The address of the network interface called ``name`` (libzmq ``resolve_nic_name``), or None
    when there is no such interface (or it has no address of that family)."""
    if _if_index(name) is None:
        return None
    if ipv6:
        try:
            with open("/proc/net/if_inet6") as f:  # Linux: address, index, prefix, scope, flags, name
                for line in f:
                    fields = line.split()
                    if len(fields) == 6 and fields[5] == name:
                        hexa = fields[0]
                        return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hexa))
        except (OSError, ValueError):
            pass
        return None
    if sys.platform == "win32":  # pragma: no cover - no SIOCGIFADDR
        return None
    import fcntl

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        packed = fcntl.ioctl(probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
    except OSError:
        return None
    finally:
        probe.close()
    return socket.inet_ntoa(packed[20:24])


def _resolve_host(host: str, *, bindable: bool, dns: bool, nic: bool, ipv6: bool) -> Tuple[int, str, int]:
    """``(family, address, scope id)`` for the host part of an address (libzmq ``ip_resolver_t``):
    ``*`` when bindable, then an interface name when allowed, then getaddrinfo (numeric only unless
    ``dns``).  Failure is ENODEV for a bindable address, EINVAL otherwise."""
    if len(host) >= 2 and host[0] == "[" and host[-1] == "]":
        host = host[1:-1]
    scope = 0
    if "%" in host:
        host, _, zone = host.rpartition("%")
        try:
            scope = (_if_index(zone) or 0) if zone[:1].isalpha() else int(zone)
        except ValueError:
            scope = 0
        if scope <= 0:
            raise _err(Errno.EINVAL, f"Invalid zone id in {host}%{zone}")
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    if bindable and host == "*":
        return family, ("::" if ipv6 else "0.0.0.0"), 0
    if nic and host:
        found = _nic_address(host, ipv6)
        if found is not None:
            return family, found, scope
    flags = (socket.AI_PASSIVE if bindable else 0) | (0 if dns else socket.AI_NUMERICHOST)
    if ipv6:
        flags |= getattr(socket, "AI_V4MAPPED", 0)
    try:
        infos = socket.getaddrinfo(host, None, family, socket.SOCK_DGRAM, 0, flags)
    except (socket.gaierror, UnicodeError):
        infos = []
    if not infos:
        if bindable:
            raise _err(_errno.ENODEV, f"No such device: {host!r}")
        raise _err(Errno.EINVAL, f"Invalid address: cannot resolve {host!r}")
    fam, _, _, _, sockaddr = infos[0]
    found_scope = int(sockaddr[3]) if fam == socket.AF_INET6 and len(sockaddr) > 3 else 0
    return fam, str(sockaddr[0]), scope or found_scope


def _parse_port(port_s: str, bindable: bool) -> int:
    """``*`` (bind only) and ``0`` mean "any port"; otherwise 1-65535 (EINVAL)."""
    if port_s == "*":
        if bindable:
            return 0
        raise _err(Errno.EINVAL, "Invalid port '*' (only a bind may choose any port)")
    if port_s.isdigit() and int(port_s) <= 65535:
        return int(port_s)
    raise _err(Errno.EINVAL, f"Invalid port: {port_s!r}")


def _sockaddr(family: int, host: str, port: int, scope: int = 0) -> Sockaddr:
    return (host, port, 0, scope) if family == socket.AF_INET6 else (host, port)


def resolve_udp(address: str, bind: bool, ipv6: bool) -> UdpAddress:
    """Parse ``address`` (what follows ``udp://``) as libzmq 4.3.5's ``udp_address_t::resolve`` does;
    ``bind`` for a DISH, not for a RADIO.  Errors are ``ZMQError`` EINVAL or ENODEV, as libzmq's."""
    name = address
    interface = -1
    iface: Optional[Tuple[int, str, int]] = None
    source, sep, rest = name.rpartition(";")
    if sep:
        # "iface;multicast:port": literals or interface names only, no DNS, no port
        iface = _resolve_host(source, bindable=True, dns=False, nic=True, ipv6=ipv6)
        if _is_multicast(iface[0], iface[1]):
            raise _err(Errno.EINVAL, f"Invalid udp address: a multicast source {source!r}")
        if source == "*":
            interface = 0
        else:
            index = _if_index(source)
            interface = -1 if index is None else index
        name = rest
    host, colon, port_s = name.rpartition(":")
    if not colon:
        raise _err(Errno.EINVAL, f"Invalid udp address (no port): {address!r}")
    port = _parse_port(port_s, bind)
    family, target_host, scope = _resolve_host(host, bindable=bind, dns=True, nic=bind, ipv6=ipv6)
    multicast = _is_multicast(family, target_host)
    target = _sockaddr(family, target_host, port, scope)
    if iface is not None:
        if not multicast:
            raise _err(Errno.EINVAL, f"Invalid udp address: {address!r} names an interface for a unicast target")
        if iface[0] != family:
            raise _err(Errno.EINVAL, f"Invalid udp address: {address!r} mixes IPv4 and IPv6")
        bind_to = _sockaddr(family, iface[1], port, iface[2])
    elif multicast or not bind:
        bind_to = _any(family, port)
        interface = 0
    else:
        bind_to = target
    if ipv6 and multicast and interface < 0:
        raise _err(_errno.ENODEV, f"IPv6 multicast needs '*' or an interface name before ';': {address!r}")
    return UdpAddress(family, target, bind_to, multicast, interface)


# -- the engine -------------------------------------------------------------------------------------
class UdpEngine(Handler):
    """One UDP socket of a DISH (it receives) or a RADIO (it sends), with its pipe.

    To the socket core it looks like a stream (``add_stream`` / ``stream_closed``, ``flush``,
    ``has_pending_output``, ``lingering``, ``resume_reading``), so closing, lingering and the
    send-side batching apply unchanged.  A RADIO's engine lingers while datagrams are queued.
    """

    def __init__(self, owner: Owner, address: UdpAddress, endpoint: str, sending: bool) -> None:
        self.owner = owner
        self.reactor: Reactor = owner.reactor
        self.address = address
        self.endpoint = endpoint
        self.sending = sending
        #: Never a connecter: no reconnects, no handshake (for the core's bookkeeping).
        self.connecter: Optional[Any] = None
        self.pipe: Optional[Pipe] = None
        self.closed = False
        self.started = False
        self.lingering = False
        self.reading = True
        self.error: Optional[BaseException] = None
        #: Datagrams dropped: malformed ones received, or messages too long to send.
        self.dropped = 0
        # the core's send-side batching (SocketCore._pipe_outbound) keeps these on every stream
        self.flush_scheduled = False
        self.wait_epoch = -1
        self.last_direct_flush = 0.0
        self._mask = 0
        sock = socket.socket(address.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if sending:
                self._setup_sender(sock)
            else:
                self._setup_receiver(sock)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.fd = sock.fileno()
        #: LAST_ENDPOINT: the endpoint as given, with a wildcard port replaced by the bound one.
        self.last_endpoint = endpoint
        if not sending and address.bind[1] == 0:
            self.last_endpoint = endpoint.rpartition(":")[0] + f":{sock.getsockname()[1]}"

    def _setup_sender(self, sock: socket.socket) -> None:
        """udp_engine_t::plug, send side: multicast loop, hops and interface."""
        a = self.address
        if not a.multicast:
            return
        o = self.owner.options
        if a.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
            if o.multicast_hops > 0:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, o.multicast_hops)
            if a.interface > 0:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, a.interface)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            if o.multicast_hops > 0:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, o.multicast_hops)
            if a.bind[0] != "0.0.0.0":
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.bind[0]))

    def _setup_receiver(self, sock: socket.socket) -> None:
        """udp_engine_t::plug, receive side: SO_REUSEADDR (two DISHes may bind one port, as in libzmq);
        multicast binds ANY:port with SO_REUSEPORT and joins the group on the chosen interface."""
        a = self.address
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if not a.multicast:
            sock.bind(a.bind)
            return
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(_any(a.family, a.bind[1]))
        if a.family == socket.AF_INET6:
            mreq6 = socket.inet_pton(socket.AF_INET6, a.target[0]) + struct.pack("@I", max(a.interface, 0))
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
        else:
            mreq = socket.inet_aton(a.target[0]) + socket.inet_aton(a.bind[0])
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)

    def start(self) -> None:
        if self.closed or self.started:
            return
        self.started = True
        self._update_interest()
        self.flush()

    # -- receiving (DISH) ----------------------------------------------------------------------
    def on_readable(self) -> None:
        if self.closed or self.sending:
            return
        pipe = self.pipe
        if pipe is None:
            return
        sock = self.sock
        buf = self.reactor.recv_buffer
        for _ in range(READ_BATCH):
            if not pipe.can_deliver():
                # RCVHWM: stop reading until the application drains half of it (resume_reading)
                self.reading = False
                self._update_interest()
                return
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. an ICMP error reported on the socket: nothing to read
            got = decode_datagram(buf[:n])
            if got is None:
                self.dropped += 1
                continue
            pipe.deliver([got[0], got[1]])
            if self.closed:
                return

    def resume_reading(self) -> None:
        if not self.closed and not self.reading:
            self.reading = True
            self._update_interest()

    # -- sending (RADIO) -----------------------------------------------------------------------
    def on_writable(self) -> None:
        self.flush()

    def flush(self, release_lock: bool = False) -> None:
        """Send what the pipe holds, one datagram per message, while the kernel takes them.  A
        DISH's engine sends nothing: the JOIN/LEAVE items its pattern queues are dropped (libzmq
        ``restart_output``)."""
        if self.closed:
            return
        pipe = self.pipe
        if pipe is None:
            return
        outbound = pipe.outbound
        if not self.sending:
            outbound.clear()
            return
        if not self.started:
            return
        hwm = pipe.sndhwm
        was_full = hwm > 0 and len(outbound) >= hwm
        sock = self.sock
        target = self.address.target
        for _ in range(WRITE_BATCH):
            if not outbound:
                break
            item = outbound[0]
            datagram: Optional[bytes] = None
            if type(item) is list and len(item) == 2:
                group, body = item
                datagram = encode_datagram(bytes(group), bytes(body))
            if datagram is None:
                outbound.popleft()  # not a RADIO message, or too long for a datagram: dropped
                self.dropped += 1
                continue
            try:
                sock.sendto(datagram, target)
            except (BlockingIOError, InterruptedError):
                break  # the kernel's buffer is full: WRITE interest brings us back
            except OSError:
                self.dropped += 1  # unreachable, no route ...: this datagram is lost, the next may pass
            outbound.popleft()
        if was_full and len(outbound) < hwm and pipe.pattern is not None:
            pipe.pattern.pipe_writable(pipe)
        self._update_interest()
        if self.lingering and not outbound:
            self.close(None)

    def has_pending_output(self) -> bool:
        """What a closing RADIO lingers for."""
        return self.sending and self.pipe is not None and bool(self.pipe.outbound)

    def _update_interest(self) -> None:
        if self.closed or not self.started:
            return
        if self.sending:
            pipe = self.pipe
            mask = WRITE if pipe is not None and pipe.outbound else 0
        else:
            mask = READ if self.reading else 0
        if mask != self._mask:
            self._mask = mask
            self.reactor.set_interest(self.sock, self, mask)

    # -- closing -------------------------------------------------------------------------------
    def close(self, error: Optional[BaseException] = None, flush: bool = False) -> None:
        """Close the socket (``unbind``/``disconnect``, the socket's close, linger done)."""
        if self.closed:
            return
        self.closed = True
        self.error = error
        self.reactor.forget(self.sock)
        try:
            self.sock.close()
        except OSError:
            pass
        self.owner.stream_closed(self)

    def discard(self) -> None:
        """Close a socket the owner never took (it was closed meanwhile): no callbacks."""
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


def open_udp(owner: Owner, address: str, endpoint: str, bind: bool) -> UdpEngine:
    """``bind`` (DISH) or ``connect`` (RADIO) ``udp://address``: resolve it, open the socket, attach
    its pipe, start.  ENOCOMPATPROTO for other socket types, as libzmq."""
    kind = owner.type_name
    if kind not in ("RADIO", "DISH") or (kind == "RADIO") == bind:
        raise ZMQError(
            Errno.ENOCOMPATPROTO,
            f"The protocol is not compatible with the socket type: udp:// is for a DISH's bind and a "
            f"RADIO's connect, not a {kind}'s {'bind' if bind else 'connect'}",
        )
    resolved = resolve_udp(address, bind, owner.options.ipv6)
    try:
        engine = UdpEngine(owner, resolved, endpoint, sending=not bind)
    except OSError as exc:
        code = exc.errno if exc.errno is not None else Errno.EINVAL
        raise ZMQError(code, f"{exc.strerror or exc} (addr={endpoint!r})") from None
    if not owner.add_stream(engine):
        engine.discard()
        raise ZMQError(Errno.ENOTSOCK, "Socket operation on non-socket")
    pipe = owner.new_pipe()
    pipe.subscribe_to_all = not bind
    pipe.data = engine
    engine.pipe = pipe
    if not owner.attach_pipe(pipe):
        engine.close(None)
        raise ZMQError(Errno.ENOTSOCK, "Socket operation on non-socket")
    engine.start()
    return engine


__all__: List[str] = [
    "MAX_UDP_MSG", "UdpAddress", "UdpEngine", "decode_datagram", "encode_datagram", "open_udp", "resolve_udp",
]
