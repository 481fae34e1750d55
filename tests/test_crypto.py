"""zmtp.crypto: every backend against the published vectors, the others, and round trips.

Sources of the vectors (each test names its own):
* RFC 7748 section 5.2 (X25519 vectors, the 1- and 1000-iteration ladder test) and section 6.1 (the
  Alice/Bob Diffie-Hellman example);
* RFC 8439 section 2.5.2 and appendix A.3 (Poly1305);
* libsodium's test/default/{scalarmult,core1,box,box2,secretbox,stream,onetimeauth}.c with their .exp
  files (jedisct1/libsodium), which are NaCl's original tests: the chain alicesk/bobpk -> shared secret
  -> HSalsa20 "firstkey" -> the 163-byte box, and the small-order public key libsodium must refuse.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from crypto_helpers import ALL_BACKENDS, PRIMITIVE_BACKENDS, load_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zmtp.crypto as crypto
from zmtp.crypto import CryptoBackend, CryptoBackendUnavailable, CryptoError

H = bytes.fromhex

# -- the NaCl / libsodium test values ------------------------------------------------------------------
ALICE_SK = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PK = H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB_SK = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PK = H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
SHARED = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
#: HSalsa20(shared, 0): libsodium test/default/core1.c, and the key of secretbox.c / stream.c.
FIRSTKEY = H("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
NONCE = H("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
#: libsodium test/default/box.c and box2.c: the message after its 32 zero bytes.
MESSAGE = H(
    "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c6129"
    "6cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde"
    "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705"
)
#: libsodium test/default/box.exp (= secretbox.exp): bytes 16..163 of the box, i.e. tag || ciphertext.
BOX = H(
    "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186a"
    "c0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae"
    "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74"
    "e355a5"
)
#: libsodium test/default/box.c: a public key of small order, which crypto_box must refuse (-1).
SMALL_ORDER = H("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> CryptoBackend:
    return load_backend(request.param)


@pytest.fixture(params=PRIMITIVE_BACKENDS)
def prim(request: pytest.FixtureRequest) -> CryptoBackend:
    return load_backend(request.param)


# -- X25519: RFC 7748 ----------------------------------------------------------------------------------
RFC7748_VECTORS = [
    # section 5.2, first and second vector (the second's u has its top bit set: it must be masked)
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
]


@pytest.mark.parametrize("scalar, u, expected", RFC7748_VECTORS)
def test_x25519_rfc7748_vectors(backend: CryptoBackend, scalar: str, u: str, expected: str) -> None:
    assert backend.crypto_scalarmult(H(scalar), H(u)).hex() == expected


def test_x25519_masks_the_top_bit_of_u(backend: CryptoBackend) -> None:
    """RFC 7748 section 5: the u-coordinate's most significant bit is ignored."""
    scalar, u, expected = RFC7748_VECTORS[1]
    masked = bytearray(H(u))
    masked[31] &= 0x7F
    assert backend.crypto_scalarmult(H(scalar), bytes(masked)).hex() == expected


def test_x25519_clamps_the_scalar(backend: CryptoBackend) -> None:
    """RFC 7748 section 5 decodeScalar25519: bits 0-2 and 255 cleared, bit 254 set, whatever came in."""
    k = bytearray(ALICE_SK)
    k[0] ^= 0x07
    k[31] ^= 0x80
    k[31] &= 0xBF  # clear bit 254: clamping sets it again
    assert backend.crypto_scalarmult_base(bytes(k)) == ALICE_PK


def test_x25519_rfc7748_iterated(backend: CryptoBackend) -> None:
    """RFC 7748 section 5.2: k = u = 9; k, u = X25519(k, u), k; after 1 and after 1000 iterations.

    (The 1,000,000-iteration vector is left out: about 15 minutes in pure Python.)"""
    k = u = (9).to_bytes(32, "little")
    for i in range(1000):
        k, u = backend.crypto_scalarmult(k, u), k
        if i == 0:
            assert k.hex() == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"
    assert k.hex() == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"


def test_x25519_rfc7748_diffie_hellman(backend: CryptoBackend) -> None:
    """RFC 7748 section 6.1 (= libsodium test/default/scalarmult*.c): keys and the shared secret."""
    assert backend.crypto_scalarmult_base(ALICE_SK) == ALICE_PK
    assert backend.crypto_scalarmult_base(BOB_SK) == BOB_PK
    assert backend.crypto_scalarmult(ALICE_SK, BOB_PK) == SHARED
    assert backend.crypto_scalarmult(BOB_SK, ALICE_PK) == SHARED


