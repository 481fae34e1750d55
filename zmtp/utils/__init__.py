"""Utilities with pyzmq's ``zmq.utils`` names (jsonapi, z85, monitor parsing)."""
