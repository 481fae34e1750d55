"""PLAIN and CURVE at the socket level: zmtp on both sides and against libzmq 4.3.5 (pyzmq in this
process), as client and as server, for the classic pattern pairs; subscriptions through CURVE, large
messages, heartbeats; the security options as libzmq reads and writes them; an incomplete CURVE
configuration failing its handshakes (never the I/O loop); the message metadata of ``Frame.get``.

libzmq 4.3.4 (Debian) is covered by the interop matrix's mechanism column (tests/test_interop.py runs a
few of its cells)."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
import zmq
from zmq.auth.thread import ThreadAuthenticator as PyzmqThreadAuthenticator

import zmtp
from zmtp.auth.thread import ThreadAuthenticator

WAIT = 5.0
SERVER_PUBLIC = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
SERVER_SECRET = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
CLIENT_PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
CLIENT_SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"


class Env:
    """One zmtp context and one pyzmq context; sockets closed and contexts ended afterwards."""

    def __init__(self) -> None:
        self.zctx = zmtp.Context()
        self.pctx = zmq.Context()
        self.socks: List[Any] = []
        self.auths: List[Any] = []

    def sock(self, impl: str, kind: int, **opts: Any) -> Any:
        ctx = self.zctx if impl == "zmtp" else self.pctx
        s = ctx.socket(kind)
        s.linger = 0
        s.rcvtimeo = s.sndtimeo = int(WAIT * 1000)
        for name, value in opts.items():
            setattr(s, name, value)
        self.socks.append(s)
        return s

    def auth(self, impl: str, **plain: str) -> Any:
        """A ThreadAuthenticator (zmtp's or pyzmq's) in that implementation's context."""
        a = ThreadAuthenticator(self.zctx) if impl == "zmtp" else PyzmqThreadAuthenticator(self.pctx)
        a.start()
        if plain:
            a.configure_plain(domain="*", passwords=plain)
        self.auths.append(a)
        return a

    def close(self) -> None:
        for a in self.auths:
            a.stop()
        for s in self.socks:
            s.close(linger=0)
        self.zctx.term()
        self.pctx.term()


@pytest.fixture
def env() -> Iterator[Env]:
    e = Env()
    try:
        yield e
    finally:
        e.close()


def secure(env: Env, mechanism: str, server_impl: str, server: Any, client: Any) -> None:
    """Make ``server`` the mechanism's server and ``client`` its client (PLAIN: with a ZAP handler in
    the server's context, which a libzmq PLAIN server needs)."""
    if mechanism == "PLAIN":
        env.auth(server_impl, admin="secret")
        server.plain_server = True
        client.plain_username = b"admin"
        client.plain_password = b"secret"
    else:
        server.curve_server = True
        server.curve_secretkey = SERVER_SECRET
        client.curve_serverkey = SERVER_PUBLIC
        client.curve_publickey = CLIENT_PUBLIC
        client.curve_secretkey = CLIENT_SECRET


def link(server: Any, client: Any) -> str:
    server.bind("tcp://127.0.0.1:*")
    ep = server.getsockopt(zmq.LAST_ENDPOINT)
    ep = ep.decode() if isinstance(ep, bytes) else ep
    client.connect(ep)
    return str(ep)