def test_small_order_public_keys_are_refused(backend: CryptoBackend) -> None:
    """libsodium test/default/box.c / box2.c: crypto_box, crypto_box_open and beforenm fail on it."""
    with pytest.raises(CryptoError):
        backend.crypto_scalarmult(ALICE_SK, SMALL_ORDER)
    with pytest.raises(CryptoError):
        backend.crypto_box_beforenm(SMALL_ORDER, ALICE_SK)
    with pytest.raises(CryptoError):
        backend.crypto_box(bytes(32) + MESSAGE, NONCE, SMALL_ORDER, ALICE_SK)
    with pytest.raises(CryptoError):
        backend.crypto_box_open(bytes(16) + BOX, NONCE, SMALL_ORDER, BOB_SK)
    # the identity (u = 0) and u = 1 have small order too
    for u in (bytes(32), (1).to_bytes(32, "little")):
        with pytest.raises(CryptoError):
            backend.crypto_box_beforenm(u, ALICE_SK)


# -- Salsa20 family and Poly1305 (pure and libsodium expose them) ------------------------------------
def test_hsalsa20_core1(prim: CryptoBackend) -> None:
    """libsodium test/default/core1.c: HSalsa20(key=shared, in=0) is the box key "firstkey"."""
    assert prim.crypto_core_hsalsa20(bytes(16), SHARED) == FIRSTKEY


def test_salsa20_core_against_libsodium_core(prim: CryptoBackend) -> None:
    """crypto_core_salsa20 is the stream's first block (Salsa20 spec section 9: counter 0)."""
    key, nonce = bytes(range(32)), bytes(range(100, 108))
    block = prim.crypto_core_salsa20(nonce + bytes(8), key)
    subkey = prim.crypto_core_hsalsa20(NONCE[:16], key)
    assert len(block) == 64
    stream = prim.crypto_stream_xsalsa20(64, NONCE, key)
    # XSalsa20 is Salsa20 under the HSalsa20 subkey with the last 8 nonce bytes
    assert stream == prim.crypto_core_salsa20(NONCE[16:] + bytes(8), subkey)


def test_xsalsa20_stream_4mib_hash(prim: CryptoBackend) -> None:
    """libsodium test/default/stream.c (NaCl's tests/stream.c): SHA-256 of 4 MiB of keystream."""
    out = prim.crypto_stream_xsalsa20(4194304, NONCE, FIRSTKEY)
    assert hashlib.sha256(out).hexdigest() == "662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2"


def test_xsalsa20_prefix_is_the_poly1305_key(prim: CryptoBackend) -> None:
    """libsodium test/default/stream.exp / onetimeauth.c: the first 32 keystream bytes are "rs"."""
    rs = H("eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880")
    assert prim.crypto_stream_xsalsa20(32, NONCE, FIRSTKEY) == rs
    # and the box's ciphertext is the message XOR the keystream from byte 32 on
    stream = prim.crypto_stream_xsalsa20(32 + len(MESSAGE), NONCE, FIRSTKEY)
    assert prim.crypto_stream_xsalsa20_xor(bytes(32) + MESSAGE, NONCE, FIRSTKEY)[32:] == BOX[16:]
    assert bytes(a ^ b for a, b in zip(stream[32:], MESSAGE)) == BOX[16:]


def test_poly1305_onetimeauth_c(prim: CryptoBackend) -> None:
    """libsodium test/default/onetimeauth.c: the tag of the box's ciphertext under rs."""
    rs = H("eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880")
    assert prim.crypto_onetimeauth_poly1305(BOX[16:], rs) == BOX[:16]


