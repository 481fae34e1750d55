"""Pure-Python X25519 (RFC 7748), Salsa20 / HSalsa20 / XSalsa20, Poly1305 (RFC 8439) and NaCl's boxes.

This is the backend of last resort: zmtp has no runtime dependencies, so CURVE must work with nothing but
the standard library.  It computes exactly what NaCl and libsodium compute (the tests check it against
their published vectors and, where installed, against libsodium itself), and it is written for speed
within what CPython allows:

* Salsa20 runs many 64-byte blocks at once, "SIMD within a register": word *j* of every block lives in
  one big Python int, one 64-bit lane per block (the 32-bit value plus room for the carries and the
  rotation's spill), so each of the 20 rounds' additions, rotations and XORs is one C-level big-int
  operation for the whole chunk instead of one interpreted operation per block.  The keystream is
  then interleaved back into block order with strided ``array`` assignments, and messages are XORed as
  whole integers (``int.from_bytes`` on the whole buffer), never byte by byte.
* Poly1305 is Horner's rule on Python ints, one multiplication and one reduction per 16-byte block.
* X25519 is the Montgomery ladder of RFC 7748 section 5 over Python ints.

Constant time: the ladder has a constant structure (the same operations for every scalar bit, with an
arithmetic conditional swap and no branch on secret data) and MACs are compared with
:func:`hmac.compare_digest`, but CPython's big integers themselves take time that depends on their
values, so this backend does not claim resistance to local timing attacks; use the libsodium or PyNaCl
backend where that matters (``zmtp.crypto.use_backend``).

Randomness is never drawn here: key generation takes its random bytes from the caller.
"""

from __future__ import annotations

import hmac
import struct
import sys
from array import array
from functools import lru_cache
from typing import List, Optional, Tuple

from ._base import Buffer, CryptoBackend, _as_bytes, _check

# -- X25519 (RFC 7748 section 5) ---------------------------------------------------------------------

_P = (1 << 255) - 19
_A24 = 121665  # (486662 - 2) / 4, RFC 7748 section 5
_U_MASK = (1 << 255) - 1
_BASE_POINT = (9).to_bytes(32, "little")


def x25519(scalar: bytes, u: bytes) -> bytes:
    """X25519(k, u) of RFC 7748 section 5: clamp ``scalar``, run the ladder, encode the result.

    The u-coordinate's top bit is masked and non-canonical values are accepted, as section 5 requires.
    No all-zero check here: the NaCl-shaped callers decide what an all-zero result means.
    """
    k = int.from_bytes(scalar, "little")
    # Clamping (section 5): clear the 3 low bits (a multiple of the cofactor 8), clear bit 255, set 254.
    k = (k & ~7 & ((1 << 255) - 1)) | (1 << 254)
    x1 = (int.from_bytes(u, "little") & _U_MASK) % _P
    p = _P
    a24 = _A24
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        swap ^= bit
        # Conditional swap by arithmetic (no branch on the secret bit): mask is 0 or -1.
        mask = -swap
        d = mask & (x2 ^ x3)
        x2 ^= d
        x3 ^= d
        d = mask & (z2 ^ z3)
        z2 ^= d
        z3 ^= d
        swap = bit
        a = x2 + z2
        aa = a * a % p
        b = x2 - z2
        bb = b * b % p
        e = aa - bb
        c = x3 + z3
        dd = x3 - z3
        da = dd * a % p
        cb = c * b % p
        s = da + cb
        x3 = s * s % p
        s = da - cb
        z3 = x1 * (s * s % p) % p
        x2 = aa * bb % p
        z2 = e * (aa + a24 * e) % p
    mask = -swap
    d = mask & (x2 ^ x3)
    x2 ^= d
    d = mask & (z2 ^ z3)
    z2 ^= d
    # z2^(p-2) is the inverse (Fermat); z2 = 0 gives 0, as the RFC's formula does.
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")


def x25519_base(scalar: bytes) -> bytes:
    """X25519(k, 9): the public key of secret ``scalar`` (RFC 7748 section 6.1)."""
    return x25519(scalar, _BASE_POINT)


