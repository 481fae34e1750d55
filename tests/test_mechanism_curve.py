"""CURVE (RFC 26) mechanisms: handshake, sealing, every attack the issue lists, and libzmq interop.

Mechanism-level: a client and a server mechanism wired in memory (command bodies passed between them),
plus a hand-rolled client built from the crypto primitives to forge what a conforming client never
sends.  Interop: a real libzmq socket (pyzmq) on 127.0.0.1 against one of our mechanisms driven over a
plain TCP socket by a small blocking loop (tests/mechanism_helpers.py), both roles.
"""

from __future__ import annotations

import os
import struct
import threading
from typing import List, Tuple

import pytest
import zmq
from crypto_helpers import ALL_BACKENDS, load_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mechanism_helpers import (
    RawDriver,
    accept_raw,
    connect_raw,
    deliver,
    expect_refusal,
    handshake,
    metadata_for,
)

from zmtp import crypto
from zmtp.crypto import CryptoBackend
from zmtp.protocol.commands import command_body, split_command
from zmtp.protocol.curve import CurveClient, CurveServer
from zmtp.protocol.errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from zmtp.protocol.frames import COMMAND, MORE
from zmtp.protocol.mechanism import PeerErrorCommand
from zmtp.protocol.metadata import encode_metadata
from zmtp.utils import z85

U64 = struct.Struct(">Q")


def keypair(backend: CryptoBackend) -> Tuple[bytes, bytes]:
    return backend.crypto_box_keypair(os.urandom(32))


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> CryptoBackend:
    return load_backend(request.param)


def make_pair(backend: CryptoBackend, zap: bool = False, server_backend: CryptoBackend = None):  # type: ignore
    server_pk, server_sk = keypair(backend)
    client_pk, client_sk = keypair(backend)
    client = CurveClient(
        public_key=client_pk, secret_key=client_sk, server_key=server_pk, random_bytes=os.urandom, backend=backend
    )
    server = CurveServer(secret_key=server_sk, zap=zap, random_bytes=os.urandom, backend=server_backend or backend)
    return client, server, (client_pk, client_sk, server_pk, server_sk)


# -- the handshake ---------------------------------------------------------------------------------------
def test_handshake_sizes_and_metadata(backend: CryptoBackend) -> None:
    client, server, (client_pk, _, server_pk, _) = make_pair(backend)
    assert server.public_key == server_pk
    log = handshake(client, server)
    hello, welcome, initiate, ready = log[0][0], log[2][0], log[3][0], log[4][0]
    assert split_command(hello)[0] == b"HELLO" and len(hello) == 200
    assert hello[6:8] == b"\x01\x00" and hello[8:80] == bytes(72)
    assert U64.unpack(hello[112:120])[0] == 1  # the client's first short nonce
    assert split_command(welcome)[0] == b"WELCOME" and len(welcome) == 168
    meta_c = metadata_for("DEALER", Identity=b"c")
    meta_s = metadata_for("ROUTER")
    assert split_command(initiate)[0] == b"INITIATE" and len(initiate) == 257 + len(meta_c)
    assert U64.unpack(initiate[105:113])[0] == 2
    assert split_command(ready)[0] == b"READY" and len(ready) == 30 + len(meta_s)
    assert U64.unpack(ready[6:14])[0] == 1  # the server's first short nonce
    assert client.complete and server.complete
    assert client.transforms_frames and server.transforms_frames
    assert server.peer_metadata == {"socket-type": b"DEALER", "identity": b"c"}
    assert client.peer_metadata == {"socket-type": b"ROUTER"}
    assert server.client_key == client_pk
    assert client.backend_name == server.backend_name == backend.name


