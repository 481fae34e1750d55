"""Interop peer driver for libzmq through pyzmq: the JSON-lines control protocol over stdin/stdout.

Runs under any Python 3 with pyzmq (the current one, or Debian's /usr/bin/python3 with python3-zmq),
so it uses the standard library and ``zmq`` only and must not import ``interop`` or ``zmtp``.

Protocol (one JSON object per line each way; see interop/README.md):
  request  {"id": N, "op": "...", ...}
  response {"id": N, "ok": true, ...}  or  {"id": N, "ok": false, "error": "EAGAIN", "detail": "..."}
"""

import base64
import json
import sys

import zmq

SOCKET_TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"]
BYTES_OPTS = {"ROUTING_ID": zmq.IDENTITY, "IDENTITY": zmq.IDENTITY, "SUBSCRIBE": zmq.SUBSCRIBE,
              "UNSUBSCRIBE": zmq.UNSUBSCRIBE, "PLAIN_USERNAME": zmq.PLAIN_USERNAME,
              "PLAIN_PASSWORD": zmq.PLAIN_PASSWORD, "CURVE_PUBLICKEY": zmq.CURVE_PUBLICKEY,
              "CURVE_SECRETKEY": zmq.CURVE_SECRETKEY, "CURVE_SERVERKEY": zmq.CURVE_SERVERKEY,
              "ZAP_DOMAIN": zmq.ZAP_DOMAIN}


class KeySet:
    """A CURVE credentials provider for configure_curve_callback: admits the listed Z85 keys."""

    def __init__(self, keys):
        self.keys = set(keys)

    def callback(self, domain, key):
        return bytes(key) in self.keys


class PeerError(Exception):
    def __init__(self, error, detail=""):
        super().__init__(error)
        self.error = error
        self.detail = detail


def errname(exc):
    for name in ("EAGAIN", "EHOSTUNREACH", "EFSM", "EINVAL", "ENOTSUP", "EADDRINUSE", "ETERM"):
        if exc.errno == getattr(zmq, name, None):
            return name
    return f"E{exc.errno}"


class Peer:
    def __init__(self):
        self.ctx = zmq.Context()
        self.socks = {}
        self.next_id = 1
        self.auth = None

    def sock(self, req):
        try:
            return self.socks[req["sock"]]
        except KeyError:
            raise PeerError("EBADSOCK", f"no socket {req.get('sock')!r}") from None

    def op_hello(self, req):
        return {"impl": "libzmq", "version": zmq.zmq_version(), "binding": "pyzmq " + zmq.__version__,
                "python": sys.version.split()[0]}

    def op_socket(self, req):
        name = req["type"]
        if name not in SOCKET_TYPES:
            raise PeerError("EINVAL", f"unknown socket type {name}")
        s = self.ctx.socket(getattr(zmq, name))
        s.linger = 0
        sid = self.next_id
        self.next_id += 1
        self.socks[sid] = s
        return {"sock": sid}

    def op_setsockopt(self, req):
        s = self.sock(req)
        name = req["opt"]
        if name in BYTES_OPTS:
            s.setsockopt(BYTES_OPTS[name], base64.b64decode(req["value"]))
        else:
            s.setsockopt(getattr(zmq, name), int(req["value"]))
        return {}

    def op_bind(self, req):
        s = self.sock(req)
        s.bind(req["endpoint"])
        ep = s.getsockopt(zmq.LAST_ENDPOINT)
        return {"endpoint": ep.decode() if isinstance(ep, bytes) else ep}

    def op_connect(self, req):
        self.sock(req).connect(req["endpoint"])
        return {}

    def op_send(self, req):
        s = self.sock(req)
        s.setsockopt(zmq.SNDTIMEO, int(req.get("timeout", 1000)))
        frames = [base64.b64decode(f) for f in req["frames"]]
        s.send_multipart(frames)
        return {}

    def op_recv(self, req):
        s = self.sock(req)
        if not s.poll(int(req.get("timeout", 1000)), zmq.POLLIN):
            raise PeerError("EAGAIN", f"no message within {req.get('timeout', 1000)}ms")
        frames = s.recv_multipart(zmq.NOBLOCK)
        return {"frames": [base64.b64encode(f).decode("ascii") for f in frames]}

    def op_close(self, req):
        s = self.socks.pop(req["sock"], None)
        if s is not None:
            s.close(linger=int(req.get("linger", 0)))
        return {}

    def op_auth(self, req):
        """Start pyzmq's ThreadAuthenticator (ZAP, RFC 27) with PLAIN passwords / admitted CURVE keys."""
        from zmq.auth.thread import ThreadAuthenticator

        if self.auth is None:
            self.auth = ThreadAuthenticator(self.ctx)
            self.auth.start()
        if req.get("passwords"):
            self.auth.configure_plain(domain="*", passwords=dict(req["passwords"]))
        if req.get("curve_keys"):
            keys = [k.encode("ascii") for k in req["curve_keys"]]
            self.auth.configure_curve_callback(domain="*", credentials_provider=KeySet(keys))
        return {}

    def op_auth_stop(self, req):
        if self.auth is not None:
            self.auth.stop()
            self.auth = None
        return {}

    def op_exit(self, req):
        self.op_auth_stop(req)
        for s in self.socks.values():
            s.close(linger=0)
        self.socks.clear()
        self.ctx.term()
        return {}


def main():
    peer = Peer()
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        op = req.get("op", "")
        resp = {"id": req.get("id")}
        try:
            handler = getattr(peer, "op_" + op, None)
            if handler is None:
                raise PeerError("EBADOP", f"unknown op {op!r}")
            resp.update(handler(req))
            resp["ok"] = True
        except PeerError as e:
            resp.update(ok=False, error=e.error, detail=e.detail)
        except zmq.ZMQError as e:
            resp.update(ok=False, error=errname(e), detail=str(e))
        except Exception as e:  # report, keep serving
            resp.update(ok=False, error="EEXC", detail=f"{type(e).__name__}: {e}")
        out.write(json.dumps(resp) + "\n")
        out.flush()
        if op == "exit":
            break


if __name__ == "__main__":
    main()
