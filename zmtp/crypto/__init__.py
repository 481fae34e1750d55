"""NaCl's crypto_box and crypto_secretbox (Curve25519, XSalsa20, Poly1305) for CurveZMQ (RFC 26).

CURVE needs exactly what libzmq takes from NaCl/libsodium: X25519 (RFC 7748), crypto_box_beforenm,
and XSalsa20-Poly1305 boxes.  Three backends provide them with identical results:

``pynacl``
    PyNaCl, if importable (``pip install 'zmtp[curve]'``).
``libsodium``
    the system's libsodium through ctypes, if it loads (Debian: ``libsodium23``).
``pure``
    pure Python (:mod:`zmtp.crypto._pure`), always there; about 30 MB/s for large frames and 40 us
    for a small one, a millisecond per X25519, and not hardened against local timing attacks.

The first available in that order is used unless the environment variable ``ZMTP_CRYPTO_BACKEND``
(read once, at import) names one of them, or the program calls :func:`use_backend`.  A backend that
is named but cannot be loaded is an error, never a silent fallback.  :func:`backend_name` says which is
in use.

The functions come in libsodium's "easy" shape (16-byte tag || ciphertext) and in NaCl's padded shape
(32 zero bytes before the plaintext, 16 before the ciphertext), which is the one libzmq's code is
written in.  A box that fails to open raises :class:`CryptoError`.  Randomness is never drawn here:
key pairs are made from bytes the caller supplies.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Tuple

from ._base import (
    Buffer,
    CryptoBackend,
    CryptoBackendUnavailable,
    CryptoError,
    crypto_box_BEFORENMBYTES,
    crypto_box_BOXZEROBYTES,
    crypto_box_MACBYTES,
    crypto_box_NONCEBYTES,
    crypto_box_PUBLICKEYBYTES,
    crypto_box_SECRETKEYBYTES,
    crypto_box_SEEDBYTES,
    crypto_box_ZEROBYTES,
    crypto_scalarmult_BYTES,
    crypto_scalarmult_SCALARBYTES,
    crypto_secretbox_BOXZEROBYTES,
    crypto_secretbox_KEYBYTES,
    crypto_secretbox_MACBYTES,
    crypto_secretbox_NONCEBYTES,
    crypto_secretbox_ZEROBYTES,
)

#: Backends in order of preference for "auto".
BACKENDS = ("pynacl", "libsodium", "pure")
#: The environment variable that forces a backend at import ("auto" or unset: the first available).
ENV_VAR = "ZMTP_CRYPTO_BACKEND"


def _make_pynacl() -> CryptoBackend:
    from ._pynacl import PyNaClBackend

    return PyNaClBackend()


def _make_libsodium() -> CryptoBackend:
    from ._libsodium import LibsodiumBackend

    return LibsodiumBackend()


def _make_pure() -> CryptoBackend:
    from ._pure import PureBackend

    return PureBackend()


_FACTORIES: Dict[str, Callable[[], CryptoBackend]] = {
    "pynacl": _make_pynacl,
    "libsodium": _make_libsodium,
    "pure": _make_pure,
}
_loaded: Dict[str, CryptoBackend] = {}
_failed: Dict[str, str] = {}


def get_backend(name: str) -> CryptoBackend:
    """The backend called ``name`` (loaded once), without making it current.

    Raises :class:`CryptoBackendUnavailable` with the reason if it cannot be used here, and
    :class:`ValueError` for a name that is not a backend.
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown crypto backend {name!r}; choose one of {', '.join(BACKENDS)}")
    backend = _loaded.get(name)
    if backend is None:
        if name in _failed:
            raise CryptoBackendUnavailable(_failed[name])
        try:
            backend = _FACTORIES[name]()
        except CryptoBackendUnavailable as exc:
            _failed[name] = str(exc)
            raise
        _loaded[name] = backend
    return backend


def available_backends() -> List[str]:
    """The names of the backends that load here, in order of preference."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except CryptoBackendUnavailable:
            continue
        names.append(name)
    return names


def unavailable_reason(name: str) -> Optional[str]:
    """Why backend ``name`` cannot be used here, or None if it can."""
    try:
        get_backend(name)
    except CryptoBackendUnavailable as exc:
        return str(exc)
    return None


def _select(name: str) -> CryptoBackend:
    if name in ("", "auto"):
        for candidate in BACKENDS:
            try:
                return get_backend(candidate)
            except CryptoBackendUnavailable:
                continue
        raise AssertionError("the pure backend is always available")  # pragma: no cover
    return get_backend(name)


_backend: CryptoBackend = _select(os.environ.get(ENV_VAR, "auto").strip().lower())


def use_backend(name: str) -> CryptoBackend:
    """Make ``name`` ("pynacl", "libsodium", "pure" or "auto") the backend of the module functions.

    Objects that already bound a backend (a CURVE mechanism binds one when it is created) keep theirs.
    Raises :class:`CryptoBackendUnavailable` if it cannot be loaded; the current backend is unchanged.
    """
    global _backend
    _backend = _select(name.strip().lower())
    return _backend


def backend() -> CryptoBackend:
    """The current backend object (its methods are the functions below, without the indirection)."""
    return _backend


def backend_name() -> str:
    """The name of the current backend: "pynacl", "libsodium" or "pure"."""
    return _backend.name


# -- the NaCl API, dispatched to the current backend -------------------------------------------------
def crypto_scalarmult(n: Buffer, p: Buffer) -> bytes:
    """X25519(n, p) (RFC 7748 section 5); CryptoError for a small-order ``p``."""
    return _backend.crypto_scalarmult(n, p)


def crypto_scalarmult_base(n: Buffer) -> bytes:
    """The public key for secret ``n``."""
    return _backend.crypto_scalarmult_base(n)


def crypto_box_keypair(secret: Buffer) -> Tuple[bytes, bytes]:
    """(public, secret) from 32 random bytes supplied by the caller (e.g. ``os.urandom(32)``)."""
    return _backend.crypto_box_keypair(secret)


def crypto_box_seed_keypair(seed: Buffer) -> Tuple[bytes, bytes]:
    """libsodium's deterministic key pair from a 32-byte seed (secret = SHA-512(seed)[:32])."""
    return _backend.crypto_box_seed_keypair(seed)


