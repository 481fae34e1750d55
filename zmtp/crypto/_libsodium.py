"""The system's libsodium through :mod:`ctypes`: no compiler, no Python package, ~100x the pure speed.

Debian and Ubuntu ship it as ``libsodium23`` (``libsodium.so.23``), Fedora as ``libsodium``, Homebrew
as ``libsodium.dylib``.  Every call goes through the checks in :class:`~zmtp.crypto._base.CryptoBackend`
first, so a C function is never handed a buffer shorter than it reads.  The functions used exist in
every libsodium since 1.0.0 (the ``_easy`` ones) and are the ones libzmq itself calls when built with
libsodium (src/curve_*.cpp).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any, List, Optional

from ._base import Buffer, CryptoBackend, CryptoBackendUnavailable, _as_bytes, _check

_c_buf = ctypes.c_char_p
_c_len = ctypes.c_ulonglong


def _candidates() -> List[str]:
    if sys.platform == "darwin":
        names = ["libsodium.dylib", "libsodium.26.dylib", "libsodium.23.dylib"]
    elif sys.platform == "win32":
        names = ["libsodium.dll", "libsodium-26.dll", "libsodium-23.dll"]
    else:
        names = ["libsodium.so.23", "libsodium.so.26", "libsodium.so"]
    return names


def _load(path: Optional[str] = None) -> Any:
    """The libsodium CDLL, trying the usual names before ``ctypes.util.find_library``."""
    errors = []
    for name in [path] if path else _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    if not path:
        found = ctypes.util.find_library("sodium")
        if found:
            try:
                return ctypes.CDLL(found)
            except OSError as exc:
                errors.append(f"{found}: {exc}")
    raise CryptoBackendUnavailable("libsodium could not be loaded (" + "; ".join(errors or ["not found"]) + ")")


class LibsodiumBackend(CryptoBackend):
    """libsodium via ctypes.  ``path`` names the shared library if it is not on the loader's path."""

    name = "libsodium"
    has_primitives = True

    def __init__(self, path: Optional[str] = None) -> None:
        lib = _load(path)
        try:
            if lib.sodium_init() < 0:
                raise CryptoBackendUnavailable("libsodium's sodium_init() failed")
            for fname, argtypes in (
                ("crypto_scalarmult_curve25519", [_c_buf, _c_buf, _c_buf]),
                ("crypto_scalarmult_curve25519_base", [_c_buf, _c_buf]),
                ("crypto_box_curve25519xsalsa20poly1305_beforenm", [_c_buf, _c_buf, _c_buf]),
                ("crypto_secretbox_easy", [_c_buf, _c_buf, _c_len, _c_buf, _c_buf]),
                ("crypto_secretbox_open_easy", [_c_buf, _c_buf, _c_len, _c_buf, _c_buf]),
                ("crypto_core_hsalsa20", [_c_buf, _c_buf, _c_buf, _c_buf]),
                ("crypto_core_salsa20", [_c_buf, _c_buf, _c_buf, _c_buf]),
                ("crypto_stream_xsalsa20", [_c_buf, _c_len, _c_buf, _c_buf]),
                ("crypto_stream_xsalsa20_xor", [_c_buf, _c_buf, _c_len, _c_buf, _c_buf]),
                ("crypto_onetimeauth_poly1305", [_c_buf, _c_buf, _c_len, _c_buf]),
            ):
                func = getattr(lib, fname)
                func.argtypes = argtypes
                func.restype = ctypes.c_int
        except AttributeError as exc:
            raise CryptoBackendUnavailable(f"this libsodium lacks a function zmtp needs: {exc}") from None
        self._lib = lib
        self._scalarmult_c = lib.crypto_scalarmult_curve25519
        self._scalarmult_base_c = lib.crypto_scalarmult_curve25519_base
        self._beforenm_c = lib.crypto_box_curve25519xsalsa20poly1305_beforenm
        self._seal_c = lib.crypto_secretbox_easy
        self._open_c = lib.crypto_secretbox_open_easy

    def _scalarmult(self, n: bytes, p: bytes) -> Optional[bytes]:
        out = ctypes.create_string_buffer(32)
        # -1: p has small order or the result is zero (libsodium >= 1.0.16 checks both).
        return None if self._scalarmult_c(out, n, p) != 0 else out.raw

    def _scalarmult_base(self, n: bytes) -> bytes:
        out = ctypes.create_string_buffer(32)
        if self._scalarmult_base_c(out, n) != 0:  # pragma: no cover - only for an all-zero clamped scalar
            raise ValueError("crypto_scalarmult_base failed")
        return out.raw

    def _beforenm(self, pk: bytes, sk: bytes) -> Optional[bytes]:
        out = ctypes.create_string_buffer(32)
        return None if self._beforenm_c(out, pk, sk) != 0 else out.raw

    def _seal(self, m: bytes, n: bytes, k: bytes) -> bytes:
        out = ctypes.create_string_buffer(len(m) + 16)
        self._seal_c(out, m, len(m), n, k)
        return out.raw

    def _open(self, c: bytes, n: bytes, k: bytes) -> Optional[bytes]:
        out = ctypes.create_string_buffer(max(1, len(c) - 16))
        if self._open_c(out, c, len(c), n, k) != 0:
            return None
        return out.raw[: len(c) - 16]

    def crypto_core_hsalsa20(self, inp: Buffer, key: Buffer) -> bytes:
        out = ctypes.create_string_buffer(32)
        self._lib.crypto_core_hsalsa20(out, _check(inp, 16, "input"), _check(key, 32, "key"), None)
        return out.raw

    def crypto_core_salsa20(self, inp: Buffer, key: Buffer) -> bytes:
        out = ctypes.create_string_buffer(64)
        self._lib.crypto_core_salsa20(out, _check(inp, 16, "input"), _check(key, 32, "key"), None)
        return out.raw

    def crypto_stream_xsalsa20(self, length: int, nonce: Buffer, key: Buffer) -> bytes:
        if length < 0:
            raise ValueError("length must not be negative")
        out = ctypes.create_string_buffer(max(1, length))
        self._lib.crypto_stream_xsalsa20(out, length, _check(nonce, 24, "nonce"), _check(key, 32, "key"))
        return out.raw[:length]

    def crypto_stream_xsalsa20_xor(self, message: Buffer, nonce: Buffer, key: Buffer) -> bytes:
        m = _as_bytes(message)
        out = ctypes.create_string_buffer(max(1, len(m)))
        self._lib.crypto_stream_xsalsa20_xor(out, m, len(m), _check(nonce, 24, "nonce"), _check(key, 32, "key"))
        return out.raw[: len(m)]

    def crypto_onetimeauth_poly1305(self, message: Buffer, key: Buffer) -> bytes:
        m = _as_bytes(message)
        out = ctypes.create_string_buffer(16)
        self._lib.crypto_onetimeauth_poly1305(out, m, len(m), _check(key, 32, "key"))
        return out.raw