def wait_for(cond: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


#: (server impl, client impl): zmtp on both sides, zmtp as server, zmtp as client
SIDES = [("zmtp", "zmtp"), ("zmtp", "pyzmq"), ("pyzmq", "zmtp")]
BIG = bytes(range(256)) * 4096  # 1 MiB


@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("server_impl,client_impl", SIDES)
@pytest.mark.parametrize("pair", ["REQ-REP", "DEALER-ROUTER", "PUSH-PULL", "PAIR-PAIR", "DEALER-DEALER"])
def test_round_trips(env: Env, mechanism: str, server_impl: str, client_impl: str, pair: str) -> None:
    """Each pattern pair, the server binding: small, multipart and 1 MiB messages both ways."""
    ctype, stype = pair.split("-")
    server = env.sock(server_impl, getattr(zmq, stype))
    client = env.sock(client_impl, getattr(zmq, ctype), routing_id=b"client-1")
    secure(env, mechanism, server_impl, server, client)
    link(server, client)
    for msg in ([b"hello"], [b"a", b"", b"c" * 300], [BIG]):
        client.send_multipart(msg)
        if stype == "ROUTER":
            got = server.recv_multipart()
            assert got == [b"client-1"] + msg
            server.send_multipart(got[:1] + [b"re"] + msg)
            assert client.recv_multipart() == [b"re"] + msg
        elif stype == "PULL":
            assert server.recv_multipart() == msg
        else:
            assert server.recv_multipart() == msg
            server.send_multipart([b"re"] + msg)
            assert client.recv_multipart() == [b"re"] + msg


@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("server_impl,client_impl", SIDES)
@pytest.mark.parametrize("pair", ["PUB-SUB", "XPUB-XSUB"])
def test_subscriptions_through_the_mechanism(env: Env, mechanism: str, server_impl: str, client_impl: str,
                                             pair: str) -> None:
    """Subscriptions travel sealed (CURVE) from the subscriber to the publisher; filtering works."""
    ptype, stype = pair.split("-")
    pub = env.sock(server_impl, getattr(zmq, ptype))
    sub = env.sock(client_impl, getattr(zmq, stype))
    secure(env, mechanism, server_impl, pub, sub)
    link(pub, sub)
    if stype == "SUB":
        sub.subscribe(b"wanted")
    else:
        sub.send(b"\x01wanted")
    if ptype == "XPUB":
        assert pub.recv() == b"\x01wanted"

    def delivered() -> bool:
        pub.send_multipart([b"unwanted", b"x"])
        pub.send_multipart([b"wanted", b"y"])
        try:
            return bool(sub.recv_multipart(zmq.NOBLOCK) == [b"wanted", b"y"])
        except (zmq.Again, zmtp.Again):
            return False

    wait_for(delivered, "a filtered publication")
    pub.send_multipart([b"wanted", BIG])
    for _ in range(50):
        got = sub.recv_multipart()
        assert got[0] == b"wanted"
        if got[1] == BIG:
            break


@pytest.mark.parametrize("server_impl,client_impl", SIDES)
def test_curve_with_heartbeats(env: Env, server_impl: str, client_impl: str) -> None:
    """PING/PONG travel sealed: a link idle for several heartbeat intervals stays up and works."""
    server = env.sock(server_impl, zmq.REP, heartbeat_ivl=50, heartbeat_timeout=500)
    client = env.sock(client_impl, zmq.REQ, heartbeat_ivl=50, heartbeat_timeout=500)
    secure(env, "CURVE", server_impl, server, client)
    link(server, client)
    client.send(b"one")
    assert server.recv() == b"one"
    server.send(b"1")
    assert client.recv() == b"1"
    time.sleep(0.6)  # > heartbeat_timeout: a link whose PONGs did not open would be gone by now
    client.send(b"two")
    assert server.recv() == b"two"
    server.send(b"2")
    assert client.recv() == b"2"


def test_blocking_driver_curve_round_trip() -> None:
    """The blocking driver (no I/O thread) runs the CURVE handshake inside the application's calls."""
    zctx = zmtp.Context(driver="blocking")
    pctx = zmq.Context()
    try:
        server = zctx.socket(zmq.REP)
        client = pctx.socket(zmq.REQ)
        for s in (server, client):
            s.linger = 0
            s.rcvtimeo = s.sndtimeo = int(WAIT * 1000)
        server.curve_server = True
        server.curve_secretkey = SERVER_SECRET
        client.curve_serverkey, client.curve_publickey, client.curve_secretkey = SERVER_PUBLIC, CLIENT_PUBLIC, \
            CLIENT_SECRET
        link(server, client)
        client.send(b"ping")
        assert server.recv() == b"ping"
        server.send(b"pong")
        assert client.recv() == b"pong"
        server.close()
        client.close()
    finally:
        zctx.term()
        pctx.term()


# -- options ------------------------------------------------------------------------------------------

def _option_story(mod: Any) -> List[Any]:
    """A sequence of security option operations and what each gives, for pyzmq and zmtp alike."""
    out: List[Any] = []
    ctx = mod.Context()
    s = ctx.socket(mod.REQ)

    def attempt(fn: Callable[[], Any]) -> Any:
        try:
            return ("ok", fn())
        except mod.ZMQError as e:
            return ("ZMQError", e.errno)
        except (AttributeError, TypeError) as e:
            return (type(e).__name__,)

    def state() -> Tuple[int, int, int]:
        return (s.getsockopt(mod.MECHANISM), s.getsockopt(mod.PLAIN_SERVER), s.getsockopt(mod.CURVE_SERVER))

    try:
        out.append(("fresh", state(), attempt(lambda: s.getsockopt(mod.ZAP_DOMAIN))))
        for opt in ("CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY"):
            out.append((opt, attempt(lambda o=opt: s.getsockopt(getattr(mod, o)))))
            out.append((opt, "attr", attempt(lambda o=opt: getattr(s, o.lower()))))
        steps: List[Tuple[str, Any]] = [
            ("PLAIN_USERNAME", b""), ("PLAIN_PASSWORD", b""), ("ZAP_DOMAIN", b""), ("ZAP_DOMAIN", b"x" * 256),
            ("ZAP_DOMAIN", b"dom"), ("PLAIN_USERNAME", b"u" * 256), ("PLAIN_USERNAME", b"u"),
            ("PLAIN_SERVER", 2), ("PLAIN_SERVER", 1), ("CURVE_SERVERKEY", SERVER_PUBLIC), ("PLAIN_SERVER", 0),
            ("CURVE_SERVER", 1), ("PLAIN_PASSWORD", b"p"), ("CURVE_SECRETKEY", SERVER_SECRET),
            ("CURVE_SERVER", 0), ("CURVE_PUBLICKEY", b"x" * 31), ("CURVE_PUBLICKEY", b"~" * 40),
            ("CURVE_PUBLICKEY", CLIENT_PUBLIC + b"\0"), ("CURVE_PUBLICKEY", bytes(32)),
            ("CURVE_SERVER", 5), ("MECHANISM", 1), ("PLAIN_USERNAME", b"n" * 255),
        ]
        for name, value in steps:
            out.append((name, value if isinstance(value, int) else len(value),
                        attempt(lambda n=name, v=value: s.setsockopt(getattr(mod, n), v)), state()))
        out.append(("PLAIN_USERNAME 255 read", attempt(lambda: s.getsockopt(mod.PLAIN_USERNAME))))
        out.append(("PLAIN_PASSWORD read", attempt(lambda: s.getsockopt(mod.PLAIN_PASSWORD))))
        out.append(("ZAP_DOMAIN read", attempt(lambda: s.getsockopt(mod.ZAP_DOMAIN))))
        out.append(("str key", attempt(lambda: setattr(s, "curve_serverkey", SERVER_PUBLIC.decode()))))
        out.append(("setsockopt_string", attempt(lambda: s.setsockopt_string(mod.CURVE_SERVERKEY,
                                                                              SERVER_PUBLIC.decode()))))
    finally:
        s.close(linger=0)
        ctx.term()
    return out


def test_security_options_behave_as_libzmq() -> None:
    """Every step of the story gives what pyzmq over libzmq 4.3.5 gives: EINVAL for empty PLAIN
    credentials and ZAP domain, keys write-only (pyzmq cannot read them back), 32/40/41-byte keys,
    PLAIN_SERVER/CURVE_SERVER read back from the mechanism and the as-server flag, MECHANISM read-only."""
    expected = _option_story(zmq)
    got = _option_story(zmtp)
    for want, have in zip(expected, got):
        assert have == want
    assert len(got) == len(expected)


def test_curve_keypair_and_has() -> None:
    public, secret = zmtp.curve_keypair()
    assert len(public) == len(secret) == 40
    assert zmtp.curve_public(secret) == public == zmq.curve_public(secret)
    assert zmtp.has("curve") and zmtp.has("plain") and not zmtp.has("gssapi")


# -- an incomplete CURVE configuration ------------------------------------------------------------------

def _events(monitor: Any, seconds: float) -> List[int]:
    from zmtp.utils.monitor import recv_monitor_message

    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if monitor.poll(20):
            out.append(int(recv_monitor_message(monitor)["event"]))
    return out


@pytest.mark.parametrize("missing", ["server key", "all client keys", "server secret"])
def test_incomplete_curve_keys_fail_the_handshake_not_the_loop(env: Env, missing: str) -> None:
    """libzmq treats a key never set as 32 zero bytes: the connection is made and its handshake fails
    (HANDSHAKE_FAILED_*), then retried.  zmtp does the same; the reactor and the socket live on, and a
    well-configured socket of the same context works meanwhile."""
    server = env.sock("zmtp", zmq.PULL)
    server.curve_server = True
    if missing != "server secret":
        server.curve_secretkey = SERVER_SECRET
    client = env.sock("zmtp", zmq.PUSH, reconnect_ivl=50)
    if missing == "server key":
        client.curve_publickey, client.curve_secretkey = CLIENT_PUBLIC, CLIENT_SECRET
    elif missing == "all client keys":
        client.curve_serverkey = SERVER_PUBLIC
    else:
        client.curve_serverkey, client.curve_publickey, client.curve_secretkey = SERVER_PUBLIC, CLIENT_PUBLIC, \
            CLIENT_SECRET
    monitor = client.get_monitor_socket()
    env.socks.append(monitor)
    ep = link(server, client)
    events = _events(monitor, 0.5)
    failed = {int(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL), int(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL),
              int(zmq.EVENT_HANDSHAKE_FAILED_AUTH)}
    assert int(zmq.EVENT_CONNECTED) in events
    assert int(zmq.EVENT_HANDSHAKE_SUCCEEDED) not in events
    if missing == "server key":
        assert failed & set(events), events  # our own HELLO cannot be made: we fail at once
    with pytest.raises(zmtp.Again):
        server.recv(zmq.NOBLOCK)
    # the same context still serves a good pair, and the bad client still answers calls
    good_server = env.sock("zmtp", zmq.PULL, curve_server=True, curve_secretkey=SERVER_SECRET)
    good_client = env.sock("pyzmq", zmq.PUSH, curve_serverkey=SERVER_PUBLIC, curve_publickey=CLIENT_PUBLIC,
                           curve_secretkey=CLIENT_SECRET)
    link(good_server, good_client)
    good_client.send(b"fine")
    assert good_server.recv() == b"fine"
    assert client.getsockopt(zmq.MECHANISM) == 2
    client.disconnect(ep)
    # (zmtp leaves the monitor's inner socket open when the monitored socket closes, which libzmq's
    # stop_monitor does not: stop it explicitly until the engine does)
    client.disable_monitor()


# -- metadata ------------------------------------------------------------------------------------------

PROPERTY_NAMES = ["Peer-Address", "Socket-Type", "Identity", "User-Id", "Routing-Id", "X-Missing"]


def _properties(frame: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name in PROPERTY_NAMES:
        try:
            out[name] = frame.get(name)
        except (zmq.ZMQError, zmtp.ZMQError) as e:
            out[name] = ("EINVAL" if e.errno == zmq.EINVAL else e.errno)
    return out


@pytest.mark.parametrize("mechanism", ["NULL", "PLAIN", "CURVE"])
def test_message_properties_match_libzmq(mechanism: str) -> None:
    """``Frame.get`` on both ends of a zmtp link answers what the same program answers with pyzmq:
    Peer-Address, Socket-Type, Identity (the peer's READY), User-Id (the ZAP handler's, server side
    only), and EINVAL for Routing-Id (libzmq 4.3 sets none on tcp messages) and unknown names."""
    results = {}
    for name, mod, auth_cls in (("pyzmq", zmq, PyzmqThreadAuthenticator), ("zmtp", zmtp, ThreadAuthenticator)):
        ctx = mod.Context()
        auth = auth_cls(ctx)
        auth.start()
        auth.configure_plain(domain="global", passwords={"admin": "secret"})  # the server's ZAP_DOMAIN
        auth.configure_curve(domain="*", location="*")  # CURVE_ALLOW_ANY
        server = ctx.socket(zmq.ROUTER)
        client = ctx.socket(zmq.DEALER)
        try:
            for s in (server, client):
                s.linger = 0
                s.rcvtimeo = int(WAIT * 1000)
            server.routing_id = b"srv"
            client.routing_id = b"cli"
            server.zap_domain = b"global"
            if mechanism == "PLAIN":
                server.plain_server = True
                client.plain_username, client.plain_password = b"admin", b"secret"
            elif mechanism == "CURVE":
                server.curve_server = True
                server.curve_secretkey = SERVER_SECRET
                client.curve_serverkey, client.curve_publickey, client.curve_secretkey = SERVER_PUBLIC, \
                    CLIENT_PUBLIC, CLIENT_SECRET
            link(server, client)
            client.send(b"up")
            up = server.recv_multipart(copy=False)
            server.send_multipart([b"cli", b"down"])
            down = client.recv(copy=False)
            results[name] = (_properties(up[-1]), _properties(down))
        finally:
            auth.stop()
            server.close(linger=0)
            client.close(linger=0)
            ctx.term()
    assert results["zmtp"] == results["pyzmq"]
    server_side = results["zmtp"][0]
    assert server_side["User-Id"] == {"NULL": "anonymous", "PLAIN": "admin", "CURVE": CLIENT_PUBLIC.decode()}[mechanism]


def test_metadata_follows_each_message_in_a_batch(env: Env) -> None:
    """A PULL reading from two peers hands each message its own connection's properties, even when
    one recv batches several messages (the batch stops at a change of connection): each PLAIN user's
    messages carry that user's User-Id."""
    env.auth("zmtp", alice="a", bob="b")
    pull = env.sock("zmtp", zmq.PULL, plain_server=True)
    pull.bind("tcp://127.0.0.1:*")
    ep = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
    alice = env.sock("pyzmq", zmq.PUSH, plain_username=b"alice", plain_password=b"a")
    bob = env.sock("zmtp", zmq.PUSH, plain_username=b"bob", plain_password=b"b")
    alice.connect(ep)
    bob.connect(ep)
    for i in range(200):
        alice.send(b"alice %d" % i)
        bob.send(b"bob %d" % i)
    time.sleep(0.2)  # let both queues fill, so that recv batches
    users = set()
    for _ in range(400):
        frame = pull.recv(copy=False)
        user = frame.bytes.split()[0].decode()
        assert frame.get("User-Id") == user
        assert frame.get("Socket-Type") == "PUSH"
        users.add(user)
    assert users == {"alice", "bob"}
    inproc_pull = env.sock("zmtp", zmq.PULL)
    inproc_pull.bind("inproc://meta")
    inproc_push = env.sock("zmtp", zmq.PUSH)
    inproc_push.connect("inproc://meta")
    inproc_push.send(b"x")
    with pytest.raises(zmtp.ZMQError):
        inproc_pull.recv(copy=False).get("Socket-Type")  # libzmq: inproc messages carry no metadata


@pytest.mark.parametrize("receiver", ["zmtp", "pyzmq"])
def test_a_stream_of_small_curve_messages_is_not_stalled(env: Env, receiver: str) -> None:
    """A zmtp PUSH streaming 20,000 small CURVE messages while its handshake is still running: its queue
    fills to SNDHWM before the link is up, then drains through the reactor's scheduled flushes.  (A
    leader that ran such a flush and then blocked in select without looking at its own send again
    stalled here after 2,001 messages.)"""
    pull = env.sock(receiver, zmq.PULL, curve_server=True, curve_secretkey=SERVER_SECRET)
    push = env.sock("zmtp", zmq.PUSH, curve_serverkey=SERVER_PUBLIC, curve_publickey=CLIENT_PUBLIC,
                    curve_secretkey=CLIENT_SECRET)
    link(pull, push)
    n = 20_000
    errors: List[BaseException] = []

    def send() -> None:
        try:
            for _ in range(n):
                push.send(b"x" * 16)
        except BaseException as e:  # reported below
            errors.append(e)

    import threading

    t = threading.Thread(target=send, daemon=True)
    t.start()
    for _ in range(n):
        assert pull.recv() == b"x" * 16
    t.join(WAIT)
    assert not t.is_alive() and not errors


@pytest.fixture(params=["pynacl", "libsodium", "pure"])
def crypto_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each zmtp crypto backend in turn (a missing one is skipped, or fails when ZMTP_REQUIRE_BACKENDS
    names it: see tests/crypto_helpers.py)."""
    from crypto_helpers import load_backend

    from zmtp import crypto

    load_backend(request.param)
    previous = crypto.backend_name()
    crypto.use_backend(request.param)
    try:
        yield request.param
    finally:
        crypto.use_backend(previous)


@pytest.mark.parametrize("server_impl,client_impl", [("zmtp", "pyzmq"), ("pyzmq", "zmtp")])
def test_curve_with_each_crypto_backend(env: Env, crypto_backend: str, server_impl: str, client_impl: str) -> None:
    """The same libzmq peer, whichever backend seals zmtp's side: small, multipart and 1 MiB messages."""
    server = env.sock(server_impl, zmq.ROUTER)
    client = env.sock(client_impl, zmq.DEALER, routing_id=b"c")
    secure(env, "CURVE", server_impl, server, client)
    link(server, client)
    for msg in ([b"hello"], [b"a", b"", b"b" * 1000], [BIG]):
        client.send_multipart(msg)
        assert server.recv_multipart() == [b"c"] + msg
        server.send_multipart([b"c"] + msg)
        assert client.recv_multipart() == msg
