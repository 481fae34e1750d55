"""The coverage-guided harness's target (fuzz/harness.py) under Hypothesis: any bytes fed to a Connection
(every socket type, both as-server values, ZMTP 3.0/3.1, size limits, any cut) or to a FrameDecoder
raise only RemoteProtocolError and never buffer past the limits or past what arrived."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fuzz.harness import InvariantBroken, check, check_connection, check_decoder, valid_prefix  # noqa: E402

FUZZ = settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.timeout(120)

frames = st.lists(
    st.one_of(
        st.binary(max_size=40).map(lambda b: bytes((0x01, len(b))) + b),
        st.binary(max_size=40).map(lambda b: bytes((0x00, len(b))) + b),
        st.binary(max_size=30).map(lambda b: bytes((0x04, len(b) + 5)) + b"\x04PING" + b),
        st.integers(0, (1 << 64) - 1).map(lambda n: b"\x02" + n.to_bytes(8, "big")),
        st.binary(max_size=12),
    ),
    max_size=12,
).map(b"".join)


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), frames)
def test_established_connections_take_any_frames(cfg: int, flags: int, cut: int, tail: bytes) -> None:
    check_connection(bytes((cfg, flags | 32, cut)) + tail)


@FUZZ
@given(st.integers(0, 255), st.integers(0, 255), frames)
def test_frame_decoder_bounds(flags: int, cut: int, tail: bytes) -> None:
    check_decoder(bytes((flags, cut)) + tail)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1 << 16, 300_000), st.integers(0, 255), st.integers(0, 255), st.binary(max_size=20))
def test_large_bodies_through_recv_into(size: int, flags: int, cut: int, tail: bytes) -> None:
    """Large frames fed through the decoder's recv_into buffer (flag 128), cut anywhere."""
    body = bytes((size * 7 + i) & 0xFF for i in range(min(size, 64))) * (size // 64 + 1)
    stream = b"\x02" + size.to_bytes(8, "big") + body[:size] + tail
    check_decoder(bytes((flags | 128, cut)) + stream)


@FUZZ
@given(st.integers(0, 10), st.integers(0, 1), st.data())
def test_mutated_handshakes(cfg: int, minor: int, data: st.DataObject) -> None:
    stream = bytearray(valid_prefix(["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB",
                                     "XSUB"][cfg], minor))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(stream) - 1))
        stream[i] = data.draw(st.integers(0, 255))
    check_connection(bytes((cfg, minor, data.draw(st.integers(0, 16)))) + bytes(stream))


def test_the_invariant_can_fail() -> None:
    """The checks are live: a decoder that buffered more than arrived would be caught."""
    import fuzz.harness as h

    real = h.decoder_buffered
    h.decoder_buffered = lambda conn: 1 << 30  # type: ignore[assignment]
    try:
        with pytest.raises(InvariantBroken):
            check_connection(b"\x00\x20\x00" + b"\x00\x01x")
    finally:
        h.decoder_buffered = real
