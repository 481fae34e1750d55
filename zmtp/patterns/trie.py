"""Subscription tables as compressed (radix) tries: libzmq's mtrie_t and trie_t semantics.

libzmq keeps publisher-side subscriptions in an mtrie (src/generic_mtrie_impl.hpp: topic -> set of
pipes) and subscriber-side ones in a trie (src/trie.cpp: topic -> reference count).  Matching a
message walks the trie along the message's first frame, so its cost is the length of the matched
path, whatever the number of topics or of distinct topic lengths.  A table keyed by topic with one
lookup per distinct length (what zmtp did before) costs a slice and a hash per length: a subscriber
announcing topics of 4,096 distinct lengths slowed a PUB of 4 KiB messages ~2,000 times (issue 9 row 7).

Walking one byte per Python step would make the *legitimate* deep path slow, so the trie here is
compressed: each edge carries a byte string, children are keyed by the edge's first byte, and a step
compares a whole edge with ``bytes.startswith`` (C speed).  A match therefore costs one dict lookup
and one C compare per *node* on the path; a node exists only where a topic ends or two topics
diverge, so the node count on any path is at most the number of subscribed topics that are prefixes
of the frame (plus the divergence points), never more than the frame's length.

Memory stays proportional to what was subscribed: removing a topic prunes its node and merges a
value-less node with its only child, so the trie never holds more nodes than twice the topic count.
libzmq puts no limit on topic length or count (a topic is bounded only by the frame size and
ZMQ_MAXMSGSIZE); neither does zmtp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Set, Tuple

if TYPE_CHECKING:
    from .pipe import Pipe

# mtrie_t::rm_result (src/generic_mtrie.hpp)
NOT_FOUND = 0
LAST_VALUE_REMOVED = 1
VALUES_REMAIN = 2


class _Node:
    """One trie node: the edge label from its parent, children by first byte, and its value."""

    __slots__ = ("label", "children", "value")

    def __init__(self, label: bytes) -> None:
        self.label = label
        self.children: Optional[Dict[int, _Node]] = None
        #: mtrie: the set of subscribed pipes; counts trie: True.  None when no topic ends here.
        self.value: Optional[Set[Pipe]] = None


def _common(label: bytes, key: bytes, pos: int) -> int:
    """Length of the common prefix of ``label`` and ``key[pos:]`` (binary search, C compares)."""
    lo, hi = 0, min(len(label), len(key) - pos)
    if key.startswith(label[:hi], pos):
        return hi
    while lo < hi:  # invariant: label[:lo] matches, label[:hi] does not
        mid = (lo + hi + 1) >> 1
        if key.startswith(label[:mid], pos):
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Radix:
    """The structure shared by both tables: insert, exact lookup with its path, and pruning."""

    __slots__ = ("root",)

    def __init__(self) -> None:
        self.root = _Node(b"")

    def _insert(self, key: bytes) -> _Node:
        """The node for ``key``, created (splitting an edge if needed) when missing."""
        node = self.root
        pos = 0
        n = len(key)
        while pos < n:
            children = node.children
            if children is None:
                children = node.children = {}
            first = key[pos]
            child = children.get(first)
            if child is None:
                new = children[first] = _Node(key[pos:])
                return new
            label = child.label
            m = _common(label, key, pos)
            if m == len(label):
                node = child
                pos += m
                continue
            # split the edge: node -> mid (label[:m]) -> child (label[m:])
            mid = _Node(label[:m])
            child.label = label[m:]
            mid.children = {child.label[0]: child}
            children[first] = mid
            pos += m
            if pos == n:
                return mid
            new = mid.children[key[pos]] = _Node(key[pos:])
            return new
        return node

    def _path(self, key: bytes) -> Optional[List[_Node]]:
        """The nodes from the root to ``key``'s node (inclusive), or None when it has no node."""
        node = self.root
        path = [node]
        pos = 0
        n = len(key)
        while pos < n:
            children = node.children
            if children is None:
                return None
            child = children.get(key[pos])
            if child is None or not key.startswith(child.label, pos):
                return None
            pos += len(child.label)
            node = child
            path.append(node)
        return path

    def _prune(self, path: List[_Node]) -> None:
        """``path[-1]`` lost its value: drop or merge it so no value-less chain is left behind."""
        node = path[-1]
        if len(path) == 1:
            return  # the root stays
        parent = path[-2]
        children = node.children
        if not children:
            assert parent.children is not None
            del parent.children[node.label[0]]
            if not parent.children:
                parent.children = None
            if parent.value is None and len(path) > 2:
                self._merge(path[-3], parent)
            return
        if len(children) == 1:
            self._merge(parent, node)

    @staticmethod
    def _merge(parent: _Node, node: _Node) -> None:
        """A value-less non-root ``node`` with one child: splice the child into its place."""
        children = node.children
        if node.value is not None or children is None or len(children) != 1:
            return
        (child,) = children.values()
        child.label = node.label + child.label
        assert parent.children is not None
        parent.children[child.label[0]] = child

    def _walk(self, prefix: bytes = b"") -> Iterator[Tuple[bytes, _Node]]:
        """Every node with a value, as (key, node), in byte order (the order of a trie traversal)."""
        stack: List[Tuple[bytes, _Node]] = [(prefix, self.root)]
        while stack:
            key, node = stack.pop()
            if node.value is not None:
                yield key, node
            if node.children:
                for first in sorted(node.children, reverse=True):
                    child = node.children[first]
                    stack.append((key + child.label, child))


