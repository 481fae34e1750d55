"""Authentication helpers with pyzmq's ``zmq.auth`` names.

So far the certificate files (:mod:`zmtp.auth.certs`); the ZAP authenticators (RFC 27) join them once
the engine can bind the handler.
"""

from .certs import create_certificates, load_certificate, load_certificates

__all__ = ["create_certificates", "load_certificate", "load_certificates"]
