"""RADIO and DISH (RFC 48, RADIO-DISH; libzmq src/radio.cpp, src/dish.cpp).

The thread-safe PUB/SUB with exact-match *groups* instead of prefix topics.

On a pipe a RADIO message is the two frames ``[group, body]``: that is what libzmq's
``radio_session_t::pull_msg`` puts on the wire (the group frame with MORE, then the body) and what
``dish_session_t::push_msg`` expects, so tcp, ipc and inproc carry it unchanged.  DISH sends its
groups as :class:`~zmtp.patterns.pipe.GroupChange` items (JOIN/LEAVE commands) to every peer, and
again to each new one; RADIO learns them through :meth:`Pattern.pipe_group`.

Groups are C strings in libzmq (``msg_t::group ()``, ``zmq_join (const char *)``): at most
``GROUP_MAX_LENGTH`` = 255 bytes (ZMQ_GROUP_MAX_LENGTH in 4.3.5; 15 in 4.2) and cut at the first NUL
byte wherever libzmq compares them; :func:`c_group` does the same here so a misbehaving peer's
``b"a\\x00b"`` behaves as libzmq's ``"a"``.

Misbehaving peers, as libzmq 4.3.5 (verified against it through zeromq.js):

* a DISH receiving anything but exactly ``[group (<= 255 bytes), body]`` drops the connection
  (``dish_session_t::push_msg`` fails with EFAULT and the engine closes); earlier messages stay.
* a RADIO receiving a JOIN/LEAVE whose group is longer than 255 bytes *aborts the process*
  (radio.cpp ``errno_assert`` after ``msg_t::set_group``); we drop that connection instead.
* a RADIO discards data messages from dishes (RFC 48 "SHALL silently discard any messages that
  dishes send it").  JOINs are counted per peer (libzmq keeps a multimap: two JOINs need two LEAVEs),
  so a flood of JOINs costs a counter, not memory.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set

from ..constants import Errno
from ..error import ZMQError
from ..options import Options
from ._common import not_supported
from ._single import SingleReceiver, single_frame
from .base import Pattern
from .pipe import GroupChange, Message, Pipe, SingleMessage

#: libzmq 4.3.5 ZMQ_GROUP_MAX_LENGTH (zmq_draft.h); RFC 48 "Length MUST be between 0 to 255 bytes".
GROUP_MAX_LENGTH = 255


def c_group(group: bytes) -> bytes:
    """``group`` as libzmq sees it: a C string, so cut at the first NUL byte."""
    nul = group.find(0)
    return group if nul < 0 else group[:nul]


def _checked_group(group: bytes) -> bytes:
    """An application's group: EINVAL when too long (``zmq_msg_set_group``, ``zmq_join``)."""
    group = bytes(group)
    if len(group) > GROUP_MAX_LENGTH:
        raise ZMQError(Errno.EINVAL, f"a group has at most {GROUP_MAX_LENGTH} bytes")
    return c_group(group)


class Radio(Pattern):
    """RFC 48 "The RADIO Socket Type" (src/radio.cpp).

    send: to every peer that joined the message's group, and to every ``subscribe_to_all`` pipe
    (UDP); a peer at SNDHWM misses the message (RFC 48 "SHALL silently drop ... SHALL NOT block").
    With XPUB_NODROP (libzmq accepts it on RADIO since 4.2.4, radio.cpp ``xsetsockopt``) the send
    instead returns False (EAGAIN) when any such peer is full, and nothing is sent.  POLLOUT is
    always true (``dist.has_out``).  recv: ENOTSUP.
    """

    socket_type_name = "RADIO"
    thread_safe = True

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        #: group -> {pipe: number of JOINs not yet LEAVEd}
        self._groups: Dict[bytes, Dict[Pipe, int]] = {}
        #: pipe -> its groups, so a detaching pipe is removed without scanning every group
        self._joined: Dict[Pipe, Set[bytes]] = {}
        self._udp: List[Pipe] = []

    def attach(self, pipe: Pipe) -> bool:
        super().attach(pipe)
        if pipe.subscribe_to_all:
            self._udp.append(pipe)
        self._discard_inbound(pipe)
        self.signal()
        return True

    def detach(self, pipe: Pipe) -> None:
        groups = self._groups
        for group in self._joined.pop(pipe, ()):
            members = groups[group]
            del members[pipe]
            if not members:
                del groups[group]
        if pipe in self._udp:
            self._udp.remove(pipe)
        super().detach(pipe)

    def pipe_readable(self, pipe: Pipe) -> None:
        self._discard_inbound(pipe)

    @staticmethod
    def _discard_inbound(pipe: Pipe) -> None:
        # RFC 48: "SHALL silently discard any messages that dishes send it"
        while pipe.read() is not None:
            pass

    def pipe_group(self, pipe: Pipe, group: bytes, join: bool) -> None:
        group = bytes(group)
        if len(group) > GROUP_MAX_LENGTH:
            # libzmq 4.3.5 aborts here (radio.cpp errno_assert); drop the misbehaving peer only
            self.close_pipe(pipe)
            return
        group = c_group(group)
        members = self._groups.get(group)
        if join:
            if members is None:
                members = self._groups[group] = {}
            members[pipe] = members.get(pipe, 0) + 1
            mine = self._joined.get(pipe)
            if mine is None:
                mine = self._joined[pipe] = set()
            mine.add(group)
            return
        if members is None or pipe not in members:
            return  # a LEAVE without a JOIN: radio.cpp finds nothing to erase
        count = members[pipe] - 1
        if count:
            members[pipe] = count
            return
        del members[pipe]
        if not members:
            del self._groups[group]
        mine = self._joined[pipe]
        mine.discard(group)
        if not mine:
            del self._joined[pipe]

    def send(self, msg: Message) -> bool:
        return self.send_single(single_frame(msg))

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        group = _checked_group(group)
        members = self._groups.get(group)
        udp = self._udp
        if members is None and not udp:
            return True
        targets: List[Pipe] = list(members) if members is not None else []
        if udp:
            targets.extend(p for p in udp if p not in targets)
        if self.options.xpub_nodrop:
            for pipe in targets:
                if not pipe.writable() and not pipe.closed:
                    return False
        msg = [group, body]  # shared by every pipe: nobody mutates a queued message
        for pipe in targets:
            if pipe.writable():
                pipe.write(msg)
        return True

    def recv(self) -> Optional[Message]:
        not_supported()

    def recv_single(self) -> Optional[SingleMessage]:
        not_supported()

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return False

    def members(self, group: bytes) -> Set[Pipe]:
        """The pipes that joined ``group`` (for the socket layer's diagnostics and tests)."""
        return set(self._groups.get(group, ()))