# -- Salsa20 core (Bernstein, "Salsa20 specification"; NaCl crypto_core_salsa20 / hsalsa20) -----------
#
# Two SIMD-within-a-register layouts, both with one 32-bit word per 64-bit lane of a Python int (the
# upper half takes an addition's carry and a rotation's spill, and is masked off):
#
# * "diagonal" (few blocks): the state is four vectors of four lanes, a = (x0, x5, x10, x15),
#   b = (x4, x9, x14, x3), c = (x8, x13, x2, x7), d = (x12, x1, x6, x11), as SSE implementations hold
#   it, so a column round is four vector steps and a row round four more after rotating lanes.  One
#   block costs ~80 big-int operations per double round instead of ~220; n blocks sit side by side in
#   groups of four lanes.
# * "word-sliced" (many blocks): word j of n blocks is one int of n lanes; a double round is ~220
#   operations whatever n is, so the interpreter's cost per operation is shared by all n blocks.
#
# Measured on CPython 3.11 (benchmarks/crypto.py): diagonal wins up to ~16 blocks, word-sliced beyond.

#: "expand 32-byte k" as four little-endian words: the diagonal constants sigma_0..3.
SIGMA = b"expand 32-byte k"
_S0, _S1, _S2, _S3 = struct.unpack("<4I", SIGMA)
_M32 = 0xFFFFFFFF

#: Up to this many blocks the diagonal layout is faster; beyond it, word-sliced.
DIAGONAL_MAX_BLOCKS = 16
#: Blocks computed together in the word-sliced layout: large enough to share the interpreter's cost,
#: small enough that the lane integers (8 bytes x CHUNK) stay in the CPU caches.
CHUNK_BLOCKS = 1024

_Masks = Tuple[int, int, int, int, int, int, int, int]


@lru_cache(maxsize=32)
def _diagonal_masks(n: int) -> _Masks:
    """Masks for ``n`` groups of four 64-bit lanes: word mask, the lane selections the rotations
    need, and ``ones`` (1 in lane 0 of each group, to replicate a 4-lane vector n times)."""

    def pattern(lanes: str) -> int:
        lane = b"\xff" * 8
        return int.from_bytes(b"".join(lane if c == "1" else bytes(8) for c in lanes) * n, "little")

    m = _M32 * int.from_bytes((b"\x01" + bytes(7)) * (4 * n), "little")
    ones = int.from_bytes((b"\x01" + bytes(31)) * n, "little")
    return m, pattern("1110"), pattern("0001"), pattern("1100"), pattern("0011"), pattern("1000"), pattern("0111"), ones


def _diagonal_rounds(a: int, b: int, c: int, d: int, masks: _Masks) -> Tuple[int, int, int, int]:
    """Salsa20/20's ten double rounds on the diagonal layout (see above)."""
    m, g012, g3, g01, g23, g0, g123, _ = masks
    for _ in range(10):
        # column round: quarter-rounds on (x0,x4,x8,x12) (x5,x9,x13,x1) (x10,x14,x2,x6) (x15,x3,x7,x11)
        t = ((a + d) & m) << 7
        b ^= (t | (t >> 32)) & m
        t = ((b + a) & m) << 9
        c ^= (t | (t >> 32)) & m
        t = ((c + b) & m) << 13
        d ^= (t | (t >> 32)) & m
        t = ((d + c) & m) << 18
        a ^= (t | (t >> 32)) & m
        # row round: the same steps once b, c, d are rotated by 3, 2, 1 lanes within each group
        e = ((d >> 64) & g012) | ((d << 192) & g3)
        c = ((c >> 128) & g01) | ((c << 128) & g23)
        f = ((b >> 192) & g0) | ((b << 64) & g123)
        t = ((a + f) & m) << 7
        e ^= (t | (t >> 32)) & m
        t = ((e + a) & m) << 9
        c ^= (t | (t >> 32)) & m
        t = ((c + e) & m) << 13
        f ^= (t | (t >> 32)) & m
        t = ((f + c) & m) << 18
        a ^= (t | (t >> 32)) & m
        b = ((f >> 64) & g012) | ((f << 192) & g3)
        c = ((c >> 128) & g01) | ((c << 128) & g23)
        d = ((e >> 192) & g0) | ((e << 64) & g123)
    return a, b, c, d


def _vec(w0: int, w1: int, w2: int, w3: int) -> int:
    return w0 | (w1 << 64) | (w2 << 128) | (w3 << 192)


def _diagonal_words(a: int, b: int, c: int, d: int) -> Tuple[int, ...]:
    """The 16 words x0..x15 of one block held in the diagonal layout."""
    a0, _, a1, _, a2, _, a3, _ = struct.unpack("<8I", a.to_bytes(32, "little"))
    b0, _, b1, _, b2, _, b3, _ = struct.unpack("<8I", b.to_bytes(32, "little"))
    c0, _, c1, _, c2, _, c3, _ = struct.unpack("<8I", c.to_bytes(32, "little"))
    d0, _, d1, _, d2, _, d3, _ = struct.unpack("<8I", d.to_bytes(32, "little"))
    return (a0, d1, c2, b3, b0, a1, d2, c3, c0, b1, a2, d3, d0, c1, b2, a3)


