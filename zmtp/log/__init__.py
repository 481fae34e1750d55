"""Logging over ZeroMQ: :mod:`zmtp.log.handlers` (``PUBHandler``, ``TopicLogger``), as pyzmq's ``zmq.log``."""
