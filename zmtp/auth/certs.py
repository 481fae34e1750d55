"""CURVE certificate files in the zcert format (czmq's ``zcert``, pyzmq's ``zmq.auth.certs``).

A certificate is a ZPL text file (ZeroMQ RFC 4: ``name = value`` lines, nesting by 4-space indents,
``#`` comments) with a ``metadata`` section and a ``curve`` section holding ``public-key`` and, in the
secret file only, ``secret-key``, both 40-character Z85 (RFC 32)::

    #   ****  Generated on 2024-01-01 12:00:00 by zmtp  ****
    #   ZeroMQ CURVE Public Certificate
    ...
    metadata
        name = "server"
    curve
        public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

``create_certificates`` writes ``NAME.key`` (public, to share) and ``NAME.key_secret`` (mode 0600, as
czmq's ``zcert_save_secret`` makes it), ``load_certificates`` reads every ``*.key`` in a folder, as
pyzmq and czmq's ``zcertstore`` do.  Files written here are read by pyzmq and czmq and vice versa: the
reader takes quoted (czmq) and unquoted (pyzmq's metadata) values, and ignores sections it does not know.
"""

from __future__ import annotations

import datetime
import glob
import os
import re
from typing import Dict, Mapping, Optional, Tuple, Union

from ..utils.curve import curve_keypair

PathLike = Union[str, "os.PathLike[str]"]

_SECRET_BANNER = """#   ****  Generated on {0} by zmtp  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""

_PUBLIC_BANNER = """#   ****  Generated on {0} by zmtp  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""


def _text(value: Union[str, bytes], encoding: str = "utf-8") -> str:
    return value.decode(encoding) if isinstance(value, bytes) else value


def _quote(value: str) -> str:
    """A ZPL value in double quotes (RFC 4 allows quoting any value; czmq always quotes)."""
    if "\n" in value or '"' in value:
        raise ValueError(f"a certificate value cannot contain a newline or a double quote: {value!r}")
    return f'"{value}"'


def _write_key_file(
    path: str,
    banner: str,
    public_key: Union[str, bytes],
    secret_key: Optional[Union[str, bytes]] = None,
    metadata: Optional[Mapping[Union[str, bytes], Union[str, bytes]]] = None,
) -> None:
    lines = [banner, "metadata\n"]
    for name, value in (metadata or {}).items():
        key = _text(name)
        if not key or any(c in key for c in " \t=#\n\"'"):
            raise ValueError(f"invalid certificate metadata name {key!r}")
        lines.append(f"    {key} = {_quote(_text(value))}\n")
    lines.append("curve\n")
    lines.append(f"    public-key = {_quote(_text(public_key))}\n")
    if secret_key:
        lines.append(f"    secret-key = {_quote(_text(secret_key))}\n")
    # The secret file is created private (0600) before any byte of the key is written.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret_key else 0o644)
    with open(fd, "w", encoding="utf-8") as f:
        if secret_key and hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), 0o600)  # also when the file existed with a looser mode
        f.write("".join(lines))


def create_certificates(
    key_dir: PathLike, name: str, metadata: Optional[Mapping[Union[str, bytes], Union[str, bytes]]] = None
) -> Tuple[str, str]:
    """Make a new key pair and write ``NAME.key`` and ``NAME.key_secret`` in ``key_dir``.

    Returns the two paths (public, secret), as pyzmq's ``zmq.auth.create_certificates``.  ``metadata``
    (e.g. ``{"name": "server"}``) goes into both files' metadata section, as czmq writes it.
    """
    public_key, secret_key = curve_keypair()
    base = os.path.join(key_dir, name)
    public_file = f"{base}.key"
    secret_file = f"{base}.key_secret"
    now = datetime.datetime.now()
    _write_key_file(public_file, _PUBLIC_BANNER.format(now), public_key, metadata=metadata)
    _write_key_file(secret_file, _SECRET_BANNER.format(now), public_key, secret_key=secret_key, metadata=metadata)
    return public_file, secret_file


def _zpl_value(raw: bytes) -> bytes:
    """The value after ``=``: quoted ('...' or "...") up to its closing quote, else up to a comment.

    An unquoted value ends at whitespace followed by ``#`` (a trailing comment), not at any ``#``:
    ``#`` is one of Z85's symbols.
    """
    raw = raw.strip()
    if raw[:1] in (b'"', b"'"):
        end = raw.find(raw[:1], 1)
        return raw[1:end] if end > 0 else raw[1:].strip()
    return re.split(rb"\s#", raw, maxsplit=1)[0].strip()


def load_certificate(filename: PathLike) -> Tuple[bytes, Optional[bytes]]:
    """(public key, secret key or None) from a certificate file, both as Z85 bytes.

    Raises :class:`OSError` if the file does not exist and :class:`ValueError` if it holds no public
    key, with pyzmq's messages.
    """
    if not os.path.exists(filename):
        raise OSError(f"Invalid certificate file: {filename}")
    public_key: Optional[bytes] = None
    secret_key: Optional[bytes] = None
    with open(filename, "rb") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(b"#") or b"=" not in line:
                continue
            name, _, value = line.partition(b"=")
            name = name.strip()
            if name == b"public-key":
                public_key = _zpl_value(value)
            elif name == b"secret-key":
                secret_key = _zpl_value(value)
            if public_key and secret_key:
                break
    if not public_key:
        raise ValueError(f"No public key found in {filename}")
    return public_key, secret_key or None


def load_certificates(directory: PathLike = ".") -> Dict[bytes, bool]:
    """``{public key: True}`` for every ``*.key`` file in ``directory`` (secret files are skipped).

    The shape pyzmq's ``Authenticator.configure_curve`` expects for its allowed-clients table.
    """
    if not os.path.isdir(directory):
        raise OSError(f"Invalid certificate directory: {directory}")
    certs: Dict[bytes, bool] = {}
    for cert_file in sorted(glob.glob(os.path.join(os.fspath(directory), "*.key"))):
        public_key, _ = load_certificate(cert_file)
        certs[public_key] = True
    return certs


__all__ = ["create_certificates", "load_certificate", "load_certificates"]