def _diagonal(x: Tuple[int, ...]) -> Tuple[int, int, int, int]:
    return (
        _vec(x[0], x[5], x[10], x[15]),
        _vec(x[4], x[9], x[14], x[3]),
        _vec(x[8], x[13], x[2], x[7]),
        _vec(x[12], x[1], x[6], x[11]),
    )


def _state(key: bytes, inp: bytes, const: bytes) -> Tuple[int, ...]:
    k = struct.unpack("<8I", key)
    i = struct.unpack("<4I", inp)
    c = struct.unpack("<4I", const)
    return (c[0], k[0], k[1], k[2], k[3], c[1], i[0], i[1], i[2], i[3], c[2], k[4], k[5], k[6], k[7], c[3])


def salsa20_core(inp: bytes, key: bytes, const: bytes = SIGMA) -> bytes:
    """crypto_core_salsa20: the 64-byte Salsa20 hash of a 16-byte input under a 32-byte key."""
    start = _state(key, inp, const)
    out = _diagonal_words(*_diagonal_rounds(*_diagonal(start), _diagonal_masks(1)))
    return struct.pack("<16I", *[(a + b) & _M32 for a, b in zip(out, start)])


def hsalsa20(inp: bytes, key: bytes, const: bytes = SIGMA) -> bytes:
    """crypto_core_hsalsa20: words 0, 5, 10, 15, 6, 7, 8, 9 of the rounds, without the final addition.

    XSalsa20 (Bernstein, "Extending the Salsa20 nonce") derives its subkey this way from the first 16
    nonce bytes, and crypto_box_beforenm derives the box key from the X25519 secret with a zero input.
    """
    a, b, c, d = _diagonal_rounds(*_diagonal(_state(key, inp, const)), _diagonal_masks(1))
    # a holds x0, x5, x10, x15 in its even 32-bit halves; x6 is lane 2 of d, x7 lane 3 of c, x8 lane 0
    # of c, x9 lane 1 of b.
    w = struct.unpack("<8I", a.to_bytes(32, "little"))
    return struct.pack(
        "<8I", w[0], w[2], w[4], w[6], (d >> 128) & _M32, (c >> 192) & _M32, c & _M32, (b >> 64) & _M32
    )


def _rounds(
    x0: int, x1: int, x2: int, x3: int, x4: int, x5: int, x6: int, x7: int,
    x8: int, x9: int, x10: int, x11: int, x12: int, x13: int, x14: int, x15: int, m: int,
) -> Tuple[int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int]:
    """Salsa20/20's ten double rounds on the word-sliced layout: word j of every block in ``xj``.

    ``m`` has 0xFFFFFFFF in every lane.  An addition may carry into bit 32 and is masked before
    rotating; ``rotl(t, k)`` is ``(t << k | (t << k) >> 32) & m``, the mask also removing what spills
    into the neighbouring lane's upper half.
    """
    for _ in range(10):
        t = ((x0 + x12) & m) << 7
        x4 ^= (t | (t >> 32)) & m
        t = ((x4 + x0) & m) << 9
        x8 ^= (t | (t >> 32)) & m
        t = ((x8 + x4) & m) << 13
        x12 ^= (t | (t >> 32)) & m
        t = ((x12 + x8) & m) << 18
        x0 ^= (t | (t >> 32)) & m
        t = ((x5 + x1) & m) << 7
        x9 ^= (t | (t >> 32)) & m
        t = ((x9 + x5) & m) << 9
        x13 ^= (t | (t >> 32)) & m
        t = ((x13 + x9) & m) << 13
        x1 ^= (t | (t >> 32)) & m
        t = ((x1 + x13) & m) << 18
        x5 ^= (t | (t >> 32)) & m
        t = ((x10 + x6) & m) << 7
        x14 ^= (t | (t >> 32)) & m
        t = ((x14 + x10) & m) << 9
        x2 ^= (t | (t >> 32)) & m
        t = ((x2 + x14) & m) << 13
        x6 ^= (t | (t >> 32)) & m
        t = ((x6 + x2) & m) << 18
        x10 ^= (t | (t >> 32)) & m
        t = ((x15 + x11) & m) << 7
        x3 ^= (t | (t >> 32)) & m
        t = ((x3 + x15) & m) << 9
        x7 ^= (t | (t >> 32)) & m
        t = ((x7 + x3) & m) << 13
        x11 ^= (t | (t >> 32)) & m
        t = ((x11 + x7) & m) << 18
        x15 ^= (t | (t >> 32)) & m
        t = ((x0 + x3) & m) << 7
        x1 ^= (t | (t >> 32)) & m
        t = ((x1 + x0) & m) << 9
        x2 ^= (t | (t >> 32)) & m
        t = ((x2 + x1) & m) << 13
        x3 ^= (t | (t >> 32)) & m
        t = ((x3 + x2) & m) << 18
        x0 ^= (t | (t >> 32)) & m
        t = ((x5 + x4) & m) << 7
        x6 ^= (t | (t >> 32)) & m
        t = ((x6 + x5) & m) << 9
        x7 ^= (t | (t >> 32)) & m
        t = ((x7 + x6) & m) << 13
        x4 ^= (t | (t >> 32)) & m
        t = ((x4 + x7) & m) << 18
        x5 ^= (t | (t >> 32)) & m
        t = ((x10 + x9) & m) << 7
        x11 ^= (t | (t >> 32)) & m
        t = ((x11 + x10) & m) << 9
        x8 ^= (t | (t >> 32)) & m
        t = ((x8 + x11) & m) << 13
        x9 ^= (t | (t >> 32)) & m
        t = ((x9 + x8) & m) << 18
        x10 ^= (t | (t >> 32)) & m
        t = ((x15 + x14) & m) << 7
        x12 ^= (t | (t >> 32)) & m
        t = ((x12 + x15) & m) << 9
        x13 ^= (t | (t >> 32)) & m
        t = ((x13 + x12) & m) << 13
        x14 ^= (t | (t >> 32)) & m
        t = ((x14 + x13) & m) << 18
        x15 ^= (t | (t >> 32)) & m
    return x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15