IETF_TEXT = (
    b"Any submission to the IETF intended by the Contributor for publication as all or part of an IETF "
    b"Internet-Draft or RFC and any statement made within the context of an IETF activity is considered "
    b'an "IETF Contribution". Such statements include oral statements in IETF sessions, as well as '
    b"written and electronic communications made at any time or place, which are addressed to"
)
JABBERWOCKY = (
    b"'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the "
    b"borogoves,\nAnd the mome raths outgrabe."
)
POLY1305_VECTORS = [
    # RFC 8439 section 2.5.2
    (
        "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
        b"Cryptographic Forum Research Group",
        "a8061dc1305136c6c22b8baf0c0127a9",
    ),
    # RFC 8439 appendix A.3, test vectors #1 to #11
    ("00" * 32, bytes(64), "00" * 16),
    ("00" * 16 + "36e5f6b5c5e06070f0efca96227a863e", IETF_TEXT, "36e5f6b5c5e06070f0efca96227a863e"),
    ("36e5f6b5c5e06070f0efca96227a863e" + "00" * 16, IETF_TEXT, "f3477e7cd95417af89a6b8794c310cf0"),
    (
        "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
        JABBERWOCKY,
        "4541669a7eaaee61e708dc7cbcc5eb62",
    ),
    ("02" + "00" * 31, H("ff" * 16), "03" + "00" * 15),
    ("02" + "00" * 15 + "ff" * 16, H("02" + "00" * 15), "03" + "00" * 15),
    ("01" + "00" * 31, H("ff" * 16 + "f0" + "ff" * 15 + "11" + "00" * 15), "05" + "00" * 15),
    ("01" + "00" * 31, H("ff" * 16 + "fb" + "fe" * 15 + "01" * 16), "00" * 16),
    ("02" + "00" * 31, H("fd" + "ff" * 15), "fa" + "ff" * 15),
    (
        "0100000000000000040000000000000000000000000000000000000000000000",
        H(
            "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000"
            "000000000000000001000000000000000000000000000000"
        ),
        "14000000000000005500000000000000",
    ),
    (
        "0100000000000000040000000000000000000000000000000000000000000000",
        H("e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000"),
        "13000000000000000000000000000000",
    ),
]


@pytest.mark.parametrize("key, message, tag", POLY1305_VECTORS)
def test_poly1305_rfc8439(prim: CryptoBackend, key: str, message: bytes, tag: str) -> None:
    assert prim.crypto_onetimeauth_poly1305(message, H(key)).hex() == tag


def test_poly1305_long_message_crosses_the_eight_block_steps(prim: CryptoBackend) -> None:
    """The pure code takes 128 bytes per step; every length around the steps agrees with libsodium."""
    ref = load_backend("libsodium")
    key = hashlib.sha256(b"poly").digest()
    data = hashlib.sha512(b"m").digest() * 20
    for n in list(range(0, 300)) + [1023, 1024, 1025]:
        assert prim.crypto_onetimeauth_poly1305(data[:n], key) == ref.crypto_onetimeauth_poly1305(data[:n], key)


# -- the NaCl constructions ----------------------------------------------------------------------------
def test_box_beforenm_is_firstkey(backend: CryptoBackend) -> None:
    """NaCl: crypto_box_beforenm(bobpk, alicesk) = HSalsa20(X25519(alicesk, bobpk), 0)."""
    assert backend.crypto_box_beforenm(BOB_PK, ALICE_SK) == FIRSTKEY
    assert backend.crypto_box_beforenm(ALICE_PK, BOB_SK) == FIRSTKEY


def test_box_c(backend: CryptoBackend) -> None:
    """libsodium test/default/box.c: crypto_box and crypto_box_afternm, padded shape."""
    c = backend.crypto_box(bytes(32) + MESSAGE, NONCE, BOB_PK, ALICE_SK)
    assert c == bytes(16) + BOX
    assert backend.crypto_box_afternm(bytes(32) + MESSAGE, NONCE, FIRSTKEY) == bytes(16) + BOX


def test_box2_c(backend: CryptoBackend) -> None:
    """libsodium test/default/box2.c: crypto_box_open and crypto_box_open_afternm."""
    assert backend.crypto_box_open(bytes(16) + BOX, NONCE, ALICE_PK, BOB_SK) == bytes(32) + MESSAGE
    assert backend.crypto_box_open_afternm(bytes(16) + BOX, NONCE, FIRSTKEY) == bytes(32) + MESSAGE


def test_secretbox_c(backend: CryptoBackend) -> None:
    """libsodium test/default/secretbox.c: the same bytes under firstkey."""
    assert backend.crypto_secretbox(bytes(32) + MESSAGE, NONCE, FIRSTKEY) == bytes(16) + BOX
    assert backend.crypto_secretbox_open(bytes(16) + BOX, NONCE, FIRSTKEY) == bytes(32) + MESSAGE


