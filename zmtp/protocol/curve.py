"""CURVE (ZeroMQ RFC 26 CurveZMQ, RFC 25 ZMTP-CURVE) as libzmq 4.3 implements it.

Keys: each side has a long-term key pair (C, c for the client, S, s for the server); each connection
makes short-term ones (C', c' and S', s').  ``Box[X](A->B)`` is NaCl's crypto_box of X from A's secret
key to B's public key; every nonce is a fixed 8- or 16-byte prefix and a short (8-byte counter) or long
(16 random bytes) part::

    C: HELLO     (200 bytes) version 1.0, 72 zero bytes of padding, C', short nonce,
                 Box[64 zero bytes](C'->S)                       nonce "CurveZMQHELLO---" + short
    S: WELCOME   (168 bytes) long nonce, Box[S' + cookie](S->C')  nonce "WELCOME-" + long
                 cookie = long nonce + SecretBox[C' + s'](K)      nonce "COOKIE--" + long
    C: INITIATE  (257+ bytes) cookie, short nonce,
                 Box[C + vouch + metadata](C'->S')               nonce "CurveZMQINITIATE" + short
                 vouch = long nonce + Box[C' + S](C->S')          nonce "VOUCH---" + long
    S: READY     (30+ bytes) short nonce, Box[metadata](S'->C')   nonce "CurveZMQREADY---" + short
    then both:   MESSAGE short nonce, Box[flags + frame](C'<->S') nonce "CurveZMQMESSAGEC"/"...S" + short

The server keeps no state for a client until INITIATE (RFC 26 section "The WELCOME Command"): its
short-term secret travels in the cookie, sealed with a cookie key K that is fresh for each WELCOME and
forgotten once INITIATE has used it (libzmq src/curve_server.cpp ``produce_welcome``).

After the handshake every frame, data or command, is one MESSAGE command body carried in a *data*
frame (wire flags 0); the frame's MORE and COMMAND flags travel inside the box as bits 0x01 and 0x02
(libzmq src/curve_mechanism_base.cpp ``curve_encoding_t``, which puts ``msg_t::more`` and
``msg_t::command`` there; RFC 26 names only MORE).  Short nonces start at 1 and count up on each side:
the client's HELLO is 1, INITIATE 2, its first MESSAGE 3; the server's READY is 1, its first MESSAGE 2.
A MESSAGE whose nonce is not above the last one seen (HELLO/INITIATE, READY, or the previous MESSAGE)
is a replay and closes the connection, as are a box that does not open and a malformed command.

Subscriptions need no special case here: the connection hands ``encode_frame`` a SUBSCRIBE command on
ZMTP 3.1 and a ``\\x01topic`` data frame on 3.0, which is exactly what libzmq's ``downgrade_sub``
produces inside the box for each peer version.

Sans-IO: randomness comes from the ``random_bytes`` callable the driver passes in; the crypto backend
(:mod:`zmtp.crypto`) is bound when the mechanism is created.
"""

from __future__ import annotations

import hmac
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import crypto
from ..crypto import CryptoBackend, CryptoError
from .commands import ERROR, ERROR_MISSPELLED, READY, command_body
from .errors import ErrorReason, LocalProtocolError, RemoteProtocolError
from .frames import COMMAND, MORE
from .mechanism import Mechanism
from .metadata import decode_metadata
from .plain import AuthRequest, _unexpected, check_zap_status, peer_error, zap_refusal

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
MESSAGE = b"MESSAGE"

HELLO_NONCE = b"CurveZMQHELLO---"
WELCOME_NONCE = b"WELCOME-"
COOKIE_NONCE = b"COOKIE--"
INITIATE_NONCE = b"CurveZMQINITIATE"
VOUCH_NONCE = b"VOUCH---"
READY_NONCE = b"CurveZMQREADY---"
MESSAGE_NONCE_CLIENT = b"CurveZMQMESSAGEC"
MESSAGE_NONCE_SERVER = b"CurveZMQMESSAGES"

