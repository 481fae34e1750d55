"""The ZAP handler (RFC 27) with pyzmq's ``zmq.auth.Authenticator`` API.

An :class:`Authenticator` binds a REP socket at ``inproc://zeromq.zap.01`` in its context: from then on
every PLAIN and CURVE connection of that context's sockets (and NULL ones whose socket has a
ZAP_DOMAIN) is judged here before its handshake finishes (:mod:`zmtp.zap` sends the requests).  The
policy is pyzmq's, so programs written for ``zmq.auth`` behave the same:

* addresses: :meth:`Authenticator.allow` (only these) or :meth:`Authenticator.deny` (all but these),
  never both; an address refused here is refused whatever the mechanism;
* NULL: admitted unless the address is refused;
* PLAIN: the username/password pairs of :meth:`Authenticator.configure_plain` for the request's domain
  (``"*"`` when the socket set none);
* CURVE: the client's long-term public key must be in the certificate folder of
  :meth:`Authenticator.configure_curve` (or anything, with :data:`CURVE_ALLOW_ANY`), or be accepted by
  the ``callback(domain, z85_key)`` of :meth:`Authenticator.configure_curve_callback`;
* the reply's User-Id is the PLAIN username, or the Z85 client key for CURVE (:meth:`curve_user_id`),
  and reaches the application through ``Frame.get("User-Id")`` of that peer's messages.

Refusals are status 400 with a reason text (libzmq turns it into an ERROR "400" to the client, which
reports HANDSHAKE_FAILED_AUTH 400).  This class does not run by itself: :class:`ThreadAuthenticator`
(:mod:`zmtp.auth.thread`) and :class:`AsyncioAuthenticator` (:mod:`zmtp.auth.asyncio`) drive it.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from ..constants import SocketType
from ..utils import z85
from .certs import load_certificates

#: ``configure_curve(location=CURVE_ALLOW_ANY)``: admit every CURVE client that completes the
#: handshake (the server still proves its key; the client's is not checked).
CURVE_ALLOW_ANY = "*"
#: The ZAP version this handler speaks (RFC 27 section 2.2).
VERSION = b"1.0"
#: Where a ZAP handler binds (RFC 27).
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class Authenticator:
    """A ZAP handler with pyzmq's policy and API; see the module docstring.

    ``context`` is the zmtp context whose sockets it judges (default: ``Context.instance()``),
    ``encoding`` decodes domains, addresses and PLAIN credentials, ``log`` is a ``logging.Logger``
    (default ``zmtp.auth``).  :meth:`start` binds the ZAP socket, :meth:`handle_zap_message` answers one
    request (a coroutine, as in pyzmq, so a CURVE callback may be async).
    """

    def __init__(self, context: Any = None, encoding: str = "utf-8", log: Any = None) -> None:
        from ..context import Context

        self.context: Any = context or Context.instance()
        self.encoding = encoding
        self.allow_any = False
        #: Domain -> object with ``callback(domain, z85_key) -> bool`` (or an awaitable of one).
        self.credentials_providers: Dict[str, Any] = {}
        self.zap_socket: Any = None
        self._allowed: Set[str] = set()
        self._denied: Set[str] = set()
        #: Domain -> {username: password}.
        self.passwords: Dict[str, Dict[str, str]] = {}
        #: Domain -> {z85 public key: True} (what :func:`load_certificates` returns).
        self.certs: Dict[str, Dict[bytes, Any]] = {}
        self.log: Any = log or logging.getLogger("zmtp.auth")

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the ZAP socket (a REP at ``inproc://zeromq.zap.01``): the context now asks us."""
        from ..socket import Socket

        # a plain (blocking-API) socket even in an asyncio context, as pyzmq's socket_class=zmq.Socket
        self.zap_socket = self.context.socket(SocketType.REP, socket_class=Socket)
        self.zap_socket.linger = 1
        self.zap_socket.bind(ZAP_ENDPOINT)
        self.log.debug("Starting")

    def stop(self) -> None:
        """Close the ZAP socket: new connections are judged as without a handler again."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    # -- policy ----------------------------------------------------------------------------------
    def allow(self, *addresses: str) -> None:
        """Admit only these IP addresses (then each mechanism still authenticates the peer).

        Exclusive with :meth:`deny` (ValueError), as in pyzmq.
        """
        if self._denied:
            raise ValueError("Only use allow or deny, not both")
        self.log.debug("Allowing %s", ",".join(addresses))
        self._allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse these IP addresses; others go on to authenticate.  Exclusive with :meth:`allow`."""
        if self._allowed:
            raise ValueError("Only use a allow or deny, not both")
        self.log.debug("Denying %s", ",".join(addresses))
        self._denied.update(addresses)

    def configure_plain(self, domain: str = "*", passwords: Optional[Dict[str, str]] = None) -> None:
        """PLAIN: the username -> password table for ``domain`` (``"*"``: sockets without ZAP_DOMAIN)."""
        if passwords:
            self.passwords[domain] = passwords
        self.log.debug("Configure plain: %s", domain)

    def configure_curve(self, domain: str = "*", location: Union[str, os.PathLike[str]] = ".") -> None:
        """CURVE: admit the public keys of the certificates in the folder ``location`` for ``domain``,
        or every client with ``location=CURVE_ALLOW_ANY``.

        The folder is read now; call again after adding or removing certificates (pyzmq's contract).
        A folder that cannot be read is logged and admits nobody.
        """
        self.log.debug("Configure curve: %s[%s]", domain, location)
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        try:
            self.certs[domain] = load_certificates(location)
        except Exception as exc:
            self.log.error("Failed to load CURVE certs from %s: %s", location, exc)

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """CURVE: ask ``credentials_provider.callback(domain, z85_key)`` about each client key
        (it may return an awaitable)."""
        self.allow_any = False
        if credentials_provider is not None:
            self.credentials_providers[domain] = credentials_provider
        else:
            self.log.error("None credentials_provider provided for domain:%s", domain)

    def configure_gssapi(self, domain: str = "*", location: Optional[str] = None) -> None:
        """GSSAPI (RFC 38) is not implemented by zmtp: a socket cannot even ask for it, so configuring
        it is an error rather than a silent no-op (pyzmq accepts it because libzmq may have it)."""
        raise NotImplementedError("zmtp has no GSSAPI mechanism")

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id of an admitted CURVE client: its Z85 public key (override to map keys to names)."""
        return z85.encode(client_public_key).decode("ascii")

    # -- requests --------------------------------------------------------------------------------
    async def handle_zap_message(self, msg: List[bytes]) -> None:
        """Answer one ZAP request (the REP socket's frames, without the envelope): RFC 27 section 2.2.

        Frames: version, request id, domain, address, identity, mechanism, credentials...  A request
        with too few frames or another version is answered 400 when it has a request id.
        """
        if len(msg) < 6:
            self.log.error("Invalid ZAP message, not enough frames: %r", msg)
            if len(msg) < 2:
                self.log.error("Not enough information to reply")
            else:
                self._send_zap_reply(msg[1], b"400", b"Not enough frames")
            return
        version, request_id, raw_domain, raw_address, identity, mechanism = msg[:6]
        credentials = msg[6:]
        domain = raw_domain.decode(self.encoding, "replace")
        address = raw_address.decode(self.encoding, "replace")
        if version != VERSION:
            self.log.error("Invalid ZAP version: %r", msg)
            self._send_zap_reply(request_id, b"400", b"Invalid version")
            return
        self.log.debug(
            "version: %r, request_id: %r, domain: %r, address: %r, identity: %r, mechanism: %r",
            version, request_id, domain, address, identity, mechanism,
        )
        allowed, denied, reason = self._judge_address(address)
        username = "anonymous"
        if not denied:
            if mechanism == b"NULL" and not allowed:
                allowed = True  # NULL: admitted unless the address is refused
            elif mechanism == b"PLAIN":
                if len(credentials) != 2:
                    self.log.error("Invalid PLAIN credentials: %r", credentials)
                    self._send_zap_reply(request_id, b"400", b"Invalid credentials")
                    return
                username, password = (c.decode(self.encoding, "replace") for c in credentials)
                allowed, reason = self._authenticate_plain(domain, username, password)
            elif mechanism == b"CURVE":
                if len(credentials) != 1:
                    self.log.error("Invalid CURVE credentials: %r", credentials)
                    self._send_zap_reply(request_id, b"400", b"Invalid credentials")
                    return
                key = credentials[0]
                allowed, reason = await self._authenticate_curve(domain, key)
                if allowed:
                    username = self.curve_user_id(key)
            elif mechanism != b"NULL":
                allowed, reason = False, b"Unsupported mechanism"
        if allowed:
            self._send_zap_reply(request_id, b"200", b"OK", username)
        else:
            self._send_zap_reply(request_id, b"400", reason)

    def _judge_address(self, address: str) -> Tuple[bool, bool, bytes]:
        """(allowed, denied, reason) from the address lists alone."""
        if self._allowed:
            if address in self._allowed:
                self.log.debug("PASSED (allowed) address=%s", address)
                return True, False, b"NO ACCESS"
            self.log.debug("DENIED (not allowed) address=%s", address)
            return False, True, b"Address not allowed"
        if self._denied:
            if address in self._denied:
                self.log.debug("DENIED (denied) address=%s", address)
                return False, True, b"Address denied"
            self.log.debug("PASSED (not denied) address=%s", address)
            return True, False, b"NO ACCESS"
        return False, False, b"NO ACCESS"

    def _authenticate_plain(self, domain: str, username: str, password: str) -> Tuple[bool, bytes]:
        if not self.passwords:
            self.log.debug("DENIED (PLAIN) No passwords defined")
            return False, b"No passwords defined"
        table = self.passwords.get(domain or "*")
        if table is None:
            return False, b"Invalid domain"
        if username not in table:
            return False, b"Invalid username"
        if password != table[username]:
            return False, b"Invalid password"
        self.log.debug("ALLOWED (PLAIN) domain=%s username=%s", domain, username)
        return True, b""

    async def _authenticate_curve(self, domain: str, client_key: bytes) -> Tuple[bool, bytes]:
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        domain = domain or "*"
        z85_key = z85.encode(client_key)
        if self.credentials_providers:
            provider = self.credentials_providers.get(domain)
            if provider is None:
                return False, b"Unknown domain"
            verdict = provider.callback(domain, z85_key)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            self.log.debug("%s (CURVE auth_callback) domain=%s client_key=%s",
                           "ALLOWED" if verdict else "DENIED", domain, z85_key)
            return (True, b"OK") if verdict else (False, b"Unknown key")
        keys = self.certs.get(domain)
        if keys is None:
            return False, b"Unknown domain"
        if keys.get(z85_key):
            self.log.debug("ALLOWED (CURVE) domain=%s client_key=%s", domain, z85_key)
            return True, b"OK"
        self.log.debug("DENIED (CURVE) domain=%s client_key=%s", domain, z85_key)
        return False, b"Unknown key"

    def _send_zap_reply(
        self, request_id: bytes, status_code: bytes, status_text: bytes, user_id: str = "anonymous"
    ) -> None:
        """Reply: version, request id, status code, status text, user id (only for 200), metadata."""
        uid = user_id.encode(self.encoding, "replace") if status_code == b"200" else b""
        self.log.debug("ZAP reply code=%s text=%s", status_code, status_text)
        self.zap_socket.send_multipart([VERSION, request_id, status_code, status_text, uid, b""])


__all__ = ["Authenticator", "CURVE_ALLOW_ANY", "VERSION", "ZAP_ENDPOINT"]
