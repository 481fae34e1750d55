"""Client side of the peer control protocol: one subprocess per peer, JSON lines on stdin/stdout."""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import threading
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Sequence

from .api import InteropError, OptValue, Received, Timeout

BYTES_OPTS = {"ROUTING_ID", "IDENTITY", "SUBSCRIBE", "UNSUBSCRIBE", "PLAIN_USERNAME", "PLAIN_PASSWORD",
              "CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY", "ZAP_DOMAIN"}
# slack on top of an operation's own timeout before the peer counts as hung
HANG_SLACK = 5.0


class PeerProcess:
    """A running peer driver. Thread-compatible: one caller at a time."""

    def __init__(self, name: str, command: Sequence[str]) -> None:
        self.name = name
        self.command = list(command)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self._lines: queue.Queue[Optional[bytes]] = queue.Queue()
        self._stderr: Deque[str] = deque(maxlen=20)
        self._next = 0
        self.info: Dict[str, Any] = {}
        self.socks: Dict[int, RemoteSock] = {}

    # -- lifecycle --
    def start(self, timeout: float = 30.0) -> Dict[str, Any]:
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lines = queue.Queue()
        threading.Thread(target=self._pump_out, args=(self.proc, self._lines), daemon=True).start()
        threading.Thread(target=self._pump_err, args=(self.proc,), daemon=True).start()
        self.info = self.call("hello", _hard=timeout)
        return self.info

    def _pump_out(self, proc: subprocess.Popen[bytes], lines: queue.Queue[Optional[bytes]]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def _pump_err(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def stop(self) -> None:
        if self.alive:
            try:
                self.call("exit", _hard=3.0)
                assert self.proc is not None
                self.proc.wait(3)
            except (InteropError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr) if self.proc else ():
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def stderr_tail(self) -> str:
        return " | ".join(list(self._stderr)[-5:])

    # -- calls --
    def call(self, op: str, _hard: Optional[float] = None, **args: Any) -> Dict[str, Any]:
        if not self.alive:
            raise InteropError("EPEERDEAD", f"{self.name} is not running {self.stderr_tail()}".rstrip())
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        req = {"id": self._next, "op": op, **args}
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise InteropError("EPEERDEAD", f"{self.name}: {e} {self.stderr_tail()}".rstrip()) from e
        hard = _hard if _hard is not None else int(args.get("timeout", 0)) / 1000.0 + HANG_SLACK
        while True:
            try:
                line = self._lines.get(timeout=hard)
            except queue.Empty:
                self.kill()
                msg = f"{self.name} did not answer {op} within {hard:.1f}s"
                raise InteropError("EPEERHUNG", msg) from None
            if line is None:
                msg = f"{self.name} exited during {op} {self.stderr_tail()}"
                raise InteropError("EPEERDEAD", msg.rstrip())
            try:
                resp = json.loads(line)
            except ValueError:
                continue  # stray output from the implementation
            if resp.get("id") == self._next:
                break
        if not resp.get("ok"):
            err = str(resp.get("error", "EUNKNOWN"))
            detail = f"{self.name} {op}: {resp.get('detail', '')}"
            if err == "EAGAIN":
                raise Timeout(detail)
            raise InteropError(err, detail)
        return resp


class RemoteSock:
    def __init__(self, proc: PeerProcess, sid: int, type_name: str, label: str) -> None:
        self.proc = proc
        self.sid = sid
        self.type_name = type_name
        self.label = label
        self.closed = False

    def setsockopt(self, name: str, value: OptValue) -> None:
        v: Any = base64.b64encode(value).decode() if isinstance(value, bytes) else int(value)
        if name in BYTES_OPTS and not isinstance(value, bytes):
            raise InteropError("EINVAL", f"{name} takes bytes")
        self.proc.call("setsockopt", sock=self.sid, opt=name, value=v)

    def bind(self, endpoint: str) -> str:
        return str(self.proc.call("bind", sock=self.sid, endpoint=endpoint)["endpoint"])

    def connect(self, endpoint: str) -> None:
        self.proc.call("connect", sock=self.sid, endpoint=endpoint)

    def send(self, frames: Sequence[bytes], timeout: int = 1000) -> None:
        enc = [base64.b64encode(f).decode() for f in frames]
        self.proc.call("send", sock=self.sid, frames=enc, timeout=timeout)

    def recv(self, timeout: int = 1000) -> List[bytes]:
        resp = self.proc.call("recv", sock=self.sid, timeout=timeout)
        return [base64.b64decode(f) for f in resp["frames"]]

    def close(self, linger: int = 0) -> None:
        if self.closed:
            return
        self.closed = True
        self.proc.socks.pop(self.sid, None)
        self.proc.call("close", sock=self.sid, linger=linger)

    # -- draft socket types: optional request fields routing_id/group, answered the same way --
    def send_draft(self, frames: Sequence[bytes], timeout: int = 1000, routing_id: Optional[int] = None,
                   group: Optional[bytes] = None) -> None:
        extra: Dict[str, Any] = {}
        if routing_id is not None:
            extra["routing_id"] = int(routing_id)
        if group is not None:
            extra["group"] = base64.b64encode(group).decode()
        enc = [base64.b64encode(f).decode() for f in frames]
        self.proc.call("send", sock=self.sid, frames=enc, timeout=timeout, **extra)

    def recv_draft(self, timeout: int = 1000) -> Received:
        resp = self.proc.call("recv", sock=self.sid, timeout=timeout)
        return Received([base64.b64decode(f) for f in resp["frames"]], int(resp.get("routing_id", 0)),
                        base64.b64decode(resp.get("group", "")))

    def join(self, group: bytes) -> None:
        self.proc.call("join", sock=self.sid, group=base64.b64encode(group).decode())

    def leave(self, group: bytes) -> None:
        self.proc.call("leave", sock=self.sid, group=base64.b64encode(group).decode())

    def connect_peer(self, endpoint: str) -> int:
        return int(self.proc.call("connect_peer", sock=self.sid, endpoint=endpoint)["routing_id"])


class RemoteSide:
    def __init__(self, proc: PeerProcess) -> None:
        self.proc = proc
        self.name = proc.name
        self._count = 0

    def socket(self, type_name: str, zmtp_version: Optional[tuple[int, int]] = None) -> RemoteSock:
        sid = int(self.proc.call("socket", type=type_name)["sock"])
        self._count += 1
        s = RemoteSock(self.proc, sid, type_name, f"{self.name}:{type_name}#{self._count}")
        self.proc.socks[sid] = s
        return s

    def start_auth(self, passwords: Dict[str, str], curve_keys: Sequence[bytes]) -> None:
        self.proc.call("auth", passwords=dict(passwords), curve_keys=[bytes(k).decode("ascii") for k in curve_keys])
        self._auth = True

    def close(self) -> None:
        for s in list(self.proc.socks.values()):
            s.close(linger=0)
        if getattr(self, "_auth", False):
            self._auth = False
            self.proc.call("auth_stop")