#: Command sizes with their name (RFC 26 "High-level Grammar"); the mechanism sees the data after the
#: name, so it checks these minus the 1 + len(name) header bytes.
HELLO_SIZE = 200
WELCOME_SIZE = 168
INITIATE_MIN_SIZE = 257
READY_MIN_SIZE = 30
MESSAGE_MIN_SIZE = 33

_MESSAGE_PREFIX = b"\x07MESSAGE"
_U64 = struct.Struct(">Q")
#: In-box flag bits (libzmq msg_t::more / msg_t::command).
_BOX_MORE = 0x01
_BOX_COMMAND = 0x02
_MAX_NONCE = (1 << 64) - 1


def _key(value: bytes, what: str) -> bytes:
    if len(value) != 32:
        raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"CURVE {what} must be 32 bytes, not {len(value)}")
    return bytes(value)


def _crypto_failure(what: str) -> RemoteProtocolError:
    return RemoteProtocolError(ErrorReason.AUTHENTICATION_FAILED, f"CURVE: {what}")


class _CurveBase(Mechanism):
    """What both roles share: nonces, the precomputed box key, and sealing frames afterwards."""

    name = b"CURVE"
    frame_overhead = MESSAGE_MIN_SIZE  # "\x07MESSAGE" + 8-byte nonce + 16-byte tag + flags byte

    def __init__(
        self,
        *,
        as_server: bool,
        random_bytes: Optional[Callable[[int], bytes]],
        backend: Optional[CryptoBackend],
    ) -> None:
        super().__init__(as_server=as_server)
        if random_bytes is None:
            raise LocalProtocolError(
                ErrorReason.INVALID_ARGUMENT, "CURVE needs random_bytes from the driver (e.g. os.urandom)"
            )
        self.random_bytes: Callable[[int], bytes] = random_bytes
        self.auth_request: Any = None
        self._crypto = backend if backend is not None else crypto.backend()
        self._seal = self._crypto.crypto_box_easy_afternm
        self._open = self._crypto.crypto_box_open_easy_afternm
        self._nonce = 1  # our next short nonce
        self._peer_nonce = 0  # the last short nonce the peer used
        self._precom = b""  # crypto_box_beforenm of the short-term keys, once known
        self._encode_prefix = MESSAGE_NONCE_SERVER if as_server else MESSAGE_NONCE_CLIENT
        self._decode_prefix = MESSAGE_NONCE_CLIENT if as_server else MESSAGE_NONCE_SERVER

    @property
    def backend_name(self) -> str:
        """Which crypto backend seals this connection ("pynacl", "libsodium" or "pure")."""
        return self._crypto.name

    def _next_nonce(self) -> bytes:
        nonce = self._nonce
        if nonce > _MAX_NONCE:  # RFC 26: no more than 2^64-1 commands per connection
            raise LocalProtocolError(ErrorReason.INVALID_STATE, "CURVE short nonces exhausted on this connection")
        self._nonce = nonce + 1
        return _U64.pack(nonce)

    def _random(self, n: int) -> bytes:
        data = bytes(self.random_bytes(n))
        if len(data) != n:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, f"random_bytes({n}) returned {len(data)} bytes")
        return data

    def _completed(self) -> None:
        self.complete = True
        self.transforms_frames = True  # every frame is sealed from now on

    # -- after the handshake -------------------------------------------------------------------------
    def encode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """One frame -> a MESSAGE command body in a data frame (wire flags 0); flags go in the box."""
        inner = (flags & MORE) | (_BOX_COMMAND if flags & COMMAND else 0)
        short = self._next_nonce()
        box = self._seal(bytes((inner,)) + body, self._encode_prefix + short, self._precom)
        return 0, _MESSAGE_PREFIX + short + box

    def decode_frame(self, flags: int, body: bytes) -> Tuple[int, bytes]:
        """A MESSAGE in a wire frame -> the plaintext frame.  Refuses (RemoteProtocolError) anything
        that is not a MESSAGE, is shorter than 33 bytes, repeats or goes back in nonces, or does not
        open (libzmq curve_encoding_t::check_validity / decode)."""
        size = len(body)
        if size < 8 or body[:8] != _MESSAGE_PREFIX:
            raise RemoteProtocolError(
                ErrorReason.UNEXPECTED_COMMAND, "peer sent a frame that is not a CURVE MESSAGE after the handshake"
            )
        if size < MESSAGE_MIN_SIZE:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND, f"peer's CURVE MESSAGE is {size} bytes, less than the minimum 33"
            )
        short = bytes(body[8:16])
        nonce = _U64.unpack(short)[0]
        if nonce <= self._peer_nonce:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND,
                f"peer's CURVE MESSAGE nonce {nonce} is not above the last one ({self._peer_nonce}): replay refused",
            )
        try:
            plain = self._open(memoryview(body)[16:], self._decode_prefix + short, self._precom)
        except CryptoError:
            raise _crypto_failure("a MESSAGE box failed to open (tampered, or not from our peer)") from None
        self._peer_nonce = nonce
        inner = plain[0]
        # libzmq keeps only MORE and COMMAND from the box and ORs them into the wire frame's flags.
        out = (flags & (MORE | COMMAND)) | (inner & _BOX_MORE) | (COMMAND if inner & _BOX_COMMAND else 0)
        return out, plain[1:]