class Dish(SingleReceiver):
    """RFC 48 "The DISH Socket Type" (src/dish.cpp).

    recv: fair-queued; a message whose group this DISH has not joined *at the time of the recv* is
    dropped (dish.cpp ``xrecv`` filters on receipt, so a RADIO that does not filter, e.g. over UDP,
    or messages queued before a ``leave`` never reach the application).  send: ENOTSUP, yet POLLOUT
    is always true (dish.cpp ``xhas_out``: "Subscription can be added/removed anytime").
    """

    socket_type_name = "DISH"

    def __init__(self, options: Options, *, id_seed: int = 0) -> None:
        super().__init__(options, id_seed=id_seed)
        #: joined groups, in join order (a dict as an ordered set: re-sent in that order)
        self._groups: Dict[bytes, None] = {}
        #: pipes that sent a malformed message: the transport is closing them; take nothing more
        self._refused: Set[Pipe] = set()

    # -- peers ----------------------------------------------------------------------------------
    def attach(self, pipe: Pipe) -> bool:
        # messages that arrived before the filter was installed are screened here
        inbound = pipe.inbound
        for i, msg in enumerate(inbound):
            if not self._well_formed(msg):
                for _ in range(len(inbound) - i):
                    inbound.pop()
                self._refused.add(pipe)
                break
        pipe.inbound_filter = self._screen
        for group in self._groups:
            pipe.write(GroupChange(group, True))
        ok = super().attach(pipe)
        if pipe in self._refused:
            self.close_pipe(pipe)
        return ok

    def detach(self, pipe: Pipe) -> None:
        pipe.inbound_filter = None
        self._refused.discard(pipe)
        super().detach(pipe)

    @staticmethod
    def _well_formed(msg: Message) -> bool:
        return len(msg) == 2 and len(msg[0]) <= GROUP_MAX_LENGTH

    def _screen(self, pipe: Pipe, msg: Message) -> bool:
        """:attr:`Pipe.inbound_filter`: refuse a malformed message and everything after it."""
        if len(msg) == 2 and len(msg[0]) <= GROUP_MAX_LENGTH and pipe not in self._refused:
            return True
        if pipe not in self._refused:
            # dish_session_t::push_msg -> EFAULT -> the engine drops the connection
            self._refused.add(pipe)
            self.close_pipe(pipe)
        return False

    # -- application ----------------------------------------------------------------------------
    def join(self, group: bytes) -> None:
        """ZMQ join: EINVAL when longer than 255 bytes or already joined (dish.cpp ``xjoin``)."""
        group = _checked_group(group)
        if group in self._groups:
            raise ZMQError(Errno.EINVAL, "already joined")
        self._groups[group] = None
        change = GroupChange(group, True)
        for pipe in self.pipes:
            pipe.write(change)

    def leave(self, group: bytes) -> None:
        """ZMQ leave: EINVAL when longer than 255 bytes or not joined (dish.cpp ``xleave``)."""
        group = _checked_group(group)
        if group not in self._groups:
            raise ZMQError(Errno.EINVAL, "not joined")
        del self._groups[group]
        change = GroupChange(group, False)
        for pipe in self.pipes:
            pipe.write(change)

    @property
    def groups(self) -> List[bytes]:
        """The joined groups, in join order."""
        return list(self._groups)

    def _next(self) -> Optional[SingleMessage]:
        fq = self._fq
        groups = self._groups
        while True:
            got = fq.recv_pipe()
            if got is None:
                return None
            msg, _pipe = got
            group = msg[0]
            if type(group) is not bytes:
                group = bytes(group)
            group = c_group(group)
            if group in groups:
                body = msg[1]
                return SingleMessage(body if type(body) is bytes else bytes(body), 0, group)

    def send(self, msg: Message) -> bool:
        not_supported()

    def send_single(self, body: bytes, routing_id: int = 0, group: bytes = b"") -> bool:
        not_supported()

    def can_send(self) -> bool:
        return True
