"""Devices: proxies run in the background, as pyzmq's ``zmq.devices`` (``ThreadDevice``,
``ProcessProxy``, ``ThreadProxySteerable``, ``MonitoredQueue`` ...), and ``zmtp.device``."""

from __future__ import annotations

from typing import Any

from ..proxy import proxy
from ..socket import Socket
from . import basedevice, monitoredqueue, monitoredqueuedevice, proxydevice, proxysteerabledevice
from .basedevice import FORWARDER, QUEUE, STREAMER, BackgroundDevice, Device, ProcessDevice, ThreadDevice
from .monitoredqueue import monitored_queue
from .monitoredqueuedevice import MonitoredQueue, ProcessMonitoredQueue, ThreadMonitoredQueue
from .proxydevice import ProcessProxy, Proxy, ThreadProxy
from .proxysteerabledevice import ProcessProxySteerable, ProxySteerable, ThreadProxySteerable


def device(device_type: int, frontend: Socket[Any], backend: Socket[Any]) -> None:
    """``zmq_device``: since libzmq 3.2 every device type (QUEUE, FORWARDER, STREAMER) is a proxy
    (deprecated in pyzmq in favour of :func:`zmtp.proxy`).  Runs until the context is terminated."""
    if device_type not in (STREAMER, FORWARDER, QUEUE):
        from ..constants import Errno
        from ..error import ZMQError

        raise ZMQError(Errno.EINVAL, f"Invalid device type: {device_type}")
    proxy(frontend, backend)


__all__ = [
    "Device", "ThreadDevice", "ProcessDevice", "BackgroundDevice", "Proxy", "ThreadProxy", "ProcessProxy",
    "ProxySteerable", "ThreadProxySteerable", "ProcessProxySteerable", "MonitoredQueue",
    "ThreadMonitoredQueue", "ProcessMonitoredQueue", "monitored_queue", "device", "proxy",
    "QUEUE", "FORWARDER", "STREAMER",
    "basedevice", "proxydevice", "proxysteerabledevice", "monitoredqueue", "monitoredqueuedevice",
]