def test_easy_shape(backend: CryptoBackend) -> None:
    """The easy shape is the padded one without its zero bytes: tag || ciphertext."""
    assert backend.crypto_box_easy(MESSAGE, NONCE, BOB_PK, ALICE_SK) == BOX
    assert backend.crypto_box_open_easy(BOX, NONCE, ALICE_PK, BOB_SK) == MESSAGE
    assert backend.crypto_box_easy_afternm(MESSAGE, NONCE, FIRSTKEY) == BOX
    assert backend.crypto_box_open_easy_afternm(BOX, NONCE, FIRSTKEY) == MESSAGE
    assert backend.crypto_secretbox_easy(MESSAGE, NONCE, FIRSTKEY) == BOX
    assert backend.crypto_secretbox_open_easy(BOX, NONCE, FIRSTKEY) == MESSAGE
    # bytearray and memoryview are accepted like bytes
    assert backend.crypto_box_open_easy_afternm(memoryview(bytearray(BOX)), bytearray(NONCE), FIRSTKEY) == MESSAGE


def test_padded_shape_ignores_the_padding_like_nacl(backend: CryptoBackend) -> None:
    """NaCl never reads the first 32 plaintext bytes nor the first 16 ciphertext bytes."""
    assert backend.crypto_box_afternm(b"\xff" * 32 + MESSAGE, NONCE, FIRSTKEY) == bytes(16) + BOX
    assert backend.crypto_box_open_afternm(b"\xee" * 16 + BOX, NONCE, FIRSTKEY) == bytes(32) + MESSAGE


def test_empty_message(backend: CryptoBackend) -> None:
    box = backend.crypto_box_easy_afternm(b"", NONCE, FIRSTKEY)
    assert len(box) == 16
    assert backend.crypto_box_open_easy_afternm(box, NONCE, FIRSTKEY) == b""
    assert backend.crypto_box_afternm(bytes(32), NONCE, FIRSTKEY) == bytes(16) + box


def test_every_tampered_byte_is_refused(backend: CryptoBackend) -> None:
    for i in range(len(BOX)):
        bad = bytearray(BOX)
        bad[i] ^= 0x01
        with pytest.raises(CryptoError):
            backend.crypto_box_open_easy_afternm(bytes(bad), NONCE, FIRSTKEY)
    with pytest.raises(CryptoError):
        backend.crypto_box_open_easy_afternm(BOX, NONCE[:-1] + b"\x00", FIRSTKEY)
    with pytest.raises(CryptoError):
        backend.crypto_box_open_easy_afternm(BOX[:-1], NONCE, FIRSTKEY)
    with pytest.raises(CryptoError):
        backend.crypto_box_open_easy_afternm(BOX[:15], NONCE, FIRSTKEY)
    with pytest.raises(CryptoError):
        backend.crypto_box_open_afternm(bytes(31), NONCE, FIRSTKEY)


def test_wrong_sizes_are_value_errors(backend: CryptoBackend) -> None:
    with pytest.raises(ValueError):
        backend.crypto_scalarmult(ALICE_SK[:31], BOB_PK)
    with pytest.raises(ValueError):
        backend.crypto_scalarmult(ALICE_SK, BOB_PK + b"\x00")
    with pytest.raises(ValueError):
        backend.crypto_scalarmult_base(b"")
    with pytest.raises(ValueError):
        backend.crypto_box_beforenm(BOB_PK[:16], ALICE_SK)
    with pytest.raises(ValueError):
        backend.crypto_box_easy_afternm(MESSAGE, NONCE[:23], FIRSTKEY)
    with pytest.raises(ValueError):
        backend.crypto_box_easy_afternm(MESSAGE, NONCE, FIRSTKEY[:31])
    with pytest.raises(ValueError):
        backend.crypto_box_open_easy_afternm(BOX, NONCE, FIRSTKEY + b"\x00")
    with pytest.raises(ValueError):
        backend.crypto_box_afternm(bytes(31), NONCE, FIRSTKEY)
    with pytest.raises(ValueError):
        backend.crypto_box_seed_keypair(bytes(31))
    with pytest.raises(ValueError):
        backend.crypto_box_keypair(bytes(33))


def test_keypairs(backend: CryptoBackend) -> None:
    """crypto_box_keypair keeps the caller's random bytes as the secret (libsodium draws them itself);
    crypto_box_seed_keypair hashes the seed with SHA-512 (libsodium
    crypto_box_curve25519xsalsa20poly1305_seed_keypair)."""
    assert backend.crypto_box_keypair(ALICE_SK) == (ALICE_PK, ALICE_SK)
    pk, sk = backend.crypto_box_seed_keypair(ALICE_SK)
    assert sk == hashlib.sha512(ALICE_SK).digest()[:32]
    assert pk == backend.crypto_scalarmult_base(sk)