def test_frames_both_ways(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    for sender, receiver, first in ((client, server, 3), (server, client, 2)):
        cases = [(0, b""), (MORE, b"part"), (0, b"x" * 300), (COMMAND, b"\x04PING\x00\x0a"), (MORE, b"\x00" * 70000)]
        for i, (flags, body) in enumerate(cases):
            wire_flags, wire = sender.encode_frame(flags, body)
            assert wire_flags == 0  # a data frame, MORE and COMMAND are inside the box
            assert wire[:8] == b"\x07MESSAGE" and U64.unpack(wire[8:16])[0] == first + i
            assert len(wire) == 33 + len(body)
            assert receiver.decode_frame(wire_flags, wire) == (flags, body)


def test_in_box_flags_are_libzmqs(backend: CryptoBackend) -> None:
    """Inside the box MORE is 0x01 and COMMAND 0x02 (libzmq msg_t flags, curve_mechanism_base.cpp),
    checked by opening the server's MESSAGEs by hand with the hand-rolled client's keys."""
    server, forger = forging_setup(backend)
    ready = deliver(server, [forger.initiate()])[0]
    assert U64.unpack(ready[6:14])[0] == 1
    for i, (flags, inner) in enumerate(((0, 0), (MORE, 1), (COMMAND, 2), (COMMAND | MORE, 3))):
        wire_flags, wire = server.encode_frame(flags, b"z")
        assert wire_flags == 0 and U64.unpack(wire[8:16])[0] == 2 + i
        nonce = b"CurveZMQMESSAGES" + wire[8:16]
        plain = backend.crypto_box_open_easy(wire[16:], nonce, forger.cn_server, forger.cn_sk)
        assert plain == bytes((inner,)) + b"z"
    # and the other way: a MESSAGE sealed by hand with COMMAND inside decodes as a command frame
    nonce = b"CurveZMQMESSAGEC" + U64.pack(3)
    box = backend.crypto_box_easy(b"\x02\x04PING\x00\x00", nonce, forger.cn_server, forger.cn_sk)
    assert server.decode_frame(0, b"\x07MESSAGE" + U64.pack(3) + box) == (COMMAND, b"\x04PING\x00\x00")


def test_zap_decisions(backend: CryptoBackend) -> None:
    refusals = {b"400": b"\x05ERROR\x03400", b"500": b"\x05ERROR\x03500"}
    for status in (b"200", b"400", b"500", b"300"):
        expected = refusals.get(status)
        client, server, (client_pk, *_) = make_pair(backend, zap=True)
        client_out = client.start(metadata_for("REQ"))
        server.start(metadata_for("REP"))
        welcome = deliver(server, client_out)
        assert server.auth_request is None
        initiate = deliver(client, welcome)
        assert deliver(server, initiate) == []  # waits for the decision
        assert server.auth_request.mechanism == b"CURVE"
        assert server.auth_request.credentials == [client_pk]
        replies = server.auth_result(status, b"text", b"user", {})
        if status == b"200":
            assert server.complete and split_command(replies[0])[0] == b"READY"
            deliver(client, replies)
            assert client.complete
        elif status == b"300":
            assert replies == [] and not server.complete
        else:
            assert replies == [expected] and not server.complete
            with pytest.raises(PeerErrorCommand) as err:
                deliver(client, replies)
            assert err.value.reason == status.decode()
    with pytest.raises(LocalProtocolError):
        server.auth_result(b"200", b"", b"", {})  # no decision pending any more
    client, server, _ = make_pair(backend, zap=True)
    deliver(client, deliver(server, client.start(b"")))  # WELCOME handled, INITIATE not yet sent
    with pytest.raises(LocalProtocolError):
        server.auth_result(b"200", b"", b"", {})


def test_invalid_zap_status_is_refused(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend, zap=True)
    server.start(b"")
    deliver(server, deliver(client, deliver(server, client.start(b""))))
    with pytest.raises(LocalProtocolError):
        server.auth_result(b"201", b"", b"", {})


def test_mixed_backends_interoperate() -> None:
    names = crypto.available_backends()
    for a in names:
        for b in names:
            client, server, _ = make_pair(crypto.get_backend(a), server_backend=crypto.get_backend(b))
            handshake(client, server)
            flags, wire = server.encode_frame(MORE, b"hello")
            assert client.decode_frame(flags, wire) == (MORE, b"hello")


# -- refusals: wrong keys, tampering, replay, malformed commands ------------------------------------------
def expect_remote(fn, *args, reason: ErrorReason = None) -> RemoteProtocolError:  # type: ignore[assignment]
    with pytest.raises(RemoteProtocolError) as err:
        fn(*args)
    if reason is not None:
        assert err.value.reason is reason, err.value
    return err.value


def test_wrong_server_key_is_refused_at_hello(backend: CryptoBackend) -> None:
    _, server, (client_pk, client_sk, _, _) = make_pair(backend)
    other_pk, _ = keypair(backend)
    impostor_client = CurveClient(
        public_key=client_pk, secret_key=client_sk, server_key=other_pk, random_bytes=os.urandom, backend=backend
    )
    server.start(b"")
    err = expect_remote(deliver, server, impostor_client.start(b""), reason=ErrorReason.AUTHENTICATION_FAILED)
    assert "HELLO" in str(err)


def test_impostor_server_is_refused_at_welcome(backend: CryptoBackend) -> None:
    client, _, _ = make_pair(backend)
    _, other_sk = keypair(backend)
    impostor = CurveServer(secret_key=other_sk, random_bytes=os.urandom, backend=backend)
    impostor.start(b"")
    hello = client.start(b"")
    with pytest.raises(RemoteProtocolError):
        deliver(impostor, hello)  # it cannot even open the HELLO; forge a WELCOME from it anyway:
    forged = command_body(b"WELCOME", os.urandom(16) + os.urandom(144))
    expect_remote(deliver, client, [forged], reason=ErrorReason.AUTHENTICATION_FAILED)


@pytest.mark.parametrize("which", ["hello", "welcome", "initiate", "ready"])
def test_any_flipped_byte_in_a_handshake_box_is_refused(backend: CryptoBackend, which: str) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    hello = client.start(b"")
    if which == "hello":
        bad = bytearray(hello[0])
        bad[150] ^= 1
        expect_remote(deliver, server, [bytes(bad)])
        return
    welcome = deliver(server, hello)
    if which == "welcome":
        bad = bytearray(welcome[0])
        bad[100] ^= 1
        expect_remote(deliver, client, [bytes(bad)])
        return
    initiate = deliver(client, welcome)
    if which == "initiate":
        for position in (20, 110, 150, len(initiate[0]) - 1):  # cookie nonce, short nonce, box, tag end
            server2_client, server2, _ = make_pair(backend)
            # the same forged byte against a fresh, matching pair
            server2.start(b"")
            init2 = deliver(server2_client, deliver(server2, server2_client.start(b"")))
            bad = bytearray(init2[0])
            bad[position] ^= 1
            expect_remote(deliver, server2, [bytes(bad)])
        return
    ready = deliver(server, initiate)
    bad = bytearray(ready[0])
    bad[-1] ^= 1
    expect_remote(deliver, client, [bytes(bad)])


@pytest.mark.parametrize("size", [0, 1, 199, 201, 400])
def test_hello_of_wrong_size_is_refused(backend: CryptoBackend, size: int) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    hello = client.start(b"")[0]
    body = (hello + bytes(400))[:size] if size >= 6 else b"\x05HELLO"[:size]
    if size < 6:
        body = b"\x05HELLO"
    expect_remote(deliver, server, [body], reason=ErrorReason.BAD_COMMAND)


def test_hello_with_other_version_is_refused(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    hello = bytearray(client.start(b"")[0])
    hello[6] = 2
    expect_remote(deliver, server, [bytes(hello)], reason=ErrorReason.BAD_COMMAND)


@pytest.mark.parametrize("cut", [1, 100, 200])
def test_truncated_initiate_is_refused(backend: CryptoBackend, cut: int) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    initiate = deliver(client, deliver(server, client.start(b"")))[0]
    short = initiate[: 256 - cut + 1] if cut > 1 else initiate[:256]
    expect_remote(deliver, server, [short], reason=ErrorReason.BAD_COMMAND)


def test_oversized_or_lengthened_initiate_is_refused(backend: CryptoBackend) -> None:
    """Extra bytes after the box change the box: it no longer opens."""
    client, server, _ = make_pair(backend)
    server.start(b"")
    initiate = deliver(client, deliver(server, client.start(b"")))[0]
    expect_remote(deliver, server, [initiate + b"\x00" * 10], reason=ErrorReason.AUTHENTICATION_FAILED)


def test_wrong_size_welcome_and_short_ready(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    welcome = deliver(server, client.start(b""))[0]
    expect_remote(deliver, client, [welcome + b"\x00"], reason=ErrorReason.BAD_COMMAND)
    client, server, _ = make_pair(backend)
    server.start(b"")
    ready = deliver(server, deliver(client, deliver(server, client.start(b""))))[0]
    assert len(ready) == 30
    expect_remote(deliver, client, [ready[:29]], reason=ErrorReason.BAD_COMMAND)


def test_out_of_order_commands_are_refused(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    server.start(b"")
    expect_remote(deliver, server, [command_body(b"INITIATE", bytes(300))], reason=ErrorReason.UNEXPECTED_COMMAND)
    client2, server2, _ = make_pair(backend)
    server2.start(b"")
    hello = client2.start(b"")
    deliver(server2, hello)
    expect_remote(deliver, server2, hello, reason=ErrorReason.UNEXPECTED_COMMAND)  # a second HELLO
    client3, _, _ = make_pair(backend)
    client3.start(b"")
    expect_remote(deliver, client3, [command_body(b"READY", bytes(30))], reason=ErrorReason.UNEXPECTED_COMMAND)
    expect_remote(deliver, client3, [command_body(b"MESSAGE", bytes(30))], reason=ErrorReason.UNEXPECTED_COMMAND)


def test_error_from_the_server(backend: CryptoBackend) -> None:
    client, _, _ = make_pair(backend)
    client.start(b"")
    with pytest.raises(PeerErrorCommand) as err:
        deliver(client, [b"\x05ERROR\x03400"])
    assert err.value.reason == "400"
    client, _, _ = make_pair(backend)
    client.start(b"")
    expect_remote(deliver, client, [b"\x05ERROR\x09short"], reason=ErrorReason.BAD_COMMAND)
    expect_remote(deliver, client, [b"\x05ERROR"], reason=ErrorReason.BAD_COMMAND)


# -- a hand-rolled client, to forge cookies, vouches and metadata ------------------------------------------
class ForgingClient:
    """The client side of RFC 26 written out with the crypto primitives, every field adjustable."""

    def __init__(self, backend: CryptoBackend, server_pk: bytes) -> None:
        self.b = backend
        self.server_pk = server_pk
        self.pk, self.sk = keypair(backend)
        self.cn_pk, self.cn_sk = keypair(backend)

    def hello(self) -> bytes:
        box = self.b.crypto_box_easy(bytes(64), b"CurveZMQHELLO---" + U64.pack(1), self.server_pk, self.cn_sk)
        return b"\x05HELLO\x01\x00" + bytes(72) + self.cn_pk + U64.pack(1) + box

    def read_welcome(self, welcome: bytes) -> None:
        plain = self.b.crypto_box_open_easy(welcome[24:], b"WELCOME-" + welcome[8:24], self.server_pk, self.cn_sk)
        self.cn_server, self.cookie = plain[:32], plain[32:]

    def initiate(
        self,
        *,
        cookie: bytes = None,  # type: ignore[assignment]
        vouch_signer_sk: bytes = None,  # type: ignore[assignment]
        claimed_pk: bytes = None,  # type: ignore[assignment]
        vouch_cn: bytes = None,  # type: ignore[assignment]
        vouch_server: bytes = None,  # type: ignore[assignment]
        metadata: bytes = b"",
        nonce: int = 2,
    ) -> bytes:
        vouch_nonce = os.urandom(16)
        vouch = self.b.crypto_box_easy(
            (vouch_cn or self.cn_pk) + (vouch_server or self.server_pk),
            b"VOUCH---" + vouch_nonce,
            self.cn_server,
            vouch_signer_sk or self.sk,
        )
        plain = (claimed_pk or self.pk) + vouch_nonce + vouch + metadata
        box = self.b.crypto_box_easy(plain, b"CurveZMQINITIATE" + U64.pack(nonce), self.cn_server, self.cn_sk)
        return b"\x08INITIATE" + (cookie or self.cookie) + U64.pack(nonce) + box


def forging_setup(backend: CryptoBackend, zap: bool = False):  # type: ignore[no-untyped-def]
    server_pk, server_sk = keypair(backend)
    server = CurveServer(secret_key=server_sk, zap=zap, random_bytes=os.urandom, backend=backend)
    server.start(metadata_for("REP"))
    forger = ForgingClient(backend, server_pk)
    forger.read_welcome(deliver(server, [forger.hello()])[0])
    return server, forger


def test_the_forging_client_is_faithful(backend: CryptoBackend) -> None:
    """Sanity: unmodified, the hand-rolled INITIATE is accepted (so each refusal below is meaningful)."""
    server, forger = forging_setup(backend)
    ready = deliver(server, [forger.initiate(metadata=metadata_for("REQ"))])
    assert server.complete and server.client_key == forger.pk
    assert server.peer_metadata == {"socket-type": b"REQ"}
    nonce = b"CurveZMQREADY---" + ready[0][6:14]
    plain = backend.crypto_box_open_easy(ready[0][14:], nonce, forger.cn_server, forger.cn_sk)
    assert plain == metadata_for("REP")


def test_bad_cookie_is_refused(backend: CryptoBackend) -> None:
    server, forger = forging_setup(backend)
    cookie = bytearray(forger.cookie)
    cookie[50] ^= 1
    expect_remote(deliver, server, [forger.initiate(cookie=bytes(cookie))], reason=ErrorReason.AUTHENTICATION_FAILED)


def test_cookie_from_another_connection_is_refused(backend: CryptoBackend) -> None:
    server1, forger1 = forging_setup(backend)
    server2, forger2 = forging_setup(backend)
    # forger2's INITIATE carrying connection 1's cookie: sealed with another cookie key
    expect_remote(deliver, server2, [forger2.initiate(cookie=forger1.cookie)], reason=ErrorReason.AUTHENTICATION_FAILED)


def test_vouch_signed_by_another_key_is_refused(backend: CryptoBackend) -> None:
    """The INITIATE claims long-term key C but the vouch was made with another secret key."""
    server, forger = forging_setup(backend)
    _, other_sk = keypair(backend)
    err = expect_remote(deliver, server, [forger.initiate(vouch_signer_sk=other_sk)])
    assert "vouch" in str(err)


def test_vouch_for_another_short_term_key_is_refused(backend: CryptoBackend) -> None:
    server, forger = forging_setup(backend)
    other_cn, _ = keypair(backend)
    err = expect_remote(deliver, server, [forger.initiate(vouch_cn=other_cn)])
    assert "short-term" in str(err)


def test_vouch_for_another_server_is_refused(backend: CryptoBackend) -> None:
    server, forger = forging_setup(backend)
    other_server, _ = keypair(backend)
    err = expect_remote(deliver, server, [forger.initiate(vouch_server=other_server)])
    assert "another server" in str(err)


def test_claiming_someone_elses_key_is_refused(backend: CryptoBackend) -> None:
    server, forger = forging_setup(backend)
    victim_pk, _ = keypair(backend)
    expect_remote(deliver, server, [forger.initiate(claimed_pk=victim_pk)], reason=ErrorReason.AUTHENTICATION_FAILED)


@pytest.mark.parametrize(
    "metadata",
    [
        b"\x0bSocket-Type\x00\x00\x00\x09REQ",  # value length beyond the end
        b"\x0bSocket-Type\x00\x00",  # cut inside the value length
        b"\x20Socket-Type",  # name length beyond the end
        b"\x00\x00\x00\x00\x00",  # empty name
        b"\x0bSocket-Type\xff\xff\xff\xffREQ",  # 4 GiB claimed
    ],
)
def test_metadata_that_lies_about_its_lengths_is_refused(backend: CryptoBackend, metadata: bytes) -> None:
    server, forger = forging_setup(backend)
    expect_remote(deliver, server, [forger.initiate(metadata=metadata)], reason=ErrorReason.BAD_METADATA)


def test_cookie_key_is_forgotten_after_initiate(backend: CryptoBackend) -> None:
    """A second INITIATE (a replay) finds no state to use: refused."""
    server, forger = forging_setup(backend)
    initiate = forger.initiate()
    deliver(server, [initiate])
    assert server.complete
    expect_remote(deliver, server, [initiate], reason=ErrorReason.UNEXPECTED_COMMAND)


# -- MESSAGE: tampering, replay, reordering ---------------------------------------------------------------
def test_message_tampering_replay_and_reordering(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    sealed = [client.encode_frame(0, b"m%d" % i) for i in range(5)]
    assert server.decode_frame(*sealed[0]) == (0, b"m0")
    expect_remote(server.decode_frame, *sealed[0])  # replayed
    assert server.decode_frame(*sealed[2]) == (0, b"m2")  # a gap is fine (libzmq: strictly increasing)
    expect_remote(server.decode_frame, *sealed[1])  # nonce going backwards
    flags, wire = sealed[3]
    for position in (10, 20, len(wire) - 1):
        bad = bytearray(wire)
        bad[position] ^= 0x80
        expect_remote(server.decode_frame, flags, bytes(bad))
    assert server.decode_frame(*sealed[3]) == (0, b"m3")  # failed attempts did not move the counter


def test_malformed_messages_are_refused(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    _, wire = client.encode_frame(0, b"")
    assert len(wire) == 33
    expect_remote(server.decode_frame, 0, wire[:32], reason=ErrorReason.BAD_COMMAND)
    expect_remote(server.decode_frame, 0, b"\x07MESSAG", reason=ErrorReason.UNEXPECTED_COMMAND)
    expect_remote(server.decode_frame, 0, b"\x05HELLO" + bytes(40), reason=ErrorReason.UNEXPECTED_COMMAND)
    expect_remote(server.decode_frame, 0, b"", reason=ErrorReason.UNEXPECTED_COMMAND)
    # a box sealed in the other direction (client nonce prefix) does not open at the client
    _, own = client.encode_frame(0, b"x")
    expect_remote(client.decode_frame, 0, own)


def test_wire_flags_are_ored_like_libzmq(backend: CryptoBackend) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    _, wire = client.encode_frame(0, b"x")
    assert server.decode_frame(MORE, wire) == (MORE, b"x")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=100), prefix=st.booleans())
def test_garbage_after_the_handshake_only_raises_the_protocol_error(
    backend: CryptoBackend, garbage: bytes, prefix: bool
) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    body = (b"\x07MESSAGE" + garbage) if prefix else garbage
    with pytest.raises(RemoteProtocolError):
        server.decode_frame(0, body)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frames=st.lists(st.tuples(st.sampled_from([0, MORE, COMMAND, MORE | COMMAND]), st.binary(max_size=200)), max_size=8)
)
def test_round_trip_any_frames(backend: CryptoBackend, frames: List[Tuple[int, bytes]]) -> None:
    client, server, _ = make_pair(backend)
    handshake(client, server)
    for flags, body in frames:
        assert server.decode_frame(*client.encode_frame(flags, body)) == (flags, body)
        assert client.decode_frame(*server.encode_frame(flags, body)) == (flags, body)


def test_construction_errors(backend: CryptoBackend) -> None:
    pk, sk = keypair(backend)
    with pytest.raises(LocalProtocolError):
        CurveClient(public_key=pk, secret_key=sk, server_key=pk[:31], random_bytes=os.urandom, backend=backend)
    with pytest.raises(LocalProtocolError):
        CurveServer(secret_key=sk + b"x", random_bytes=os.urandom, backend=backend)
    with pytest.raises(LocalProtocolError, match="random_bytes"):
        CurveServer(secret_key=sk, backend=backend)
    with pytest.raises(LocalProtocolError, match="small order"):
        CurveClient(public_key=pk, secret_key=sk, server_key=bytes(32), random_bytes=os.urandom, backend=backend)
    with pytest.raises(LocalProtocolError):
        CurveServer(secret_key=sk, random_bytes=lambda n: b"short", backend=backend)


def test_randomness_comes_only_from_the_driver(backend: CryptoBackend) -> None:
    """The same random_bytes stream gives the same handshake bytes: nothing else is drawn."""

    def seeded() -> object:
        counter = [0]

        def draw(n: int) -> bytes:
            counter[0] += 1
            return bytes([counter[0]]) * n

        return draw

    server_pk, server_sk = backend.crypto_box_seed_keypair(bytes(32))
    client_pk, client_sk = backend.crypto_box_seed_keypair(b"\x01" * 32)
    runs = []
    for _ in range(2):
        c = CurveClient(public_key=client_pk, secret_key=client_sk, server_key=server_pk, random_bytes=seeded(),  # type: ignore[arg-type]
                        backend=backend)
        s = CurveServer(secret_key=server_sk, random_bytes=seeded(), backend=backend)  # type: ignore[arg-type]
        runs.append(handshake(c, s))
    assert runs[0] == runs[1]


# -- interop with libzmq (pyzmq) over TCP ----------------------------------------------------------------
def z(key: bytes) -> bytes:
    return z85.encode(key)


@pytest.fixture
def zctx():  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_libzmq_server_zmtp_client(zctx, backend_name: str) -> None:  # type: ignore[no-untyped-def]
    backend = load_backend(backend_name)
    server_pk, server_sk = zmq.curve_keypair()
    server = zctx.socket(zmq.ROUTER)
    server.curve_server = True
    server.curve_secretkey = server_sk
    server.curve_publickey = server_pk
    port = server.bind_to_random_port("tcp://127.0.0.1")
    pk, sk = keypair(backend)
    mech = CurveClient(
        public_key=pk, secret_key=sk, server_key=z85.decode(server_pk), random_bytes=os.urandom, backend=backend
    )
    driver = RawDriver(connect_raw(port), mech, "DEALER", identity=b"zmtp-client")
    driver.handshake()
    assert mech.peer_metadata["socket-type"] == b"ROUTER"
    big = os.urandom(100_000)
    driver.send([b"hello", b"", big])
    assert server.poll(5000)
    routing_id, *frames = server.recv_multipart()
    assert routing_id == b"zmtp-client" and frames == [b"hello", b"", big]
    for i in range(3):
        server.send_multipart([routing_id, b"reply%d" % i, big[: i * 1000]])
        assert driver.recv() == [b"reply%d" % i, big[: i * 1000]]
    driver.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend_name", ALL_BACKENDS)
def test_zmtp_server_libzmq_client(zctx, backend_name: str) -> None:  # type: ignore[no-untyped-def]
    backend = load_backend(backend_name)
    server_pk, server_sk = keypair(backend)
    listener, port = accept_raw()
    client = zctx.socket(zmq.DEALER)
    client.routing_id = b"libzmq-client"
    client_pk, client_sk = zmq.curve_keypair()
    client.curve_publickey, client.curve_secretkey = client_pk, client_sk
    client.curve_serverkey = z(server_pk)
    client.connect(f"tcp://127.0.0.1:{port}")
    sock, _ = listener.accept()
    listener.close()
    mech = CurveServer(secret_key=server_sk, zap=True, random_bytes=os.urandom, backend=backend)
    driver = RawDriver(sock, mech, "ROUTER")
    results: List[object] = []

    def serve() -> None:
        driver.handshake()
        results.append(mech.client_key)
        results.append(mech.peer_metadata)
        results.append(driver.recv())
        driver.send([b"back", b"x" * 70000])

    t = threading.Thread(target=serve)
    t.start()
    client.send_multipart([b"one", b"two"])
    assert client.poll(10000)
    assert client.recv_multipart() == [b"back", b"x" * 70000]
    t.join(5)
    assert results[0] == z85.decode(client_pk)
    assert results[1] == {"socket-type": b"DEALER", "identity": b"libzmq-client"}
    assert results[2] == [b"one", b"two"]
    driver.close()


@pytest.mark.timeout(30)
def test_libzmq_server_refuses_a_wrong_server_key(zctx) -> None:  # type: ignore[no-untyped-def]
    backend = crypto.backend()
    server_pk, server_sk = zmq.curve_keypair()
    server = zctx.socket(zmq.ROUTER)
    server.curve_server = True
    server.curve_secretkey = server_sk
    port = server.bind_to_random_port("tcp://127.0.0.1")
    pk, sk = keypair(backend)
    wrong_pk, _ = keypair(backend)
    mech = CurveClient(public_key=pk, secret_key=sk, server_key=wrong_pk, random_bytes=os.urandom, backend=backend)
    assert expect_refusal(RawDriver(connect_raw(port), mech, "DEALER")) == "closed"


@pytest.mark.timeout(30)
def test_libzmq_zap_handler_refuses_our_client_with_400(zctx) -> None:  # type: ignore[no-untyped-def]
    """pyzmq's ThreadAuthenticator with an empty allowed-keys folder: libzmq answers ERROR "400"."""
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(zctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=os.path.dirname(__file__) + "/__no_such_dir__")
        server_pk, server_sk = zmq.curve_keypair()
        server = zctx.socket(zmq.ROUTER)
        server.curve_server = True
        server.curve_secretkey = server_sk
        port = server.bind_to_random_port("tcp://127.0.0.1")
        backend = crypto.backend()
        pk, sk = keypair(backend)
        mech = CurveClient(
            public_key=pk, secret_key=sk, server_key=z85.decode(server_pk), random_bytes=os.urandom, backend=backend
        )
        assert expect_refusal(RawDriver(connect_raw(port), mech, "DEALER")) == "error:400"
    finally:
        auth.stop()


@pytest.mark.timeout(30)
def test_zmtp_server_refuses_libzmq_client_with_wrong_server_key(zctx) -> None:  # type: ignore[no-untyped-def]
    backend = crypto.backend()
    server_pk, server_sk = keypair(backend)
    wrong_pk, _ = keypair(backend)
    listener, port = accept_raw()
    client = zctx.socket(zmq.DEALER)
    client_pk, client_sk = zmq.curve_keypair()
    client.curve_publickey, client.curve_secretkey = client_pk, client_sk
    client.curve_serverkey = z(wrong_pk)
    client.connect(f"tcp://127.0.0.1:{port}")
    sock, _ = listener.accept()
    listener.close()
    mech = CurveServer(secret_key=server_sk, random_bytes=os.urandom, backend=backend)
    with pytest.raises(RemoteProtocolError, match="HELLO"):
        RawDriver(sock, mech, "ROUTER").handshake()
    sock.close()


@pytest.mark.timeout(30)
def test_zmtp_server_zap_refusal_reaches_libzmq_client(zctx) -> None:  # type: ignore[no-untyped-def]
    """Our ZAP 400 goes out as ERROR; libzmq reports HANDSHAKE_FAILED_AUTH with status 400."""
    backend = crypto.backend()
    server_pk, server_sk = keypair(backend)
    listener, port = accept_raw()
    client = zctx.socket(zmq.DEALER)
    client_pk, client_sk = zmq.curve_keypair()
    client.curve_publickey, client.curve_secretkey = client_pk, client_sk
    client.curve_serverkey = z(server_pk)
    monitor = client.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    client.connect(f"tcp://127.0.0.1:{port}")
    sock, _ = listener.accept()
    listener.close()
    mech = CurveServer(secret_key=server_sk, zap=True, random_bytes=os.urandom, backend=backend)
    RawDriver(sock, mech, "ROUTER").handshake(zap_status=b"400")
    assert monitor.poll(5000)
    from zmq.utils.monitor import recv_monitor_message

    event = recv_monitor_message(monitor)
    assert event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and event["value"] == 400
    sock.close()
    client.disable_monitor()


def test_keys_as_libzmq_expects(backend: CryptoBackend) -> None:
    """Our key pair helpers produce keys libzmq derives the same public key from."""
    pk, sk = keypair(backend)
    assert zmq.curve_public(z(sk)) == z(pk)
    assert encode_metadata({"a": b""})  # metadata encoder available for the tests above


# -- libzmq 4.3.4 (Debian's python3-zmq, in /usr/bin/python3) --------------------------------------------
SYSTEM_PYTHON = "/usr/bin/python3"

PEER_434 = r"""
import sys, zmq
role, port, key = sys.argv[1], sys.argv[2], sys.argv[3].encode()
ctx = zmq.Context()
if role == "server":
    s = ctx.socket(zmq.ROUTER)
    s.curve_server = True
    s.curve_secretkey = key
    port = s.bind_to_random_port("tcp://127.0.0.1")
    print(port, flush=True)
    assert s.poll(10000)
    rid, *frames = s.recv_multipart()
    s.send_multipart([rid, b"4.3.4:" + zmq.zmq_version().encode()] + frames)
else:
    s = ctx.socket(zmq.DEALER)
    pub, sec = zmq.curve_keypair()
    s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, key
    s.connect("tcp://127.0.0.1:" + port)
    s.send_multipart([b"from", zmq.zmq_version().encode()])
    assert s.poll(10000)
    print(s.recv_multipart(), flush=True)
s.close(linger=1000)
ctx.term()
"""


def system_libzmq_434() -> None:
    import subprocess

    try:
        out = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import zmq; print(zmq.zmq_version(), zmq.has('curve'))"],
            capture_output=True, text=True, timeout=30,
        )
    except OSError as exc:
        pytest.skip(f"Debian's python3-zmq (libzmq 4.3.4) is not installed here: {exc}")
    if out.returncode != 0 or not out.stdout.endswith("True\n"):
        pytest.skip(f"Debian's python3-zmq with CURVE is not usable here: {out.stdout or out.stderr}")


@pytest.mark.timeout(60)
def test_libzmq_434_server_zmtp_client() -> None:
    import subprocess

    system_libzmq_434()
    server_pk, server_sk = zmq.curve_keypair()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    peer = subprocess.Popen(
        [SYSTEM_PYTHON, "-c", PEER_434, "server", "0", server_sk.decode()], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        port = int(peer.stdout.readline())  # type: ignore[union-attr]
        backend = crypto.backend()
        pk, sk = keypair(backend)
        mech = CurveClient(
            public_key=pk, secret_key=sk, server_key=z85.decode(server_pk), random_bytes=os.urandom, backend=backend
        )
        driver = RawDriver(connect_raw(port), mech, "DEALER", identity=b"z")
        driver.handshake()
        driver.send([b"ping", b"x" * 5000])
        assert driver.recv() == [b"4.3.4:4.3.4", b"ping", b"x" * 5000]
        driver.close()
    finally:
        assert peer.wait(20) == 0


@pytest.mark.timeout(60)
def test_zmtp_server_libzmq_434_client() -> None:
    import subprocess

    system_libzmq_434()
    backend = crypto.backend()
    server_pk, server_sk = keypair(backend)
    listener, port = accept_raw()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    peer = subprocess.Popen(
        [SYSTEM_PYTHON, "-c", PEER_434, "client", str(port), z(server_pk).decode()],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        sock, _ = listener.accept()
        listener.close()
        driver = RawDriver(sock, CurveServer(secret_key=server_sk, random_bytes=os.urandom, backend=backend), "ROUTER")
        driver.handshake()
        assert driver.recv() == [b"from", b"4.3.4"]
        driver.send([b"welcome", b"4.3.4"])
        assert peer.stdout.readline().strip() == "[b'welcome', b'4.3.4']"  # type: ignore[union-attr]
        driver.close()
    finally:
        assert peer.wait(20) == 0
