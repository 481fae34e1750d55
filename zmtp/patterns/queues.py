"""Fair-queuing and load-balancing over pipes: libzmq's ``fq_t`` and ``lb_t`` (src/fq.cpp, src/lb.cpp).

Both are O(1) per message however many pipes there are, which is what RFC 28 (section "The DEALER
Socket Type": "SHALL receive incoming messages from its peers using a fair-queuing strategy" / "SHALL
route outgoing messages to available peers using a round-robin strategy") needs at scale:

* :class:`FairQueue` keeps only the pipes that have something to read, in a deque.  A pipe joins when
  its inbound queue goes from empty to non-empty (``pipe_readable``), is rotated to the back after
  each message taken from it (so one chatty peer cannot starve the others), and leaves when empty.
* :class:`LoadBalancer` keeps every pipe in a list whose first ``active`` entries are the pipes believed
  writable; a pipe found full is swapped out of that region, and swapped back in when the transport
  drains it (``pipe_writable``).  Round-robin walks the active region.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, Dict, List, Optional, Tuple

from .pipe import FLUSH_MASK, Message, Pipe


class FairQueue:
    """Round-robin reading over the pipes that have messages (libzmq src/fq.cpp)."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        #: Pipes with a non-empty inbound queue, the next one to read from first.
        self.active: Deque[Pipe] = deque()

    def attach(self, pipe: Pipe) -> None:
        # messages may have arrived before the pattern took the pipe (pipe_readable was not called)
        if pipe.inbound:
            self.active.append(pipe)

    def activated(self, pipe: Pipe) -> None:
        """``pipe.inbound`` went from empty to non-empty."""
        self.active.append(pipe)

    def detach(self, pipe: Pipe) -> None:
        active = self.active
        while True:
            try:
                active.remove(pipe)
            except ValueError:
                return

    def has_in(self) -> bool:
        active = self.active
        while active:
            if active[0].inbound:
                return True
            active.popleft()
        return False

    def recv(self) -> Optional[Message]:
        """The next message, one per pipe in turn; None when no pipe has one."""
        active = self.active
        while active:
            pipe = active[0]
            inbound = pipe.inbound
            if not inbound:  # emptied behind our back (a closing transport): forget it
                active.popleft()
                continue
            msg = pipe.read()
            if inbound:
                active.rotate(-1)
            else:
                active.popleft()
            return msg
        return None

    def recv_many(self, out: Deque[Message], n: int) -> int:
        """Append up to ``n`` messages to ``out``: in bulk while one pipe is active (the common
        single-peer case), one per pipe in turn otherwise; the same pipe notifications as ``read``."""
        active = self.active
        taken = 0
        while active and taken < n:
            if len(active) > 1:
                msg = self.recv()
                if msg is None:
                    break
                out.append(msg)
                taken += 1
                continue
            pipe = active[0]
            inbound = pipe.inbound
            before = len(inbound)
            if not before:
                active.popleft()
                continue
            take = min(before, n - taken)
            if take == before:
                out.extend(inbound)
                inbound.clear()
            else:
                popleft = inbound.popleft
                append = out.append
                for _ in range(take):
                    append(popleft())
            taken += take
            after = before - take
            if after <= pipe.rcvhwm >> 1 < before and pipe.on_inbound_space is not None:
                pipe.on_inbound_space(pipe)
            if not after:
                active.popleft()
                if pipe.closed and pipe.on_drained is not None:
                    pipe.on_drained(pipe)
        return taken

    def recv_pipe(self) -> Optional[Tuple[Message, Pipe]]:
        """As :meth:`recv`, also saying which pipe the message came from (ROUTER, REP, REQ)."""
        active = self.active
        while active:
            pipe = active[0]
            inbound = pipe.inbound
            if not inbound:
                active.popleft()
                continue
            msg = pipe.read()
            if inbound:
                active.rotate(-1)
            else:
                active.popleft()
            if msg is not None:
                return msg, pipe
        return None

    def recv_last(self) -> Optional[Message]:
        """CONFLATE: the newest message of the next pipe, older ones dropped.

        libzmq gives a conflating socket a ``ypipe_conflate`` per peer, which keeps only the last
        message written, so each peer contributes at most its newest message (src/ypipe_conflate.hpp).
        """
        active = self.active
        while active:
            pipe = active.popleft()
            inbound = pipe.inbound
            if not inbound:
                continue
            while len(inbound) > 1:
                pipe.read()
            return pipe.read()
        return None


class LoadBalancer:
    """Round-robin writing over the writable pipes (libzmq src/lb.cpp).

    ``pipes[:active]`` are the pipes believed writable, ``current`` is the next one to use.  A pipe
    is moved out of the active region when found at SNDHWM and back in by :meth:`activated`.
    """

    __slots__ = ("pipes", "index", "active", "current")

    def __init__(self) -> None:
        self.pipes: List[Pipe] = []
        self.index: Dict[Pipe, int] = {}
        self.active = 0
        self.current = 0

    def _swap(self, i: int, j: int) -> None:
        if i != j:
            pipes = self.pipes
            a = pipes[i]
            b = pipes[j]
            pipes[i] = b
            pipes[j] = a
            self.index[b] = i
            self.index[a] = j

    def attach(self, pipe: Pipe) -> None:
        self.index[pipe] = len(self.pipes)
        self.pipes.append(pipe)
        self._swap(self.index[pipe], self.active)
        self.active += 1

    def activated(self, pipe: Pipe) -> None:
        """The transport drained ``pipe`` below SNDHWM: make it eligible again."""
        idx = self.index.get(pipe)
        if idx is not None and idx >= self.active and pipe.writable():
            self._swap(idx, self.active)
            self.active += 1

    def detach(self, pipe: Pipe) -> None:
        idx = self.index.get(pipe)
        if idx is None:
            return
        if idx < self.active:
            self.active -= 1
            self._swap(idx, self.active)
            if self.current == self.active:
                self.current = 0
            idx = self.active
        last = len(self.pipes) - 1
        self._swap(idx, last)
        self.pipes.pop()
        del self.index[pipe]

    def _deactivate_current(self) -> None:
        self.active -= 1
        if self.current < self.active:
            self._swap(self.current, self.active)
        else:
            self.current = 0

    def send(self, msg: Message) -> Optional[Pipe]:
        """Queue ``msg`` on the next writable pipe and return it; None when no pipe can take it."""
        pipes = self.pipes
        while self.active:
            current = self.current
            pipe = pipes[current]
            # Pipe.writable() and Pipe.write() inlined: this is the PUSH/DEALER hot path
            outbound = pipe.outbound
            hwm = pipe.sndhwm
            if (hwm <= 0 or len(outbound) < hwm) and not pipe.closed:
                outbound.append(msg)
                n = len(outbound)
                if (n == 1 or not n & FLUSH_MASK) and pipe.on_outbound is not None:
                    pipe.on_outbound(pipe)
                current += 1
                self.current = 0 if current >= self.active else current
                return pipe
            self._deactivate_current()
        return None

    def has_out(self) -> bool:
        pipes = self.pipes
        while self.active:
            if pipes[self.current].writable():
                return True
            self._deactivate_current()
        return False
