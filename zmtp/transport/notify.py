"""Messages a socket makes up itself about its connections (libzmq 4.3.5, draft options).

* HELLO_MSG: ROUTER, DEALER, SERVER and CLIENT send it to every new peer, first, before anything queued
  (other socket types accept the option and ignore it), on tcp, ipc and inproc alike.
* ROUTER_NOTIFY (ROUTER, REP): an empty message from the peer's routing id when a tcp/ipc connection
  completes its handshake (NOTIFY_CONNECT) and when an established one fails (NOTIFY_DISCONNECT);
  libzmq's engine makes these (stream_engine_base_t), so inproc peers and connections we close
  ourselves get none.
* DISCONNECT_MSG: a ROUTER receives it from a peer that accepted through bind() once that peer is gone
  (it left, or we unbound); libzmq's pipe makes it, so inproc too, and never for a peer we connected to
  (that pipe outlives its connections).
* HICCUP_MSG: a DEALER receives it when the connection behind a connect() fails and it will reconnect.

Measured against libzmq 4.3.5 built with the draft API (zeromq.js), see tests/test_socket_options.py;
pyzmq's libzmq wheel is built without the draft API and refuses these options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .owner import Owner

_HELLO_SENDERS = frozenset({"ROUTER", "DEALER", "SERVER", "CLIENT"})
NOTIFY_CONNECT, NOTIFY_DISCONNECT = 1, 2


def hello_message(owner: Owner) -> bytes:
    """The HELLO_MSG ``owner`` sends each new peer (b"" for none)."""
    return owner.options.hello_msg if owner.type_name in _HELLO_SENDERS else b""


def disconnect_message(owner: Owner) -> bytes:
    """The DISCONNECT_MSG a ROUTER receives from a departed bound-side peer (b"" for none)."""
    return owner.options.disconnect_msg if owner.type_name == "ROUTER" else b""


def hiccup_message(owner: Owner) -> bytes:
    """The HICCUP_MSG a DEALER receives when a connect()ed connection fails (b"" for none)."""
    return owner.options.hiccup_msg if owner.type_name == "DEALER" else b""


__all__ = ["hello_message", "disconnect_message", "hiccup_message", "NOTIFY_CONNECT", "NOTIFY_DISCONNECT"]
