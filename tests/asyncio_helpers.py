"""Helpers for the zmtp.asyncio tests: bounded runs, pyzmq peers (sync and asyncio), endpoints."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import zmq

import zmtp

T = TypeVar("T")
#: Every await in these tests is bounded by this (seconds).
WAIT = 5.0


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Run ``coro_fn()`` in a fresh event loop, failing (not hanging) after ``timeout`` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(bounded())


async def bounded(aw: Awaitable[T], what: str, timeout: float = WAIT) -> T:
    """Await ``aw``; a timeout fails the test with ``what`` in the message."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout} s: {what}") from None


def addr(transport: str, tmp_path: Any, name: str = "s") -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{tmp_path}/{name}.ipc"
    return f"inproc://{name}-{id(tmp_path):x}"


def last_endpoint(sock: Any) -> str:
    ep = sock.getsockopt(zmtp.LAST_ENDPOINT)
    return ep.decode() if isinstance(ep, bytes) else str(ep)


def is_pyzmq(sock: Any) -> bool:
    return isinstance(sock, zmq.Socket)