class CurveClient(_CurveBase):
    """The CURVE client: ``public_key``/``secret_key`` are ours (C, c), ``server_key`` the server's
    long-term public key S, all 32 raw bytes."""

    def __init__(
        self,
        *,
        public_key: bytes,
        secret_key: bytes,
        server_key: bytes,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        backend: Optional[CryptoBackend] = None,
    ) -> None:
        super().__init__(as_server=False, random_bytes=random_bytes, backend=backend)
        self.public_key = _key(public_key, "public key")
        self._secret_key = _key(secret_key, "secret key")
        self.server_key = _key(server_key, "server key")
        self._cn_public, self._cn_secret = self._crypto.crypto_box_keypair(self._random(32))
        try:
            self._hello_key = self._crypto.crypto_box_beforenm(self.server_key, self._cn_secret)
        except CryptoError:
            raise LocalProtocolError(ErrorReason.INVALID_ARGUMENT, "CURVE server key has small order") from None
        self._cn_server = b""
        self._cookie = b""
        self._metadata = b""
        self._state = "start"

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        short = self._next_nonce()
        signature = self._seal(bytes(64), HELLO_NONCE + short, self._hello_key)
        self._hello_key = b""
        self._state = "expect-welcome"
        # version 1.0, 72 bytes of anti-amplification padding, C', short nonce, signature box
        return [command_body(HELLO, b"\x01\x00" + bytes(72) + self._cn_public + short + signature)]

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == ERROR or name == ERROR_MISSPELLED:
            if self._state not in ("expect-welcome", "expect-ready"):
                raise _unexpected(name, "CURVE", "nothing")
            raise peer_error(data, "CURVE")
        if name == WELCOME and self._state == "expect-welcome":
            return self._on_welcome(data)
        if name == READY and self._state == "expect-ready":
            self._on_ready(data)
            return []
        raise _unexpected(name, "CURVE", "WELCOME" if self._state == "expect-welcome" else "READY")

    def _on_welcome(self, data: bytes) -> List[bytes]:
        if len(data) != WELCOME_SIZE - 8:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND, f"peer's CURVE WELCOME is {len(data) + 8} bytes, not {WELCOME_SIZE}"
            )
        try:
            plain = self._crypto.crypto_box_open_easy(
                data[16:], WELCOME_NONCE + bytes(data[:16]), self.server_key, self._cn_secret
            )
            self._cn_server = plain[:32]
            self._cookie = plain[32:128]
            self._precom = self._crypto.crypto_box_beforenm(self._cn_server, self._cn_secret)
        except CryptoError:
            raise _crypto_failure("cannot open the server's WELCOME (wrong server key?)") from None
        # vouch = Box[C' + S](C->S'), long nonce
        vouch_nonce = self._random(16)
        try:
            vouch = self._crypto.crypto_box_easy(
                self._cn_public + self.server_key, VOUCH_NONCE + vouch_nonce, self._cn_server, self._secret_key
            )
        except CryptoError:
            raise _crypto_failure("the server's short-term key has small order") from None
        short = self._next_nonce()
        box = self._seal(self.public_key + vouch_nonce + vouch + self._metadata, INITIATE_NONCE + short, self._precom)
        self._state = "expect-ready"
        return [command_body(INITIATE, self._cookie + short + box)]

    def _on_ready(self, data: bytes) -> None:
        if len(data) < READY_MIN_SIZE - 6:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND, f"peer's CURVE READY is {len(data) + 6} bytes, less than {READY_MIN_SIZE}"
            )
        short = bytes(data[:8])
        try:
            plain = self._open(data[8:], READY_NONCE + short, self._precom)
        except CryptoError:
            raise _crypto_failure("cannot open the server's READY") from None
        self.peer_metadata = decode_metadata(plain, "READY")
        # libzmq curve_client_t::process_ready: the server's MESSAGE nonces must exceed READY's.
        self._peer_nonce = _U64.unpack(short)[0]
        self._state = "ready"
        self._cookie = b""
        self._completed()


