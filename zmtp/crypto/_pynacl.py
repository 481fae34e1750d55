"""PyNaCl (``pip install zmtp[curve]``): libsodium bundled in a wheel, called through cffi.

PyNaCl exposes the box and secretbox functions but not the raw Salsa20 / Poly1305 primitives, so this
backend has ``has_primitives = False``; everything CURVE needs is here.
"""

from __future__ import annotations

from typing import Any, Optional

from ._base import CryptoBackend, CryptoBackendUnavailable


class PyNaClBackend(CryptoBackend):
    """The ``nacl.bindings`` functions behind the common checks."""

    name = "pynacl"

    def __init__(self) -> None:
        try:
            import nacl.bindings as bindings
            import nacl.exceptions as exceptions
        except ImportError as exc:
            raise CryptoBackendUnavailable(f"PyNaCl is not installed ({exc}); pip install 'zmtp[curve]'") from None
        for fname in (
            "crypto_scalarmult",
            "crypto_scalarmult_base",
            "crypto_box_beforenm",
            "crypto_secretbox",
            "crypto_secretbox_open",
        ):
            if not hasattr(bindings, fname):
                raise CryptoBackendUnavailable(f"this PyNaCl lacks nacl.bindings.{fname}; PyNaCl >= 1.4 is needed")
        self._b: Any = bindings
        # PyNaCl reports a failed libsodium call as its CryptoError (a RuntimeError subclass for
        # "unexpected library error"); both mean "no result" here.
        self._errors = (exceptions.CryptoError, RuntimeError)
        # PyNaCl's crypto_secretbox already returns tag || ciphertext (it adds and strips NaCl's zero
        # padding itself); the _easy functions (PyNaCl >= 1.6) save that copy.
        self._seal_f = getattr(bindings, "crypto_secretbox_easy", bindings.crypto_secretbox)
        self._open_f = getattr(bindings, "crypto_secretbox_open_easy", bindings.crypto_secretbox_open)

    def _scalarmult(self, n: bytes, p: bytes) -> Optional[bytes]:
        try:
            out: bytes = self._b.crypto_scalarmult(n, p)
        except self._errors:
            return None
        return out

    def _scalarmult_base(self, n: bytes) -> bytes:
        out: bytes = self._b.crypto_scalarmult_base(n)
        return out

    def _beforenm(self, pk: bytes, sk: bytes) -> Optional[bytes]:
        try:
            out: bytes = self._b.crypto_box_beforenm(pk, sk)
        except self._errors:
            return None
        return out

    def _seal(self, m: bytes, n: bytes, k: bytes) -> bytes:
        out: bytes = self._seal_f(m, n, k)
        return out

    def _open(self, c: bytes, n: bytes, k: bytes) -> Optional[bytes]:
        try:
            out: bytes = self._open_f(c, n, k)
        except self._errors:
            return None
        return out