def crypto_box_beforenm(pk: Buffer, sk: Buffer) -> bytes:
    """The precomputed key for boxes between ``sk``'s owner and ``pk``'s owner."""
    return _backend.crypto_box_beforenm(pk, sk)


def crypto_box_easy(message: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
    """tag || ciphertext of ``message`` from ``sk``'s owner to ``pk``'s owner."""
    return _backend.crypto_box_easy(message, nonce, pk, sk)


def crypto_box_open_easy(box: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
    """The message in tag || ciphertext; CryptoError if it does not authenticate."""
    return _backend.crypto_box_open_easy(box, nonce, pk, sk)


def crypto_box_easy_afternm(message: Buffer, nonce: Buffer, k: Buffer) -> bytes:
    return _backend.crypto_box_easy_afternm(message, nonce, k)


def crypto_box_open_easy_afternm(box: Buffer, nonce: Buffer, k: Buffer) -> bytes:
    return _backend.crypto_box_open_easy_afternm(box, nonce, k)


def crypto_secretbox_easy(message: Buffer, nonce: Buffer, key: Buffer) -> bytes:
    return _backend.crypto_secretbox_easy(message, nonce, key)


def crypto_secretbox_open_easy(box: Buffer, nonce: Buffer, key: Buffer) -> bytes:
    return _backend.crypto_secretbox_open_easy(box, nonce, key)


def crypto_box(padded: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
    """NaCl's padded crypto_box: 32 zero bytes || message in, 16 zero bytes || tag || ciphertext out."""
    return _backend.crypto_box(padded, nonce, pk, sk)


def crypto_box_open(padded: Buffer, nonce: Buffer, pk: Buffer, sk: Buffer) -> bytes:
    return _backend.crypto_box_open(padded, nonce, pk, sk)


def crypto_box_afternm(padded: Buffer, nonce: Buffer, k: Buffer) -> bytes:
    return _backend.crypto_box_afternm(padded, nonce, k)


def crypto_box_open_afternm(padded: Buffer, nonce: Buffer, k: Buffer) -> bytes:
    return _backend.crypto_box_open_afternm(padded, nonce, k)


def crypto_secretbox(padded: Buffer, nonce: Buffer, key: Buffer) -> bytes:
    return _backend.crypto_secretbox(padded, nonce, key)


def crypto_secretbox_open(padded: Buffer, nonce: Buffer, key: Buffer) -> bytes:
    return _backend.crypto_secretbox_open(padded, nonce, key)


__all__ = [
    "BACKENDS", "ENV_VAR", "CryptoBackend", "CryptoBackendUnavailable", "CryptoError", "available_backends",
    "backend", "backend_name", "get_backend", "unavailable_reason", "use_backend",
    "crypto_scalarmult", "crypto_scalarmult_base", "crypto_box_keypair", "crypto_box_seed_keypair",
    "crypto_box_beforenm", "crypto_box_easy", "crypto_box_open_easy", "crypto_box_easy_afternm",
    "crypto_box_open_easy_afternm", "crypto_secretbox_easy", "crypto_secretbox_open_easy", "crypto_box",
    "crypto_box_open", "crypto_box_afternm", "crypto_box_open_afternm", "crypto_secretbox",
    "crypto_secretbox_open",
    "crypto_scalarmult_BYTES", "crypto_scalarmult_SCALARBYTES", "crypto_box_PUBLICKEYBYTES",
    "crypto_box_SECRETKEYBYTES", "crypto_box_SEEDBYTES", "crypto_box_BEFORENMBYTES", "crypto_box_NONCEBYTES",
    "crypto_box_MACBYTES", "crypto_box_ZEROBYTES", "crypto_box_BOXZEROBYTES", "crypto_secretbox_KEYBYTES",
    "crypto_secretbox_NONCEBYTES", "crypto_secretbox_MACBYTES", "crypto_secretbox_ZEROBYTES",
    "crypto_secretbox_BOXZEROBYTES",
]
