"""What every crypto backend provides, and the NaCl shapes built on it once for all of them.

A backend implements six primitives (``_scalarmult``, ``_scalarmult_base``, ``_beforenm``,
``_seal``, ``_open``, and optionally the raw Salsa20 / Poly1305 ones); this base class checks every
argument first (so a C backend is never handed a short buffer) and derives the rest:

* the "easy" form libsodium calls ``crypto_box_easy``: 16-byte Poly1305 tag || ciphertext;
* NaCl's original padded form that libzmq's CURVE code uses (src/curve_client_tools.hpp,
  src/curve_mechanism_base.cpp): the plaintext starts with ``crypto_box_ZEROBYTES`` (32) zero bytes,
  the ciphertext with ``crypto_box_BOXZEROBYTES`` (16) zero bytes followed by the tag.  As in NaCl,
  the first 32 plaintext bytes are not read and the first 16 ciphertext bytes are not checked.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

crypto_scalarmult_BYTES = 32
crypto_scalarmult_SCALARBYTES = 32
crypto_box_PUBLICKEYBYTES = 32
crypto_box_SECRETKEYBYTES = 32
crypto_box_SEEDBYTES = 32
crypto_box_BEFORENMBYTES = 32
crypto_box_NONCEBYTES = 24
crypto_box_MACBYTES = 16
crypto_box_ZEROBYTES = 32
crypto_box_BOXZEROBYTES = 16
crypto_secretbox_KEYBYTES = 32
crypto_secretbox_NONCEBYTES = 24
crypto_secretbox_MACBYTES = 16
crypto_secretbox_ZEROBYTES = 32
crypto_secretbox_BOXZEROBYTES = 16

_ZERO32 = bytes(32)
_ZERO16 = bytes(16)


class CryptoError(Exception):
    """A box did not open (forged, damaged, wrong key or nonce), or a key agreement was degenerate
    (the peer's public key has small order, so the shared secret would be zero)."""


class CryptoBackendUnavailable(RuntimeError):
    """The requested backend cannot be used here (library missing or too old); the message says why."""


def _check(value: Buffer, size: int, what: str) -> bytes:
    data = value if type(value) is bytes else bytes(value)
    if len(data) != size:
        raise ValueError(f"{what} must be {size} bytes, not {len(data)}")
    return data


def _as_bytes(value: Buffer) -> bytes:
    return value if type(value) is bytes else bytes(value)


class CryptoBackend:
    """The NaCl API over one backend's primitives.  Subclasses set :attr:`name` and the ``_`` methods."""

    #: "pure", "libsodium" or "pynacl".
    name = ""
    #: True when the raw Salsa20 / HSalsa20 / Poly1305 primitives are exposed (not by PyNaCl).
    has_primitives = False

    # -- primitives a backend implements (arguments already checked) -------------------------------
    def _scalarmult(self, n: bytes, p: bytes) -> Optional[bytes]:
        """X25519; None when the result is all zero (libsodium's -1)."""
        raise NotImplementedError

    def _scalarmult_base(self, n: bytes) -> bytes:
        raise NotImplementedError

    def _beforenm(self, pk: bytes, sk: bytes) -> Optional[bytes]:
        """crypto_box_beforenm; None when the shared secret is all zero."""
        raise NotImplementedError

    def _seal(self, m: bytes, n: bytes, k: bytes) -> bytes:
        """crypto_secretbox_easy: tag || ciphertext."""
        raise NotImplementedError

    def _open(self, c: bytes, n: bytes, k: bytes) -> Optional[bytes]:
        """crypto_secretbox_open_easy: the message, or None when the tag does not verify."""
        raise NotImplementedError

    # -- X25519 --------------------------------------------------------------------------------------
    def crypto_scalarmult(self, n: Buffer, p: Buffer) -> bytes:
        """X25519(n, p) (RFC 7748 section 5).  CryptoError if the result is zero (small-order ``p``),
        as libsodium's crypto_scalarmult fails then."""
        out = self._scalarmult(_check(n, 32, "scalar"), _check(p, 32, "point"))
        if out is None:
            raise CryptoError("X25519 gave the all-zero value: the public key has small order")
        return out

    def crypto_scalarmult_base(self, n: Buffer) -> bytes:
        """The public key of secret ``n``: X25519(n, 9)."""
        return self._scalarmult_base(_check(n, 32, "scalar"))

    def crypto_box_keypair(self, secret: Buffer) -> Tuple[bytes, bytes]:
        """(public, secret) from 32 random bytes the caller drew, as libsodium's crypto_box_keypair
        does with its own random bytes (the secret is stored unclamped; X25519 clamps it)."""
        sk = _check(secret, 32, "secret key")
        return self._scalarmult_base(sk), sk

    def crypto_box_seed_keypair(self, seed: Buffer) -> Tuple[bytes, bytes]:
        """libsodium's crypto_box_seed_keypair: secret = SHA-512(seed)[:32], deterministic."""
        sk = hashlib.sha512(_check(seed, 32, "seed")).digest()[:32]
        return self._scalarmult_base(sk), sk

    # -- crypto_box ----------------------------------------------------------------------------------
    def crypto_box_beforenm(self, pk: Buffer, sk: Buffer) -> bytes:
        """The 32-byte key shared by ``sk``'s owner and ``pk``'s owner (HSalsa20 of X25519)."""
        k = self._beforenm(_check(pk, 32, "public key"), _check(sk, 32, "secret key"))
        if k is None:
            raise CryptoError("the public key has small order: refusing the all-zero shared secret")
        return k

    def crypto_box_easy_afternm(self, message: Buffer, nonce: Buffer, k: Buffer) -> bytes:
        """Seal ``message`` with a precomputed key: 16-byte tag || ciphertext."""
        return self._seal(_as_bytes(message), _check(nonce, 24, "nonce"), _check(k, 32, "key"))

    def crypto_box_open_easy_afternm(self, box: Buffer, nonce: Buffer, k: Buffer) -> bytes:
        """Open tag || ciphertext; CryptoError if it was forged, damaged or sealed with another key."""
        c = _as_bytes(box)
        if len(c) < 16:
            raise CryptoError(f"a box is at least 16 bytes (its tag), not {len(c)}")
        m = self._open(c, _check(nonce, 24, "nonce"), _check(k, 32, "key"))
        if m is None:
            raise CryptoError("the box failed authentication")
        return m

    def crypto_box_easy(self, message: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
        return self.crypto_box_easy_afternm(message, nonce, self.crypto_box_beforenm(pk, sk))

    def crypto_box_open_easy(self, box: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
        return self.crypto_box_open_easy_afternm(box, nonce, self.crypto_box_beforenm(pk, sk))

    crypto_secretbox_easy = crypto_box_easy_afternm
    crypto_secretbox_open_easy = crypto_box_open_easy_afternm

    # -- NaCl's padded shapes ------------------------------------------------------------------------
    def crypto_box_afternm(self, padded: Buffer, nonce: Buffer, k: Buffer) -> bytes:
        """NaCl's crypto_box_afternm: ``padded`` = 32 zero bytes || message; returns 16 zero bytes ||
        tag || ciphertext, the same length."""
        m = _as_bytes(padded)
        if len(m) < crypto_box_ZEROBYTES:
            raise ValueError(f"a padded plaintext starts with {crypto_box_ZEROBYTES} zero bytes")
        return _ZERO16 + self.crypto_box_easy_afternm(memoryview(m)[crypto_box_ZEROBYTES:], nonce, k)

    def crypto_box_open_afternm(self, padded: Buffer, nonce: Buffer, k: Buffer) -> bytes:
        """NaCl's crypto_box_open_afternm: 16 zero bytes || tag || ciphertext in, 32 zero bytes ||
        message out."""
        c = _as_bytes(padded)
        if len(c) < crypto_box_ZEROBYTES:
            raise CryptoError(f"a padded box is at least {crypto_box_ZEROBYTES} bytes, not {len(c)}")
        return _ZERO32 + self.crypto_box_open_easy_afternm(memoryview(c)[crypto_box_BOXZEROBYTES:], nonce, k)

    def crypto_box(self, padded: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
        return self.crypto_box_afternm(padded, nonce, self.crypto_box_beforenm(pk, sk))

    def crypto_box_open(self, padded: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
        return self.crypto_box_open_afternm(padded, nonce, self.crypto_box_beforenm(pk, sk))

    crypto_secretbox = crypto_box_afternm
    crypto_secretbox_open = crypto_box_open_afternm

    # -- raw primitives (pure and libsodium) ---------------------------------------------------------
    def crypto_core_hsalsa20(self, inp: Buffer, key: Buffer) -> bytes:
        raise NotImplementedError(f"the {self.name} backend does not expose HSalsa20")

    def crypto_core_salsa20(self, inp: Buffer, key: Buffer) -> bytes:
        raise NotImplementedError(f"the {self.name} backend does not expose Salsa20")

    def crypto_stream_xsalsa20(self, length: int, nonce: Buffer, key: Buffer) -> bytes:
        raise NotImplementedError(f"the {self.name} backend does not expose XSalsa20")

    def crypto_stream_xsalsa20_xor(self, message: Buffer, nonce: Buffer, key: Buffer) -> bytes:
        raise NotImplementedError(f"the {self.name} backend does not expose XSalsa20")

    def crypto_onetimeauth_poly1305(self, message: Buffer, key: Buffer) -> bytes:
        raise NotImplementedError(f"the {self.name} backend does not expose Poly1305")

    def __repr__(self) -> str:
        return f"<zmtp.crypto backend {self.name!r}>"


def verify16(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two tags (crypto_verify_16)."""
    return hmac.compare_digest(a, b)
