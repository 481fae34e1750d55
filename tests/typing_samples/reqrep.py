"""A pyzmq-style program, as a user writes it: ``mypy --strict`` must accept it as it is."""

from __future__ import annotations

import zmtp as zmq


def serve(ctx: zmq.Context[zmq.Socket[bytes]], url: str) -> None:
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.setsockopt(zmq.RCVTIMEO, 1000)
    rep.bind(url)
    request: bytes = rep.recv()
    rep.send(request.upper())
    rep.close()


def ask(url: str) -> bytes:
    with zmq.Context() as ctx:
        req = ctx.socket(zmq.REQ)
        req.connect(url)
        req.send_string("hello")
        reply = req.recv()
        req.close()
        return reply


def poll_both(a: zmq.Socket[bytes], b: zmq.Socket[bytes]) -> list[bytes]:
    poller = zmq.Poller()
    poller.register(a, zmq.POLLIN)
    poller.register(b, zmq.POLLIN | zmq.POLLOUT)
    got: list[bytes] = []
    for sock, mask in poller.poll(100):
        if mask & zmq.POLLIN:
            got.extend(sock.recv_multipart(zmq.NOBLOCK))
    return got


def frames(sock: zmq.Socket[bytes]) -> int:
    frame = sock.recv(copy=False)
    parts = sock.recv_multipart(copy=False)
    size = len(frame.bytes) + sum(len(p.buffer) for p in parts)
    peer: str = frame.get("Peer-Address")
    return size + len(peer)


def errors(sock: zmq.Socket[bytes]) -> str:
    try:
        sock.send(b"x", zmq.DONTWAIT | zmq.SNDMORE)
    except zmq.Again:
        return "again"
    except zmq.ZMQError as exc:
        if exc.errno in (zmq.EFSM, zmq.ETERM, zmq.EHOSTUNREACH):
            return zmq.strerror(exc.errno)
        raise
    return "sent"


def monitor(sock: zmq.Socket[bytes]) -> None:
    from zmtp.utils.monitor import recv_monitor_message

    mon = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
    event = recv_monitor_message(mon)
    assert isinstance(event, dict)
    if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and event["value"] == zmq.PROTOCOL_ERROR_ZMTP_UNSPECIFIED:
        print("peer broke the protocol")
    sock.disable_monitor()


def constants() -> list[int]:
    kinds: list[zmq.SocketType] = [zmq.PAIR, zmq.PUB, zmq.SUB, zmq.XREP, zmq.XREQ, zmq.DEALER, zmq.ROUTER,
                                   zmq.PUSH, zmq.PULL, zmq.XPUB, zmq.XSUB, zmq.STREAM]
    options: list[zmq.SocketOption] = [zmq.LINGER, zmq.SNDHWM, zmq.IDENTITY, zmq.ROUTING_ID, zmq.SUBSCRIBE,
                                       zmq.CONNECT_ROUTING_ID, zmq.ROUTER_NOTIFY, zmq.RECONNECT_STOP,
                                       zmq.TCP_MAXRT, zmq.HELLO_MSG, zmq.DISCONNECT_MSG, zmq.IPV6, zmq.BLOCKY]
    events: list[zmq.Event] = [zmq.EVENT_ALL, zmq.EVENT_LISTENING, zmq.EVENT_ACCEPTED, zmq.EVENT_CLOSED,
                               zmq.EVENT_MONITOR_STOPPED, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH]
    ctx_options: list[zmq.ContextOption] = [zmq.IO_THREADS, zmq.MAX_SOCKETS, zmq.SOCKET_LIMIT]
    errnos: list[zmq.Errno] = [zmq.EAGAIN, zmq.EINVAL, zmq.ENOTSOCK, zmq.EFSM, zmq.ETERM, zmq.EMTHREAD]
    misc: list[int] = [zmq.RECONNECT_STOP_CONN_REFUSED, zmq.NOTIFY_CONNECT, zmq.NOTIFY_DISCONNECT, zmq.CURVE,
                       zmq.PLAIN, zmq.NULL, zmq.MORE, zmq.SHARED, zmq.IPC_PATH_MAX_LEN, zmq.COPY_THRESHOLD,
                       zmq.POLLERR, zmq.NOBLOCK, zmq.SERVER, zmq.RADIO, zmq.DISH]
    version: tuple[int, int, int] = zmq.pyzmq_version_info()
    return [*kinds, *options, *events, *ctx_options, *errnos, *misc, *version, int(zmq.DRAFT_API)]


class MySocket(zmq.Socket[bytes]):
    """pyzmq's subclassing pattern: attributes declared on the class are plain attributes."""

    counter: int = 0

    def send_counted(self, data: bytes) -> None:
        self.counter += 1
        self.send(data)


class MyContext(zmq.Context[MySocket]):
    _socket_class = MySocket


def subclassed() -> int:
    ctx = MyContext()
    sock = ctx.socket(zmq.PUSH)
    sock.send_counted(b"x")
    n = sock.counter
    sock.close()
    ctx.term()
    return n


def sync_names() -> None:
    ctx: zmq.SyncContext[zmq.SyncSocket[bytes]] = zmq.SyncContext()
    sock: zmq.SyncSocket[bytes] = ctx.socket(zmq.PAIR)
    sock.close()
    ctx.term()
