"""CURVE key helpers with pyzmq's names: ``curve_keypair()`` and ``curve_public(secret)``.

libzmq's ``zmq_curve_keypair`` draws a random 32-byte secret and computes its public key with
``crypto_box_keypair``; ``zmq_curve_public`` recomputes the public key from a secret
(``crypto_scalarmult_base``).  Both work on the 40-character Z85 form (RFC 32), as pyzmq returns
them.  The randomness comes from :func:`os.urandom` here, at the edge: :mod:`zmtp.crypto` never draws
any itself.
"""

from __future__ import annotations

import errno
import os
from typing import Tuple, Union

from .. import crypto
from ..error import ZMQError
from . import z85


def curve_keypair() -> Tuple[bytes, bytes]:
    """A new CURVE key pair: (public, secret), each 40 bytes of Z85 (pyzmq's ``zmq.curve_keypair``)."""
    public, secret = crypto.crypto_box_keypair(os.urandom(crypto.crypto_box_SECRETKEYBYTES))
    return z85.encode(public), z85.encode(secret)


def curve_public(secret_key: Union[str, bytes]) -> bytes:
    """The Z85 public key of a Z85 secret key (pyzmq's ``zmq.curve_public``).

    As pyzmq: a key that is not 40 bytes is a :class:`ValueError`; 40 bytes that are not Z85 are a
    ``ZMQError(EINVAL)`` (libzmq's ``zmq_curve_public`` fails with EINVAL).
    """
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("utf-8")
    if len(secret_key) != 40:
        raise ValueError("secret key must be a 40 byte z85 encoded string")
    try:
        secret = z85.decode(secret_key)
    except ValueError:
        raise ZMQError(errno.EINVAL) from None
    return z85.encode(crypto.crypto_scalarmult_base(secret))


def curve_key(value: Union[bytes, bytearray, memoryview]) -> bytes:
    """A CURVE key socket option (CURVE_PUBLICKEY, CURVE_SECRETKEY, CURVE_SERVERKEY) as 32 raw bytes.

    libzmq's ``options_t::setsockopt`` (``do_setsockopt_curve_key``) takes 32 raw bytes, 40 Z85
    characters, or 41 bytes of Z85 with a terminating NUL; anything else, or Z85 that does not decode,
    is EINVAL.  pyzmq passes ``bytes`` through unchanged, so the same rule holds for ``sock.curve_*``.
    """
    raw = bytes(value)
    if len(raw) == 32:
        return raw
    if len(raw) == 41 and raw[40] == 0:
        raw = raw[:40]
    if len(raw) == 40:
        try:
            return z85.decode(raw)
        except ValueError:
            pass
    raise ZMQError(errno.EINVAL)


__all__ = ["curve_keypair", "curve_public", "curve_key"]