@lru_cache(maxsize=32)
def _sliced_constants(n: int) -> Tuple[int, int, int]:
    """(ones, mask, counter offsets) for ``n`` word-sliced lanes: 1 / 0xFFFFFFFF / i in lane i."""
    ones = int.from_bytes((b"\x01" + bytes(7)) * n, "little")
    return ones, _M32 * ones, _lanes(range(n))


@lru_cache(maxsize=32)
def _diagonal_offsets(n: int) -> int:
    """i in lane 0 of group i: the block counters' offsets in the diagonal layout."""
    return _lanes([v for i in range(n) for v in (i, 0, 0, 0)])


def _lanes(values: range | List[int]) -> int:
    """Pack 64-bit ``values`` into one int, value *i* in lane *i*."""
    a = array("Q", values)
    if sys.byteorder == "big":  # pragma: no cover - lanes are little-endian whatever the machine
        a.byteswap()
    return int.from_bytes(a.tobytes(), "little")


def _keystream_diagonal(k: Tuple[int, ...], n0: int, n1: int, counter: int, n: int) -> bytes:
    masks = _diagonal_masks(n)
    m = masks[0]
    ones = masks[7]
    # c = (x8, x13, x2, x7) and b = (x4, x9, x14, x3): the block counter's low word is x8, high word x9.
    ctr = counter * ones + _diagonal_offsets(n)
    a0 = _vec(_S0, _S1, _S2, _S3) * ones
    b0 = _vec(k[3], 0, k[7], k[2]) * ones | ((ctr >> 32) & m) << 64
    c0 = _vec(0, k[6], k[1], n1) * ones | (ctr & m)
    d0 = _vec(k[5], k[0], n0, k[4]) * ones
    a, b, c, d = _diagonal_rounds(a0, b0, c0, d0, masks)
    size = 32 * n
    # Feed-forward, then move each 32-bit word to its place in its block with strided copies.
    va = array("I", ((a + a0) & m).to_bytes(size, "little"))
    vb = array("I", ((b + b0) & m).to_bytes(size, "little"))
    vc = array("I", ((c + c0) & m).to_bytes(size, "little"))
    vd = array("I", ((d + d0) & m).to_bytes(size, "little"))
    out = array("I", bytes(64 * n))
    for vector, words in ((va, (0, 5, 10, 15)), (vb, (4, 9, 14, 3)), (vc, (8, 13, 2, 7)), (vd, (12, 1, 6, 11))):
        for lane, word in enumerate(words):
            out[word::16] = vector[2 * lane :: 8]
    return out.tobytes()


