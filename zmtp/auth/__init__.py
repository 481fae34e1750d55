"""Authentication with pyzmq's ``zmq.auth`` API: ZAP handlers (RFC 27) and CURVE certificates.

* :class:`Authenticator` (:mod:`zmtp.auth.base`): pyzmq's policy (allow/deny addresses, PLAIN
  passwords, CURVE certificate folders or :data:`CURVE_ALLOW_ANY`, a CURVE callback);
* :class:`~zmtp.auth.thread.ThreadAuthenticator` in :mod:`zmtp.auth.thread` and
  :class:`~zmtp.auth.asyncio.AsyncioAuthenticator` in :mod:`zmtp.auth.asyncio` run it (imported from
  their modules, as in pyzmq, so that importing ``zmtp.auth`` starts nothing);
* :func:`create_certificates`, :func:`load_certificate`, :func:`load_certificates`: the zcert files
  that libzmq's tools and pyzmq write (:mod:`zmtp.auth.certs`).
"""

from typing import Any

from .base import CURVE_ALLOW_ANY, Authenticator
from .certs import create_certificates, load_certificate, load_certificates


def __getattr__(name: str) -> Any:
    # ThreadAuthenticator / AsyncioAuthenticator on first use, without importing threads or asyncio
    if name == "ThreadAuthenticator":
        from .thread import ThreadAuthenticator

        return ThreadAuthenticator
    if name == "AsyncioAuthenticator":
        from .asyncio import AsyncioAuthenticator

        return AsyncioAuthenticator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Authenticator", "CURVE_ALLOW_ANY", "create_certificates", "load_certificate", "load_certificates"]
