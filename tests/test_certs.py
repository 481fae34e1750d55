"""zmtp.auth.certs: zcert files that pyzmq (and czmq) read and write, both ways."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from zmtp.auth import create_certificates, load_certificate, load_certificates
from zmtp.utils import z85


def test_ours_are_read_by_pyzmq(tmp_path: Path) -> None:
    public_file, secret_file = create_certificates(tmp_path, "server", metadata={"name": "server", "site": "a b"})
    assert public_file == str(tmp_path / "server.key")
    assert secret_file == str(tmp_path / "server.key_secret")
    public, secret = zmq.auth.load_certificate(secret_file)
    assert secret is not None
    assert zmq.curve_public(secret) == public
    assert zmq.auth.load_certificate(public_file) == (public, None)
    assert zmq.auth.load_certificates(str(tmp_path)) == {public: True}
    assert load_certificate(secret_file) == (public, secret)
    assert load_certificate(public_file) == (public, None)


def test_pyzmqs_are_read_by_ours(tmp_path: Path) -> None:
    public_file, secret_file = zmq.auth.create_certificates(str(tmp_path), "client", metadata={"name": "c"})
    expected = zmq.auth.load_certificate(secret_file)
    assert load_certificate(secret_file) == expected
    assert load_certificate(public_file) == (expected[0], None)
    assert load_certificates(tmp_path) == {expected[0]: True}


def test_czmq_style_file_with_awkward_keys(tmp_path: Path) -> None:
    """czmq's zcert_save writes quoted values and metadata in both files; Z85 keys may hold '#' and
    '=' (both are Z85 symbols), which must not be read as a comment or a separator."""
    public = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    secret = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
    odd_public = z85.encode(bytes.fromhex("fe" * 32))  # arbitrary 32 bytes whose Z85 holds odd symbols
    text = (
        "#   ****  Generated on 2015-01-01 00:00:00 by CZMQ  ****\n"
        "#   ZeroMQ CURVE **Secret** Certificate\n"
        "\n"
        "metadata\n"
        '    name = "Joe Smith"\n'
        '    email = "joe@example.com"\n'
        "curve\n"
        f'    public-key = "{public.decode()}"\n'
        f'    secret-key = "{secret.decode()}"\n'
    )
    path = tmp_path / "joe.key_secret"
    path.write_text(text)
    assert load_certificate(path) == (public, secret) == zmq.auth.load_certificate(str(path))
    hashy = b"ab#cd=ef" + odd_public[8:]
    for line, expected in [
        (f"public-key = {hashy.decode()}", hashy),  # unquoted, '#' inside: not a comment
        (f"public-key = '{hashy.decode()}'", hashy),
        (f'public-key = "{hashy.decode()}"   # a trailing comment', hashy),
        (f"public-key = {hashy.decode()}   # a trailing comment", hashy),
    ]:
        path = tmp_path / "odd.key"
        path.write_text("curve\n    " + line + "\n")
        assert load_certificate(path) == (expected, None), line


def test_secret_file_is_private(tmp_path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("POSIX permissions")
    secret_path = tmp_path / "s.key_secret"
    secret_path.write_text("old")
    os.chmod(secret_path, 0o644)
    public_file, secret_file = create_certificates(tmp_path, "s")
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public_file).st_mode) & 0o077 in (0o044, 0o004, 0o040, 0)
    assert b"secret-key" not in Path(public_file).read_bytes()
    assert b"public-key" in Path(public_file).read_bytes()


def test_metadata_written_in_both_files(tmp_path: Path) -> None:
    public_file, secret_file = create_certificates(tmp_path, "m", metadata={b"name": b"srv", "role": "x y"})
    for path in (public_file, secret_file):
        text = Path(path).read_text()
        assert '    name = "srv"\n' in text and '    role = "x y"\n' in text
        assert text.index("metadata\n") < text.index("curve\n")
    with pytest.raises(ValueError):
        create_certificates(tmp_path, "bad", metadata={"a b": "c"})
    with pytest.raises(ValueError):
        create_certificates(tmp_path, "bad", metadata={"a": 'say "hi"'})


def test_load_certificates_reads_only_public_files(tmp_path: Path) -> None:
    keys = set()
    for name in ("a", "b", "c"):
        public_file, _ = create_certificates(tmp_path, name)
        keys.add(load_certificate(public_file)[0])
    (tmp_path / "notes.txt").write_text("public-key = nope\n")
    assert load_certificates(tmp_path) == {k: True for k in keys}
    assert load_certificates(str(tmp_path)) == zmq.auth.load_certificates(str(tmp_path))


def test_errors_match_pyzmq(tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    with pytest.raises(OSError) as ours:
        load_certificate(missing)
    with pytest.raises(OSError) as theirs:
        zmq.auth.load_certificate(str(missing))
    assert str(ours.value) == str(theirs.value)
    empty = tmp_path / "empty.key"
    empty.write_text("metadata\ncurve\n")
    with pytest.raises(ValueError, match="No public key found"):
        load_certificate(empty)
    with pytest.raises(OSError, match="Invalid certificate directory"):
        load_certificates(tmp_path / "nowhere")


@pytest.mark.timeout(20)
def test_libzmq_authenticates_with_our_certificate_files(tmp_path: Path) -> None:
    """pyzmq's ThreadAuthenticator reads our public-key folder; libzmq CURVE uses our key files."""
    server_dir, clients_dir, other_dir = tmp_path / "server", tmp_path / "clients", tmp_path / "other"
    for d in (server_dir, clients_dir, other_dir):
        d.mkdir()
    _, server_secret_file = create_certificates(server_dir, "server")
    _, client_secret_file = create_certificates(clients_dir, "client")
    _, stranger_secret_file = create_certificates(other_dir, "stranger")
    server_public, server_secret = load_certificate(server_secret_file)
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_curve(domain="*", location=str(clients_dir))
        server = ctx.socket(zmq.REP)
        server.curve_publickey, server.curve_secretkey = server_public, server_secret
        server.curve_server = True
        server.linger = 0
        port = server.bind_to_random_port("tcp://127.0.0.1")

        def request(secret_file: str) -> bool:
            public, secret = load_certificate(secret_file)
            client = ctx.socket(zmq.REQ)
            client.linger = 0
            client.curve_publickey, client.curve_secretkey, client.curve_serverkey = public, secret, server_public
            client.connect(f"tcp://127.0.0.1:{port}")
            client.send(b"hi")
            ok = bool(client.poll(1500))
            if ok:
                assert client.recv() == b"hi"
            client.close()
            return ok

        def serve() -> None:
            if server.poll(1500):
                server.send(server.recv())

        t = threading.Thread(target=serve)
        t.start()
        assert request(client_secret_file)
        t.join()
        assert not request(stranger_secret_file)  # not in the folder: libzmq's ZAP handler refuses it
        server.close()
    finally:
        auth.stop()
        ctx.term()