def _keystream_sliced(k: Tuple[int, ...], n0: int, n1: int, counter: int, n: int) -> bytes:
    ones, m, offsets = _sliced_constants(n)
    ctr = counter * ones + offsets
    start = (
        _S0 * ones, k[0] * ones, k[1] * ones, k[2] * ones, k[3] * ones, _S1 * ones, n0 * ones, n1 * ones,
        ctr & m, (ctr >> 32) & m, _S2 * ones, k[4] * ones, k[5] * ones, k[6] * ones, k[7] * ones, _S3 * ones,
    )
    z = [(a + b) & m for a, b in zip(_rounds(*start, m), start)]
    # Word pairs (2j, 2j+1) fill one 64-bit lane, so lane i of pair j is bytes 8j..8j+8 of block i;
    # strided assignment puts the eight pairs in block order.
    blocks = array("Q", bytes(64 * n))
    size = 8 * n
    for j in range(8):
        blocks[j::8] = array("Q", (z[2 * j] | (z[2 * j + 1] << 32)).to_bytes(size, "little"))
    return blocks.tobytes()


def salsa20_keystream(key: bytes, nonce: bytes, counter: int, nblocks: int) -> bytes:
    """``nblocks`` 64-byte blocks of the Salsa20 stream for an 8-byte ``nonce``, from block ``counter``."""
    k = struct.unpack("<8I", key)
    n0, n1 = struct.unpack("<2I", nonce)
    pieces = []
    while nblocks > 0:
        n = min(nblocks, CHUNK_BLOCKS)
        if n <= DIAGONAL_MAX_BLOCKS:
            pieces.append(_keystream_diagonal(k, n0, n1, counter, n))
        else:
            pieces.append(_keystream_sliced(k, n0, n1, counter, n))
        counter += n
        nblocks -= n
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def xsalsa20_stream(length: int, nonce: bytes, key: bytes) -> bytes:
    """crypto_stream_xsalsa20: ``length`` keystream bytes for a 24-byte nonce."""
    subkey = hsalsa20(nonce[:16], key)
    return salsa20_keystream(subkey, nonce[16:24], 0, (length + 63) // 64)[:length]


def _xor(data: bytes | memoryview, stream: bytes | memoryview) -> bytes:
    n = len(data)
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little")).to_bytes(n, "little")


def xsalsa20_xor(message: bytes, nonce: bytes, key: bytes) -> bytes:
    """crypto_stream_xsalsa20_xor: ``message`` XOR the keystream."""
    return _xor(message, xsalsa20_stream(len(message), nonce, key))


# -- Poly1305 (RFC 8439 section 2.5) -----------------------------------------------------------------

_P1305 = (1 << 130) - 5
_CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF  # RFC 8439 section 2.5.1: clamp r
_HI = 1 << 128  # the 0x01 byte appended to every full 16-byte block
_M128 = (1 << 128) - 1


def poly1305(message: Buffer, key: bytes) -> bytes:
    """The 16-byte Poly1305 tag of ``message`` under the one-time 32-byte ``key`` (r || s).

    RFC 8439 section 2.5.1's loop, acc = (acc + block) * r mod 2^130-5, eight blocks per step:
    ((acc + b1) r^8 + b2 r^7 + ... + b8 r) mod p is the same value with one reduction and one
    ``int.from_bytes`` for 128 bytes, which halves the interpreter's work.
    """
    p = _P1305
    r = int.from_bytes(key[:16], "little") & _CLAMP
    s = int.from_bytes(key[16:32], "little")
    frombytes = int.from_bytes
    mv = memoryview(message)
    n = len(mv)
    full = n - (n & 15)
    step = full - full % 128
    acc = 0
    if step:
        r2 = r * r % p
        r3 = r2 * r % p
        r4 = r3 * r % p
        r5 = r4 * r % p
        r6 = r5 * r % p
        r7 = r6 * r % p
        r8 = r7 * r % p
        pad = _HI * (r8 + r7 + r6 + r5 + r4 + r3 + r2 + r)  # the 2^128 of each block, times its power
        m = _M128
        for i in range(0, step, 128):
            w = frombytes(mv[i : i + 128], "little")
            acc = (
                (acc + (w & m)) * r8 + (w >> 128 & m) * r7 + (w >> 256 & m) * r6 + (w >> 384 & m) * r5
                + (w >> 512 & m) * r4 + (w >> 640 & m) * r3 + (w >> 768 & m) * r2 + (w >> 896) * r + pad
            ) % p
    hi = _HI
    for i in range(step, full, 16):
        acc = (acc + frombytes(mv[i : i + 16], "little") + hi) * r % p
    if full < n:
        acc = (acc + frombytes(bytes(mv[full:]) + b"\x01", "little")) * r % p
    return ((acc + s) & _M128).to_bytes(16, "little")


# -- NaCl constructions --------------------------------------------------------------------------------

_ZERO16 = bytes(16)
_ZERO32 = bytes(32)


def box_beforenm(public_key: bytes, secret_key: bytes) -> Optional[bytes]:
    """crypto_box_beforenm: HSalsa20 of the X25519 shared secret with a zero input.

    None if the shared secret is all zero (the public key has small order), where libsodium's
    crypto_box_beforenm returns -1.
    """
    shared = x25519(secret_key, public_key)
    if hmac.compare_digest(shared, _ZERO32):
        return None
    return hsalsa20(_ZERO16, shared)


def secretbox_easy(message: bytes, nonce: bytes, key: bytes) -> bytes:
    """crypto_secretbox_easy (= crypto_box_easy_afternm): 16-byte Poly1305 tag || XSalsa20 ciphertext.

    The first 32 keystream bytes are the Poly1305 key and the message is encrypted from byte 32 on,
    which is what NaCl's padded crypto_secretbox computes with its 32 leading zero bytes.
    """
    subkey = hsalsa20(nonce[:16], key)
    n = len(message)
    stream = salsa20_keystream(subkey, nonce[16:24], 0, (n + 95) // 64)
    cipher = _xor(message, memoryview(stream)[32:]) if n else b""
    return poly1305(cipher, stream[:32]) + cipher


def secretbox_open_easy(box: bytes, nonce: bytes, key: bytes) -> Optional[bytes]:
    """crypto_secretbox_open_easy: the message, or None when the tag does not verify.

    The tag is checked (in constant time) before anything is decrypted.
    """
    subkey = hsalsa20(nonce[:16], key)
    cipher = memoryview(box)[16:]
    n = len(cipher)
    # Block 0 holds the Poly1305 key and the first 32 keystream bytes: verify with it alone, so a forged
    # box costs one Salsa20 block and the MAC, and decrypt (blocks 1...) only once the tag is good.
    first = salsa20_keystream(subkey, nonce[16:24], 0, 1)
    if not hmac.compare_digest(poly1305(cipher, first[:32]), bytes(box[:16])):
        return None
    if n <= 32:
        return _xor(cipher, first[32:])
    rest = salsa20_keystream(subkey, nonce[16:24], 1, (n - 32 + 63) // 64)
    return _xor(cipher, first[32:] + rest)


class PureBackend(CryptoBackend):
    """The standard-library-only backend (this module)."""

    name = "pure"
    has_primitives = True

    def _scalarmult(self, n: bytes, p: bytes) -> Optional[bytes]:
        out = x25519(n, p)
        return None if hmac.compare_digest(out, _ZERO32) else out

    def _scalarmult_base(self, n: bytes) -> bytes:
        return x25519_base(n)

    def _beforenm(self, pk: bytes, sk: bytes) -> Optional[bytes]:
        return box_beforenm(pk, sk)

    def _seal(self, m: bytes, n: bytes, k: bytes) -> bytes:
        return secretbox_easy(m, n, k)

    def _open(self, c: bytes, n: bytes, k: bytes) -> Optional[bytes]:
        return secretbox_open_easy(c, n, k)

    def crypto_core_hsalsa20(self, inp: Buffer, key: Buffer) -> bytes:
        return hsalsa20(_check(inp, 16, "input"), _check(key, 32, "key"))

    def crypto_core_salsa20(self, inp: Buffer, key: Buffer) -> bytes:
        return salsa20_core(_check(inp, 16, "input"), _check(key, 32, "key"))

    def crypto_stream_xsalsa20(self, length: int, nonce: Buffer, key: Buffer) -> bytes:
        if length < 0:
            raise ValueError("length must not be negative")
        return xsalsa20_stream(length, _check(nonce, 24, "nonce"), _check(key, 32, "key"))

    def crypto_stream_xsalsa20_xor(self, message: Buffer, nonce: Buffer, key: Buffer) -> bytes:
        return xsalsa20_xor(_as_bytes(message), _check(nonce, 24, "nonce"), _check(key, 32, "key"))

    def crypto_onetimeauth_poly1305(self, message: Buffer, key: Buffer) -> bytes:
        return poly1305(message, _check(key, 32, "key"))