def test_backend_reports_its_name(backend: CryptoBackend) -> None:
    assert backend.name in crypto.BACKENDS
    assert backend.name in repr(backend)


# -- cross-checks and round trips (Hypothesis) ---------------------------------------------------------
#: Lengths around the pure backend's seams: the first block (32 + n <= 64), the diagonal/word-sliced
#: switch (16 blocks), and the 1024-block chunks.
SEAM_LENGTHS = [0, 1, 15, 16, 31, 32, 33, 63, 64, 65, 990, 991, 992, 993, 1024, 65504, 65505, 65536, 131072]


def _other_backends() -> list:
    return [crypto.get_backend(n) for n in crypto.available_backends()]


@pytest.mark.parametrize("length", SEAM_LENGTHS)
def test_backends_agree_at_the_seams(backend: CryptoBackend, length: int) -> None:
    key = hashlib.sha256(b"k%d" % length).digest()
    data = (hashlib.sha512(b"d").digest() * (length // 64 + 1))[:length]
    box = backend.crypto_secretbox_easy(data, NONCE, key)
    for other in _other_backends():
        assert other.crypto_secretbox_easy(data, NONCE, key) == box, other.name
        assert other.crypto_secretbox_open_easy(box, NONCE, key) == data, other.name
    assert backend.crypto_secretbox_open_easy(box, NONCE, key) == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=st.binary(max_size=700),
    nonce=st.binary(min_size=24, max_size=24),
    sk1=st.binary(min_size=32, max_size=32),
    sk2=st.binary(min_size=32, max_size=32),
)
def test_box_round_trip_and_cross_check(
    backend: CryptoBackend, message: bytes, nonce: bytes, sk1: bytes, sk2: bytes
) -> None:
    pk1, _ = backend.crypto_box_keypair(sk1)
    pk2, _ = backend.crypto_box_keypair(sk2)
    box = backend.crypto_box_easy(message, nonce, pk2, sk1)
    assert len(box) == len(message) + 16
    assert backend.crypto_box_open_easy(box, nonce, pk1, sk2) == message
    for other in _other_backends():
        assert other.crypto_scalarmult_base(sk1) == pk1
        assert other.crypto_box_beforenm(pk2, sk1) == backend.crypto_box_beforenm(pk1, sk2)
        assert other.crypto_box_open_easy(box, nonce, pk1, sk2) == message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(min_size=1, max_size=300), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(backend: CryptoBackend, message: bytes, position: int, bit: int) -> None:
    box = bytearray(backend.crypto_secretbox_easy(message, NONCE, FIRSTKEY))
    box[position % len(box)] ^= 1 << bit
    with pytest.raises(CryptoError):
        backend.crypto_secretbox_open_easy(bytes(box), NONCE, FIRSTKEY)


# -- selection -------------------------------------------------------------------------------------------
def test_module_functions_use_the_current_backend() -> None:
    previous = crypto.backend_name()
    try:
        for name in crypto.available_backends():
            assert crypto.use_backend(name).name == name
            assert crypto.backend_name() == name
            assert crypto.backend() is crypto.get_backend(name)
            assert crypto.crypto_box_easy(MESSAGE, NONCE, BOB_PK, ALICE_SK) == BOX
            assert crypto.crypto_box(bytes(32) + MESSAGE, NONCE, BOB_PK, ALICE_SK) == bytes(16) + BOX
            assert crypto.crypto_box_open(bytes(16) + BOX, NONCE, ALICE_PK, BOB_SK) == bytes(32) + MESSAGE
            assert crypto.crypto_scalarmult(ALICE_SK, BOB_PK) == SHARED
            assert crypto.crypto_scalarmult_base(ALICE_SK) == ALICE_PK
            assert crypto.crypto_box_beforenm(BOB_PK, ALICE_SK) == FIRSTKEY
            assert crypto.crypto_secretbox_open_easy(BOX, NONCE, FIRSTKEY) == MESSAGE
            assert crypto.crypto_box_keypair(ALICE_SK) == (ALICE_PK, ALICE_SK)
        assert crypto.use_backend("auto").name == crypto.available_backends()[0]
    finally:
        crypto.use_backend(previous)


def test_unknown_backend_name() -> None:
    with pytest.raises(ValueError, match="unknown crypto backend"):
        crypto.use_backend("openssl")
    with pytest.raises(ValueError):
        crypto.get_backend("")


def test_a_library_that_does_not_load_is_reported_not_hidden() -> None:
    from zmtp.crypto._libsodium import LibsodiumBackend

    with pytest.raises(CryptoBackendUnavailable, match="could not be loaded"):
        LibsodiumBackend(path="/nonexistent/libsodium.so")


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ)
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)


