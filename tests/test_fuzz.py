"""``zmtp fuzz``: it finds planted bugs in a toy target (minimised, saved, reproducible), and short bounded
runs against libzmq 4.3.5 (pyzmq), Debian's libzmq 4.3.4, JeroMQ and zmtp itself find nothing."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from zmtp.tools.fuzz import MUTATORS, Case, make_case
from zmtp.tools.fuzz.engine import ddmin, split_items
from zmtp.tools.fuzz.grammar import PEER_ROLE

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
ECHO = ROOT / "fuzz" / "targets" / "echo.py"

TOY = r'''
import os, socket, sys, threading, time
MODE, PORT = sys.argv[1], int(sys.argv[2])
LOCK = threading.Lock()
HOARD = []
GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01NULL" + bytes(16) + b"\x00" + bytes(31)
READY = b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03REP"

def exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def frame(c):
    flags = exact(c, 1)[0]
    size = int.from_bytes(exact(c, 8), "big") if flags & 2 else exact(c, 1)[0]
    if size > 1 << 20:
        raise EOFError
    return flags, exact(c, size)

def serve(c):
    try:
        c.sendall(GREETING + READY)
        exact(c, 64)
        flags, body = frame(c)
        if not flags & 4 or body[1:6] != b"READY":
            return
        if MODE == "leak-memory":
            HOARD.append(b"x" * (4 << 20))  # never freed
        pos = 6
        while pos < len(body):          # the planted bugs live here
            n = body[pos]
            if n == 0 and MODE == "hang":
                with LOCK:              # stalls every later connection too
                    time.sleep(3600)
            pos += 1 + n
            vlen = int.from_bytes(body[pos:pos + 4], "big")
            pos += 4
            if vlen > len(body) - pos and MODE == "crash":
                os._exit(42)           # "reads past the end of the buffer"
            pos += vlen
        while True:
            parts = []
            while True:
                flags, body = frame(c)
                if flags & 4:
                    continue
                parts.append((flags, body))
                if not flags & 1:
                    break
            c.sendall(b"".join(bytes((f & 1, len(b))) + b for f, b in parts))
    except (EOFError, OSError, IndexError):
        pass
    finally:
        if MODE == "leak-fds":
            HOARD.append(c)  # never closed
        else:
            c.close()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", PORT))
ls.listen(64)
while True:
    c, _ = ls.accept()
    with LOCK:
        pass
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'''


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


#: Every run's --out directory lives under this one, removed when the tests end.
SCRATCH = tempfile.mkdtemp(prefix="zmtp-fuzz-tests-")
atexit.register(shutil.rmtree, SCRATCH, True)


def fuzz_cli(args: List[str], timeout: float = 60) -> Tuple[int, str, Dict[str, Any]]:
    """Run ``zmtp fuzz`` (its --exec target is killed by the fuzzer; the group is killed here on timeout)."""
    out_dir = tempfile.mkdtemp(dir=SCRATCH)
    p = subprocess.Popen([sys.executable, "-m", "zmtp", "fuzz", *args, "--out", out_dir, "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=str(ROOT),
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        report_path = os.path.join(out_dir, "report.json")
        report = json.load(open(report_path)) if os.path.exists(report_path) else {}
        report["_dir"] = out_dir
        return p.returncode, out + err, report
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait()


# -- the engine's parts ---------------------------------------------------------------------------------

def test_cases_are_reproducible_from_seed_and_index() -> None:
    for target in PEER_ROLE:
        for i in range(60):
            a, b = make_case(7, i, target), make_case(7, i, target)
            assert a == b and a.mutator in MUTATORS
    assert {make_case(7, i, "REP").mutator for i in range(300)} == set(MUTATORS)
    assert [make_case(1, i, "REP").data for i in range(20)] != [make_case(2, i, "REP").data for i in range(20)]


def test_case_json_round_trip() -> None:
    case = make_case(3, 5, "ROUTER")
    assert Case.from_json(json.loads(json.dumps(case.to_json()))) == case


def test_ddmin_finds_the_minimal_chunks() -> None:
    items = list(range(40))
    assert ddmin(items, lambda xs: 7 in xs and 31 in xs) == [7, 31]
    assert len(ddmin([b"a", b"b"], lambda xs: True)) == 1


def test_frame_sizes_reach_the_edges() -> None:
    sizes = set()
    for i in range(400):
        c = make_case(11, i, "REP", ["frame-size"])
        for chunk in c.chunks:
            if len(chunk) >= 9 and chunk[0] & 0x02:
                sizes.add(int.from_bytes(chunk[1:9], "big"))
    assert (1 << 63) - 1 in sizes and (1 << 64) - 1 in sizes


# -- the planted bugs ---------------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_finds_and_minimises_a_crash_on_a_bad_ready(tmp_path: Path) -> None:
    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    port = free_port()
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--socket-type", "REP", "--exec",
                                    f"{sys.executable} {toy} crash {port}", "--mutators", "ready-metadata",
                                    "--seed", "1", "--cases", "40", "--time", "30", "--minimize-time", "10",
                                    "--max-failures", "1"])
    assert status == 1, out
    assert "FINDING 1: crash: target process exited (status 42)" in out
    (failure,) = report["failures"]
    original = bytes.fromhex("".join(failure["case"]["chunks"]))
    minimized = bytes.fromhex("".join(failure["minimized"]["chunks"]))
    assert len(minimized) < len(original)
    items = split_items(minimized)  # minimised grammar-aware: still a greeting and well-formed frames
    assert items is not None and len(items) == 2 and b"READY" in items[1], minimized.hex()
    saved = Path(report["_dir"]) / "failure-1.bin"
    assert saved.read_bytes() == minimized
    assert any("--replay" in r for r in failure["reproduce"]) and any("--case" in r for r in failure["reproduce"])
    # the saved case reproduces the crash
    status, out, _ = fuzz_cli([f"tcp://127.0.0.1:{port}", "--exec", f"{sys.executable} {toy} crash {port}",
                               "--replay", str(saved.with_suffix(".json")), "--minimize-time", "0"])
    assert status == 1 and "crash" in out


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_finds_a_hang_on_a_bad_ready(tmp_path: Path) -> None:
    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    port = free_port()
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--exec", f"{sys.executable} {toy} hang {port}",
                                    "--mutators", "ready-metadata", "--seed", "2", "--cases", "40", "--time", "30",
                                    "--minimize-time", "15", "--max-failures", "1", "--deadline", "1"])
    assert status == 1, out
    (failure,) = report["failures"]
    assert failure["kind"] == "hang" and "READY name-len-zero" in failure["description"]


def test_a_healthy_toy_passes(tmp_path: Path) -> None:
    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    port = free_port()
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--exec", f"{sys.executable} {toy} none {port}",
                                    "--mutators", "ready-metadata,split", "--seed", "3", "--cases", "25",
                                    "--time", "15"])
    assert status == 0, out
    assert report["cases_run"] == 25 and not report["failures"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode,kind", [("leak-memory", "memory"), ("leak-fds", "fds")])
def test_resource_leaks_of_a_process_given_by_pid(tmp_path: Path, mode: str, kind: str) -> None:
    toy = tmp_path / "toy.py"
    toy.write_text(TOY)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(toy), mode, str(port)])
    try:
        status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--pid", str(proc.pid), "--mutators",
                                        "churn,split", "--seed", "4", "--cases", "60", "--time", "20",
                                        "--rss-limit", "40"])
    finally:
        proc.kill()
        proc.wait()
    assert status == 1, out
    failure = report["failures"][0]
    assert failure["kind"] == kind, out
    assert "cannot be restarted" in report["stopped"]


# -- real targets: short bounded runs that must find nothing ----------------------------------------------

def _run_clean(command: str, port: int, socket_type: str = "REP", cases: int = 400, seconds: float = 12,
               mutators: str = "") -> None:
    extra = ["--mutators", mutators] if mutators else []
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--socket-type", socket_type, "--exec", command,
                                    "--seed", "5", "--cases", str(cases), "--time", str(seconds),
                                    "--minimize-time", "5", *extra], timeout=seconds + 45)
    assert status == 0, out
    assert report["cases_run"] >= 10 and len(report["per_mutator"]) >= 5, report


@pytest.mark.timeout(70)
@pytest.mark.parametrize("socket_type", ["REP", pytest.param("ROUTER", marks=pytest.mark.slow)])
def test_libzmq_435_pyzmq_finds_nothing(socket_type: str) -> None:
    port = free_port()
    _run_clean(f"{sys.executable} {ECHO} {port} --impl zmq --type {socket_type}", port, socket_type)


@pytest.mark.slow
@pytest.mark.timeout(70)
def test_debian_libzmq_434_finds_nothing() -> None:
    py = "/usr/bin/python3"
    if not os.path.exists(py) or subprocess.run([py, "-c", "import zmq"], capture_output=True).returncode:
        pytest.skip("Debian's python3-zmq is not installed (apt-get install python3-zmq)")
    port = free_port()
    _run_clean(f"{py} {ECHO} {port} --impl zmq --type REP", port)


@pytest.mark.slow
@pytest.mark.timeout(70)
def test_zmtp_itself_finds_nothing() -> None:
    """Every mutator but "trickle", whose finding in zmtp is pinned in test_fuzz_regressions.py."""
    port = free_port()
    _run_clean(f"{sys.executable} {ECHO} {port} --impl zmtp --type REP", port,
               mutators=",".join(sorted(set(MUTATORS) - {"trickle"})))


def _jeromq_echo() -> str:
    jar = Path("/usr/share/java/jeromq.jar")
    if not jar.exists() or shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("JeroMQ or a JDK is missing (apt-get install libjeromq-java default-jdk-headless)")
    src = ROOT / "fuzz" / "targets" / "JeroEcho.java"
    key = hashlib.sha256(src.read_bytes() + str(jar.stat().st_mtime_ns).encode()).hexdigest()[:12]
    out = Path(tempfile.gettempdir()) / f"zmtp-fuzz-jeroecho-{key}"
    if not (out / "JeroEcho.class").exists():
        tmp = Path(tempfile.mkdtemp(prefix="jeroecho-"))
        subprocess.run(["javac", "-nowarn", "-cp", str(jar), "-d", str(tmp), str(src)], check=True, timeout=120)
        try:
            os.replace(tmp, out)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return f"java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp {out}{os.pathsep}{jar} JeroEcho"


#: JeroMQ 0.3.6 mutators that find nothing (the others find the hangs in the report: see test below).
JEROMQ_CLEAN = "signature,version,as-server,zmtp2,command-name,truncate,split,slow,half-open,churn"


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_jeromq_finds_nothing_outside_its_known_bugs() -> None:
    cmd = _jeromq_echo()
    port = free_port()
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--exec", f"{cmd} {port}", "--mutators",
                                    JEROMQ_CLEAN, "--seed", "5", "--cases", "200", "--time", "15",
                                    "--minimize-time", "5"], timeout=80)
    assert status == 0, out
    assert report["cases_run"] >= 10


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_jeromq_hangs_on_a_huge_frame_where_the_mechanism_name_is() -> None:
    """JeroMQ 0.3.6 reads a ZMTP 3.x greeting as ZMTP 2.0: bytes 12.. (the mechanism name) become its
    identity frame, and a LONG flag there with an absurd size stops the whole peer (no new handshakes)."""
    cmd = _jeromq_echo()
    port = free_port()
    case = Case("mechanism", "mechanism 0xff * 20", [b"\xff" + bytes(8) + b"\x7f\x03\x01" + b"\xff" * 20 + bytes(32)])
    saved = Path(tempfile.mkdtemp(dir=SCRATCH)) / "case.json"
    saved.write_text(json.dumps({"case": case.to_json()}))
    status, out, report = fuzz_cli([f"tcp://127.0.0.1:{port}", "--exec", f"{cmd} {port}", "--replay", str(saved),
                                    "--minimize-time", "0"], timeout=60)
    assert status == 1, out
    assert report["failures"][0]["kind"] == "hang"
