"""An echo server for the fuzzer: ``python fuzz/targets/echo.py --impl zmq|zmtp --type REP PORT``.

Runs under any interpreter that has the chosen module (pyzmq for libzmq 4.3.5 in the default Python,
Debian's python3-zmq for libzmq 4.3.4 under /usr/bin/python3, or zmtp itself).  REP, ROUTER, DEALER and
PAIR sockets send back every message they receive; PUB publishes a tick every 100 ms; the others
(SUB subscribed to everything, PULL, XPUB, XSUB) just receive.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--impl", default="zmq")
    ap.add_argument("--type", default="REP")
    ap.add_argument("--zmtp2", action="store_true", help="(zmtp) nothing: the fallback is always on")
    args = ap.parse_args()
    zmq = importlib.import_module(args.impl)
    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, args.type.upper()))
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(f"tcp://127.0.0.1:{args.port}")
    kind = args.type.upper()
    echo = kind in ("REP", "ROUTER", "DEALER", "PAIR")
    if kind == "SUB":
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        while True:
            if kind == "PUB":  # cannot receive: publish a tick now and then
                sock.send(b"tick")
                time.sleep(0.1)
                continue
            msg = sock.recv_multipart()
            if echo:
                sock.send_multipart(msg)
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close(0)
        ctx.term()


if __name__ == "__main__":
    sys.exit(main())
