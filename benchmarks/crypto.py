"""``python -m benchmarks.crypto``: zmtp.crypto alone, per backend (what CURVE costs per frame).

Measures, for every backend that loads here: X25519 (``crypto_scalarmult``), ``crypto_box_beforenm``,
sealing (``crypto_box_easy_afternm``) and opening a 16-byte and a 64 KiB frame, and a whole CURVE
handshake between two in-memory mechanisms.  Each figure is the best of ``--repeat`` timed batches
(the least disturbed run), in microseconds per operation, with MB/s for the 64 KiB frames.
``--profile`` shows where the pure backend's time goes for a 64 KiB seal.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Callable, Dict, List

from zmtp import crypto


def best_us(fn: Callable[[], object], batch: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - t0) / batch)
    return best * 1e6


def handshake_us(backend: crypto.CryptoBackend, repeat: int) -> float:
    from zmtp.protocol.commands import split_command
    from zmtp.protocol.curve import CurveClient, CurveServer

    server_pk, server_sk = backend.crypto_box_keypair(os.urandom(32))
    client_pk, client_sk = backend.crypto_box_keypair(os.urandom(32))

    def once() -> None:
        client = CurveClient(
            public_key=client_pk, secret_key=client_sk, server_key=server_pk, random_bytes=os.urandom, backend=backend
        )
        server = CurveServer(secret_key=server_sk, random_bytes=os.urandom, backend=backend)
        server.start(b"")
        to_server = client.start(b"\x0bSocket-Type\x00\x00\x00\x03REQ")
        while not (client.complete and server.complete):
            to_client = [r for body in to_server for r in server.receive_command(*split_command(body))]
            to_server = [r for body in to_client for r in client.receive_command(*split_command(body))]

    return best_us(once, 3, repeat)


def measure(b: crypto.CryptoBackend, repeat: int) -> Dict[str, object]:
    small, large = os.urandom(16), os.urandom(65536)
    nonce = os.urandom(24)
    _, sk = b.crypto_box_keypair(os.urandom(32))
    pk2, _ = b.crypto_box_keypair(os.urandom(32))
    key = b.crypto_box_beforenm(pk2, sk)
    small_box = b.crypto_box_easy_afternm(small, nonce, key)
    large_box = b.crypto_box_easy_afternm(large, nonce, key)
    slow, quick = (5, 200) if b.name == "pure" else (200, 2000)
    return {
        "backend": b.name,
        "x25519": best_us(lambda: b.crypto_scalarmult(sk, pk2), slow, repeat),
        "beforenm": best_us(lambda: b.crypto_box_beforenm(pk2, sk), slow, repeat),
        "seal16": best_us(lambda: b.crypto_box_easy_afternm(small, nonce, key), quick, repeat),
        "open16": best_us(lambda: b.crypto_box_open_easy_afternm(small_box, nonce, key), quick, repeat),
        "seal64k": best_us(lambda: b.crypto_box_easy_afternm(large, nonce, key), slow, repeat),
        "open64k": best_us(lambda: b.crypto_box_open_easy_afternm(large_box, nonce, key), slow, repeat),
        "handshake": handshake_us(b, repeat),
    }


def run(names: List[str], repeat: int) -> List[Dict[str, object]]:
    rows: List[Dict[str, object]] = []
    for name in names:
        reason = crypto.unavailable_reason(name)
        if reason is not None:
            rows.append({"backend": name, "error": reason})
        else:
            rows.append(measure(crypto.get_backend(name), repeat))
    return rows


def main(argv: List[str] = sys.argv[1:]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=crypto.BACKENDS, help="default: all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the pure backend sealing 64 KiB")
    args = parser.parse_args(argv)
    if args.profile:
        b = crypto.get_backend("pure")
        data, nonce, key = os.urandom(65536), os.urandom(24), os.urandom(32)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20):
            b.crypto_box_easy_afternm(data, nonce, key)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(8)
        return 0
    rows = run(args.backend or list(crypto.BACKENDS), args.repeat)
    print(f"zmtp.crypto on Python {sys.version.split()[0]} ({sys.implementation.name}); microseconds per operation")
    header = (
        f"{'backend':<10} {'X25519':>9} {'beforenm':>9} {'seal 16B':>9} {'open 16B':>9} "
        f"{'seal 64K':>9} {'open 64K':>9} {'MB/s':>7} {'handshake':>10}"
    )
    print(header)
    for row in rows:
        if "error" in row:
            print(f"{row['backend']:<10} unavailable: {row['error']}")
            continue
        mbps = 65536 / float(row["seal64k"])  # type: ignore[arg-type]
        print(
            f"{row['backend']:<10} {row['x25519']:>9.1f} {row['beforenm']:>9.1f} {row['seal16']:>9.1f} "
            f"{row['open16']:>9.1f} {row['seal64k']:>9.1f} {row['open64k']:>9.1f} {mbps:>7.1f} "
            f"{row['handshake']:>10.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
