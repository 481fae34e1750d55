"""Helpers outside the protocol core, named as in pyzmq's ``zmq.utils`` (``from zmtp.utils import z85``)."""