class PipeSubscriptions(_Radix):
    """Publisher-side table: topic -> set of subscribed pipes (libzmq's mtrie_t semantics).

    As in mtrie a pipe is subscribed to a topic or not (no per-pipe count): ``add`` says whether
    the topic got its first subscriber, ``rm`` whether it lost its last one.  The subscriber side
    counts (SUB sends one CANCEL for several SUBSCRIBEs), so the two together behave as counted.
    """

    __slots__ = ("by_pipe", "size")

    def __init__(self) -> None:
        super().__init__()
        #: pipe -> its topics, so a detaching pipe is removed without walking the whole trie.
        self.by_pipe: Dict[Pipe, Set[bytes]] = {}
        #: How many topics have at least one subscriber.
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, topic: bytes, pipe: Pipe) -> bool:
        """Subscribe ``pipe``; True when ``topic`` had no subscriber before."""
        node = self._insert(topic)
        pipes = node.value
        first = pipes is None
        if pipes is None:
            pipes = node.value = set()
            self.size += 1
        pipes.add(pipe)
        mine = self.by_pipe.get(pipe)
        if mine is None:
            mine = self.by_pipe[pipe] = set()
        mine.add(topic)
        return first

    def rm(self, topic: bytes, pipe: Pipe) -> int:
        """Unsubscribe ``pipe``: NOT_FOUND, LAST_VALUE_REMOVED or VALUES_REMAIN."""
        path = self._path(topic)
        if path is None:
            return NOT_FOUND
        node = path[-1]
        pipes = node.value
        if pipes is None or pipe not in pipes:
            return NOT_FOUND
        pipes.discard(pipe)
        mine = self.by_pipe[pipe]
        mine.discard(topic)
        if not mine:
            del self.by_pipe[pipe]
        if pipes:
            return VALUES_REMAIN
        node.value = None
        self.size -= 1
        self._prune(path)
        return LAST_VALUE_REMOVED

    def rm_pipe(self, pipe: Pipe) -> List[Tuple[bytes, bool]]:
        """Drop every subscription of ``pipe``: [(topic, was the last subscriber)], in topic order."""
        removed: List[Tuple[bytes, bool]] = []
        for topic in sorted(self.by_pipe.get(pipe, ())):
            removed.append((topic, self.rm(topic, pipe) == LAST_VALUE_REMOVED))
        return removed

    def topics(self) -> List[bytes]:
        """Every subscribed topic, in byte order."""
        return [key for key, _ in self._walk()]

    def match(self, frame: bytes) -> Optional[Set[Pipe]]:
        """The pipes subscribed to a prefix of ``frame`` (None when none).  Do not mutate the result.

        One dict lookup and one ``startswith`` per node on the path (module docstring).
        """
        node = self.root
        found = node.value
        merged = False
        pos = 0
        n = len(frame)
        while pos < n:
            children = node.children
            if children is None:
                break
            child = children.get(frame[pos])
            if child is None:
                break
            label = child.label
            if not frame.startswith(label, pos):
                break
            pos += len(label)
            node = child
            pipes = child.value
            if pipes is not None:
                if found is None:
                    found = pipes
                elif not merged:
                    found = found | pipes
                    merged = True
                else:
                    found |= pipes
        return found


class TopicCounts(_Radix):
    """Subscriber-side table: topic -> reference count (libzmq's trie_t semantics, src/trie.cpp).

    The counts live in a dict (which also gives the insertion order in which subscriptions are
    re-sent to a new peer); the trie only marks which topics are live, for :meth:`check`.
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        super().__init__()
        self.counts: Dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.counts)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.counts)

    def add(self, topic: bytes) -> bool:
        """Count one more subscription; True when it is the first for ``topic``."""
        count = self.counts.get(topic, 0)
        self.counts[topic] = count + 1
        if not count:
            self._insert(topic).value = _LIVE
        return not count

    def rm(self, topic: bytes) -> bool:
        """Count one subscription less; True when that was the last one (False if none existed)."""
        count = self.counts.get(topic, 0)
        if not count:
            return False
        if count > 1:
            self.counts[topic] = count - 1
            return False
        del self.counts[topic]
        path = self._path(topic)
        assert path is not None
        path[-1].value = None
        self._prune(path)
        return True

    def check(self, frame: bytes) -> bool:
        """True when some subscribed topic is a prefix of ``frame`` (stops at the first one)."""
        node = self.root
        if node.value is not None:
            return True
        pos = 0
        n = len(frame)
        while pos < n:
            children = node.children
            if children is None:
                return False
            child = children.get(frame[pos])
            if child is None:
                return False
            label = child.label
            if not frame.startswith(label, pos):
                return False
            if child.value is not None:
                return True
            pos += len(label)
            node = child
        return False


#: The value a live topic's node holds in a :class:`TopicCounts` trie (any non-None set will do).
_LIVE: Set[Pipe] = set()
