"""Monitored queue devices (pyzmq's ``zmq.devices.monitoredqueuedevice``)."""

from __future__ import annotations

from ..constants import SocketType
from .monitoredqueue import monitored_queue
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy


class MonitoredQueueBase(ProxyBase):
    """A proxy whose monitor copies carry a prefix per direction (``in_prefix`` / ``out_prefix``)."""

    def __init__(self, in_type: int, out_type: int, mon_type: int = SocketType.PUB, in_prefix: bytes = b"in",
                 out_prefix: bytes = b"out") -> None:
        ProxyBase.__init__(self, in_type=in_type, out_type=out_type, mon_type=mon_type)
        self._in_prefix = in_prefix
        self._out_prefix = out_prefix

    def run_device(self) -> None:
        ins, outs, mons = self._setup_sockets()
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class MonitoredQueue(MonitoredQueueBase, Proxy):
    """A queue with a monitor socket; ROUTER on both sides is supported."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy):
    """:class:`MonitoredQueue` in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy):
    """:class:`MonitoredQueue` in a background process."""


__all__ = ["MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue"]
