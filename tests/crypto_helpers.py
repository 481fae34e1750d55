"""Parametrising tests over the crypto backends without ever hiding a missing one.

Every test that takes the ``crypto_backend`` fixture runs once per backend (pynacl, libsodium, pure).
A backend that cannot be loaded here is skipped *with its reason* (pytest prints it under -ra), unless
its name is listed in the environment variable ``ZMTP_REQUIRE_BACKENDS`` (comma-separated, or "all"),
where it fails instead: CI sets it so that a missing PyNaCl or libsodium is a red build, not a quiet
pass on the pure backend alone.
"""

from __future__ import annotations

import os
from typing import List

import pytest

import zmtp.crypto as crypto


def required_backends() -> List[str]:
    raw = os.environ.get("ZMTP_REQUIRE_BACKENDS", "").strip().lower()
    if raw == "all":
        return list(crypto.BACKENDS)
    return [name.strip() for name in raw.split(",") if name.strip()]


def load_backend(name: str) -> crypto.CryptoBackend:
    """The backend, or a skip (reason shown) / a failure (when required) if it does not load."""
    reason = crypto.unavailable_reason(name)
    if reason is not None:
        if name in required_backends():
            pytest.fail(f"crypto backend {name!r} is required (ZMTP_REQUIRE_BACKENDS) but unavailable: {reason}")
        pytest.skip(f"crypto backend {name!r} unavailable here: {reason}")
    return crypto.get_backend(name)


ALL_BACKENDS = list(crypto.BACKENDS)
#: The backends that expose raw Salsa20 / HSalsa20 / Poly1305 (PyNaCl does not).
PRIMITIVE_BACKENDS = ["libsodium", "pure"]
