"""zmtp.utils.z85 and the CURVE key helpers against RFC 32 and pyzmq (libzmq 4.3.5)."""

from __future__ import annotations

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st
from zmq.utils import z85 as pyzmq_z85

from zmtp.error import ZMQError
from zmtp.utils import z85
from zmtp.utils.curve import curve_keypair, curve_public


def test_rfc32_vector() -> None:
    """RFC 32 "Test Case": 86 4F D2 6F B5 59 F7 5B encodes as HelloWorld."""
    raw = bytes.fromhex("864FD26FB559F75B")
    assert z85.encode(raw) == b"HelloWorld"
    assert z85.decode(b"HelloWorld") == raw
    assert z85.decode("HelloWorld") == raw


def test_alphabet_is_rfc32s() -> None:
    assert len(z85.Z85CHARS) == 85 == len(set(z85.Z85CHARS))
    assert z85.Z85CHARS == pyzmq_z85.Z85CHARS
    assert z85.Z85MAP == pyzmq_z85.Z85MAP


def test_extremes() -> None:
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""
    assert z85.encode(b"\x00" * 4) == b"00000"
    assert z85.encode(b"\xff" * 4) == b"%nSc0"
    assert z85.decode(b"%nSc0") == b"\xff" * 4


@settings(max_examples=200)
@given(st.binary(max_size=64).map(lambda b: b[: len(b) - len(b) % 4]))
def test_matches_pyzmq_both_ways(raw: bytes) -> None:
    encoded = z85.encode(raw)
    assert encoded == pyzmq_z85.encode(raw)
    assert z85.decode(encoded) == raw
    assert z85.decode(bytearray(encoded)) == raw
    assert z85.decode(encoded.decode("ascii")) == raw
    assert z85.encode(memoryview(raw)) == encoded


@pytest.mark.parametrize("length", [1, 2, 3, 5, 31, 33])
def test_encode_length_error_is_pyzmqs(length: int) -> None:
    with pytest.raises(ValueError) as ours:
        z85.encode(bytes(length))
    with pytest.raises(ValueError) as theirs:
        pyzmq_z85.encode(bytes(length))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", [b"a", b"abcd", b"abcdef", b"0" * 39, "abc"])
def test_decode_length_error_is_pyzmqs(text: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        z85.decode(text)
    with pytest.raises(ValueError) as theirs:
        pyzmq_z85.decode(text)
    assert str(ours.value) == str(theirs.value)


def test_decode_non_ascii_str_is_pyzmqs() -> None:
    with pytest.raises(ValueError) as ours:
        z85.decode("ééééé")
    with pytest.raises(ValueError) as theirs:
        pyzmq_z85.decode("ééééé")
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", [b"~~~~~", b"\x00\x00\x00\x00\x00", b"Hello Worl", b'0000"'])
def test_bad_character_is_a_key_error_as_in_pyzmq_and_a_value_error(text: bytes) -> None:
    with pytest.raises(KeyError):
        pyzmq_z85.decode(text)
    with pytest.raises(KeyError):
        z85.decode(text)
    with pytest.raises(ValueError, match="invalid Z85 character"):
        z85.decode(text)


def test_group_above_32_bits_is_refused() -> None:
    """RFC 32 limits a group to 2^32 - 1; "#####" is 85^5 - 1."""
    with pytest.raises(z85.Z85DecodeError, match="larger than 32 bits"):
        z85.decode(b"#####")
    assert z85.decode(b"%nSc0") == b"\xff\xff\xff\xff"  # the largest valid group
    with pytest.raises(ValueError):
        z85.decode(b"%nSc1")


# -- curve_keypair / curve_public ---------------------------------------------------------------------
def test_curve_keypair_is_z85_and_consistent_with_libzmq() -> None:
    public, secret = curve_keypair()
    assert isinstance(public, bytes) and isinstance(secret, bytes)
    assert len(public) == len(secret) == 40
    assert len(z85.decode(public)) == len(z85.decode(secret)) == 32
    assert zmq.curve_public(secret) == public
    assert curve_keypair() != (public, secret)


def test_curve_public_matches_libzmq() -> None:
    for _ in range(5):
        public, secret = zmq.curve_keypair()
        assert curve_public(secret) == public
        assert curve_public(secret.decode("ascii")) == public


def test_curve_public_known_answer() -> None:
    """RFC 7748 section 6.1's Alice key pair, in Z85: ours and libzmq's agree with the RFC."""
    alice_secret = z85.encode(bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    alice_public = z85.encode(bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
    assert curve_public(alice_secret) == alice_public == zmq.curve_public(alice_secret)


@pytest.mark.parametrize("bad", [b"", b"0" * 39, b"0" * 41, "é" * 40])
def test_curve_public_bad_length_is_a_value_error_as_in_pyzmq(bad: object) -> None:
    with pytest.raises(ValueError) as ours:
        curve_public(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError) as theirs:
        zmq.curve_public(bad)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("bad", [bytes(40), b"#" * 40, b"~" * 40])
def test_curve_public_bad_z85_is_einval_as_in_pyzmq(bad: bytes) -> None:
    with pytest.raises(ZMQError) as ours:
        curve_public(bad)
    with pytest.raises(zmq.ZMQError) as theirs:
        zmq.curve_public(bad)
    assert ours.value.errno == theirs.value.errno


def test_curve_key_option_forms_match_libzmq() -> None:
    """32 raw bytes, 40 Z85 characters or 41 with a NUL: what libzmq's setsockopt accepts."""
    from zmtp.utils.curve import curve_key

    public, _ = zmq.curve_keypair()
    raw = z85.decode(public)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        for value in (public, public + b"\x00", raw, bytearray(raw), public[:39], b"#" * 40, bytes(40), raw + b"\x00",
                      public + b"\x01"):
            try:
                sock.curve_serverkey = bytes(value)
                libzmq_ok = True
            except zmq.ZMQError as exc:
                assert exc.errno == zmq.EINVAL
                libzmq_ok = False
            if libzmq_ok:
                assert curve_key(value) == raw
            else:
                with pytest.raises(ZMQError) as err:
                    curve_key(value)
                assert err.value.errno == zmq.EINVAL
    finally:
        sock.close(0)
        ctx.term()