def test_environment_variable_forces_the_backend() -> None:
    for name in crypto.available_backends():
        out = _run("import zmtp.crypto as c; print(c.backend_name())", ZMTP_CRYPTO_BACKEND=name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == name
    out = _run("import zmtp.crypto as c; print(c.backend_name())", ZMTP_CRYPTO_BACKEND="auto")
    assert out.stdout.strip() == crypto.available_backends()[0]
    out = _run("import zmtp.crypto", ZMTP_CRYPTO_BACKEND="nonsense")
    assert out.returncode != 0 and "unknown crypto backend" in out.stderr


def test_a_forced_backend_that_is_missing_fails_loudly() -> None:
    """With PyNaCl made unimportable, forcing it is an import-time error naming the cause."""
    code = "import sys; sys.modules['nacl'] = None; import zmtp.crypto"
    out = _run(code, ZMTP_CRYPTO_BACKEND="pynacl")
    assert out.returncode != 0
    assert "CryptoBackendUnavailable" in out.stderr and "PyNaCl is not installed" in out.stderr
    # ... while "auto" falls back to the next one
    out = _run("import sys; sys.modules['nacl'] = None; import zmtp.crypto as c; print(c.backend_name())")
    assert out.returncode == 0 and out.stdout.strip() in ("libsodium", "pure")


def test_crypto_never_draws_randomness() -> None:
    """Key generation takes the caller's bytes: no module of zmtp.crypto imports a random source."""
    forbidden = {"random", "secrets"}
    for path in Path(crypto.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & forbidden, path
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in forbidden, path
            elif isinstance(node, ast.Attribute):
                assert node.attr not in ("urandom", "getrandom", "randombytes"), path


@pytest.mark.timeout(120)
def test_a_required_backend_that_is_missing_fails_the_run() -> None:
    """CI sets ZMTP_REQUIRE_BACKENDS: a backend it names that does not load is a failure, not a skip."""
    here = Path(__file__).parent
    code = (
        "import sys; sys.modules['nacl'] = None; import pytest; "
        f"sys.exit(pytest.main([{str(here / 'test_crypto.py')!r} + '::test_box_c', '-q', '-p', 'no:cacheprovider', "
        "'-rs']))"
    )
    required = _run(code, ZMTP_REQUIRE_BACKENDS="pynacl,pure")
    assert required.returncode != 0
    assert "is required (ZMTP_REQUIRE_BACKENDS) but unavailable" in required.stdout
    optional = _run(code, ZMTP_REQUIRE_BACKENDS="")
    assert optional.returncode == 0, optional.stdout
    assert "SKIPPED" in optional.stdout and "PyNaCl is not installed" in optional.stdout


def test_pure_salsa20_layouts_agree_across_the_32_bit_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diagonal (few blocks) and word-sliced (many blocks) layouts of the pure backend give the same
    keystream, including where the 64-bit block counter carries into its high word."""
    from zmtp.crypto import _pure

    key, nonce = hashlib.sha256(b"k").digest(), b"01234567"
    for start in (0, (1 << 32) - 5):
        for nblocks in (1, 2, 7, 16, 17, 40):
            diagonal = _pure.salsa20_keystream(key, nonce, start, nblocks)
            monkeypatch.setattr(_pure, "DIAGONAL_MAX_BLOCKS", 0)
            sliced = _pure.salsa20_keystream(key, nonce, start, nblocks)
            monkeypatch.setattr(_pure, "CHUNK_BLOCKS", 3)
            chunked = _pure.salsa20_keystream(key, nonce, start, nblocks)
            monkeypatch.undo()
            assert diagonal == sliced == chunked, (start, nblocks)
    # and block n of the stream is crypto_core_salsa20 of (nonce, n)
    block5 = _pure.salsa20_core(nonce + (5).to_bytes(8, "little"), key)
    assert _pure.salsa20_keystream(key, nonce, 0, 6)[320:] == block5