class CurveServer(_CurveBase):
    """The CURVE server: ``secret_key`` is its long-term secret s (32 raw bytes); the public key S is
    derived from it (libzmq never reads ZMQ_CURVE_PUBLICKEY on a server either).

    ``zap=True`` means a ZAP handler is bound: after a valid INITIATE the mechanism sets
    :attr:`auth_request` (mechanism ``CURVE``, credentials ``[C]``, the client's 32-byte long-term
    public key) and sends READY only on a 200 :meth:`auth_result`.  ``zap=False`` accepts every client
    that completes the handshake, as libzmq does with no handler bound (the "Stonehouse" pattern).
    """

    def __init__(
        self,
        *,
        secret_key: bytes,
        zap: bool = False,
        random_bytes: Optional[Callable[[int], bytes]] = None,
        backend: Optional[CryptoBackend] = None,
    ) -> None:
        super().__init__(as_server=True, random_bytes=random_bytes, backend=backend)
        self._secret_key = _key(secret_key, "secret key")
        self.public_key = self._crypto.crypto_scalarmult_base(self._secret_key)
        self.zap = zap
        #: The client's long-term public key C, once INITIATE proved it.
        self.client_key = b""
        self._cn_public, self._cn_secret = self._crypto.crypto_box_keypair(self._random(32))
        self._cn_client = b""
        self._cookie_key: Optional[bytes] = None
        self._metadata = b""
        self._state = "expect-hello"

    def start(self, metadata: bytes) -> List[bytes]:
        self._metadata = metadata
        return []

    def receive_command(self, name: bytes, data: bytes) -> List[bytes]:
        if name == HELLO and self._state == "expect-hello":
            return self._on_hello(data)
        if name == INITIATE and self._state == "expect-initiate":
            return self._on_initiate(data)
        expected = {"expect-hello": "HELLO", "expect-initiate": "INITIATE"}.get(self._state, "nothing")
        raise _unexpected(name, "CURVE", expected)

    def _on_hello(self, data: bytes) -> List[bytes]:
        if len(data) != HELLO_SIZE - 6:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND, f"peer's CURVE HELLO is {len(data) + 6} bytes, not {HELLO_SIZE}"
            )
        if data[0] != 1 or data[1] != 0:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND, f"peer's CURVE HELLO has version {data[0]}.{data[1]}; only 1.0 exists"
            )
        # Like libzmq, the 72 padding bytes are not inspected; the signature box is what counts.
        cn_client = bytes(data[74:106])
        short = bytes(data[106:114])
        try:
            self._crypto.crypto_box_open_easy(data[114:194], HELLO_NONCE + short, cn_client, self._secret_key)
        except CryptoError:
            raise _crypto_failure("cannot open the client's HELLO (does it use our public key?)") from None
        self._cn_client = cn_client
        self._peer_nonce = _U64.unpack(short)[0]
        # cookie = long nonce + SecretBox[C' + s'](K), with a fresh cookie key K for this WELCOME
        self._cookie_key = self._random(32)
        cookie_nonce = self._random(16)
        cookie = cookie_nonce + self._crypto.crypto_secretbox_easy(
            cn_client + self._cn_secret, COOKIE_NONCE + cookie_nonce, self._cookie_key
        )
        welcome_nonce = self._random(16)
        try:
            box = self._crypto.crypto_box_easy(
                self._cn_public + cookie, WELCOME_NONCE + welcome_nonce, cn_client, self._secret_key
            )
        except CryptoError:
            raise _crypto_failure("the client's short-term key has small order") from None
        self._state = "expect-initiate"
        return [command_body(WELCOME, welcome_nonce + box)]

    def _on_initiate(self, data: bytes) -> List[bytes]:
        if len(data) < INITIATE_MIN_SIZE - 9:
            raise RemoteProtocolError(
                ErrorReason.BAD_COMMAND,
                f"peer's CURVE INITIATE is {len(data) + 9} bytes, less than {INITIATE_MIN_SIZE}",
            )
        cookie_key, self._cookie_key = self._cookie_key, None  # used once, then forgotten
        if cookie_key is None:  # pragma: no cover - the state machine sets it with the WELCOME
            raise LocalProtocolError(ErrorReason.INVALID_STATE, "no cookie key")
        try:
            cookie = self._crypto.crypto_secretbox_open_easy(data[16:96], COOKIE_NONCE + bytes(data[:16]), cookie_key)
        except CryptoError:
            raise _crypto_failure("the client's INITIATE carries a cookie we did not make") from None
        if not hmac.compare_digest(cookie, self._cn_client + self._cn_secret):
            raise _crypto_failure("the client's INITIATE cookie is for another connection")
        short = bytes(data[96:104])
        self._precom = self._crypto.crypto_box_beforenm(self._cn_client, self._cn_secret)
        try:
            plain = self._open(data[104:], INITIATE_NONCE + short, self._precom)
        except CryptoError:
            raise _crypto_failure("cannot open the client's INITIATE") from None
        client_key = plain[:32]
        try:
            vouch = self._crypto.crypto_box_open_easy(
                plain[48:128], VOUCH_NONCE + plain[32:48], client_key, self._cn_secret
            )
        except CryptoError:
            raise _crypto_failure("the client's vouch is not signed by the key it claims") from None
        if not hmac.compare_digest(vouch[:32], self._cn_client):
            raise _crypto_failure("the client's vouch is for another connection's short-term key")
        # RFC 26 puts S in the vouch so a vouch made for another server is refused; libzmq 4.3 does
        # not compare it (curve_server_t::process_initiate), we do.
        if not hmac.compare_digest(vouch[32:64], self.public_key):
            raise _crypto_failure("the client's vouch names another server")
        self.peer_metadata = decode_metadata(plain[128:], "INITIATE")
        self._peer_nonce = _U64.unpack(short)[0]
        self.client_key = client_key
        if self.zap:
            self._state = "expect-zap"
            self.auth_request = AuthRequest(mechanism=self.name, credentials=[client_key])
            return []
        return self._ready()

    def _ready(self) -> List[bytes]:
        short = self._next_nonce()
        box = self._seal(self._metadata, READY_NONCE + short, self._precom)
        self._state = "ready"
        self._cn_secret = b""  # the precomputed key is all the connection needs from now on
        self._completed()
        return [command_body(READY, short + box)]

    def auth_result(
        self, status_code: bytes, status_text: bytes, user_id: bytes, metadata: Dict[str, bytes]
    ) -> List[bytes]:
        """The ZAP decision on the client key: READY on 200, else ERROR (400/500) or nothing (300)."""
        if self._state != "expect-zap":
            raise LocalProtocolError(ErrorReason.INVALID_STATE, "the CURVE server asked for no decision")
        check_zap_status(status_code)
        self.auth_request = None
        if status_code != b"200":
            self._state = "refused"
            return zap_refusal(status_code)
        return self._ready()


__all__ = [
    "CurveClient", "CurveServer", "HELLO", "WELCOME", "INITIATE", "MESSAGE", "HELLO_SIZE", "WELCOME_SIZE",
    "INITIATE_MIN_SIZE", "READY_MIN_SIZE", "MESSAGE_MIN_SIZE",
]
