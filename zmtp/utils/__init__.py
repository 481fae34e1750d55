"""Utilities with pyzmq's ``zmq.utils`` names (jsonapi, z85, monitor parsing), plus the CURVE key
helpers in :mod:`zmtp.utils.curve` (``curve_keypair``, ``curve_public``, ``curve_key``)."""
