"""The subscription tries (zmtp.patterns.trie) against a naive model: every prefix scanned."""

from __future__ import annotations

from typing import Dict, List, Set, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from zmtp.patterns import Pipe
from zmtp.patterns.trie import (
    LAST_VALUE_REMOVED,
    NOT_FOUND,
    VALUES_REMAIN,
    PipeSubscriptions,
    TopicCounts,
    _Node,
    _Radix,
)

# small alphabets make shared prefixes, edge splits and merges likely
topics_st = st.binary(max_size=6).map(lambda b: bytes(x % 3 for x in b))
frames_st = st.binary(max_size=8).map(lambda b: bytes(x % 3 for x in b))


def node_count(trie: _Radix) -> int:
    count = 0
    stack: List[_Node] = [trie.root]
    while stack:
        node = stack.pop()
        count += 1
        if node.children:
            stack.extend(node.children.values())
    return count


def check_shape(trie: _Radix) -> None:
    """Invariants: edges start with their key byte; a value-less non-root node has >= 2 children."""
    stack: List[_Node] = [trie.root]
    while stack:
        node = stack.pop()
        assert node.children is None or node.children, "an emptied children dict is dropped"
        if node is not trie.root:
            assert node.label
            assert node.value is not None or (node.children is not None and len(node.children) >= 2)
        for first, child in (node.children or {}).items():
            assert child.label[0] == first
            stack.append(child)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(st.tuples(st.integers(0, 3), topics_st, st.sampled_from(["add", "rm", "rm_pipe"])),
                 max_size=40),
    frames=st.lists(frames_st, max_size=20),
)
def test_mtrie_matches_naive(ops: List[Tuple[int, bytes, str]], frames: List[bytes]) -> None:
    pipes = [Pipe() for _ in range(4)]
    trie = PipeSubscriptions()
    model: Dict[bytes, Set[Pipe]] = {}
    for idx, topic, op in ops:
        pipe = pipes[idx]
        if op == "add":
            first = not model.get(topic)
            assert trie.add(topic, pipe) == first
            model.setdefault(topic, set()).add(pipe)
        elif op == "rm":
            have = model.get(topic, set())
            if pipe not in have:
                expected = NOT_FOUND
            else:
                have.discard(pipe)
                expected = VALUES_REMAIN if have else LAST_VALUE_REMOVED
                if not have:
                    del model[topic]
            assert trie.rm(topic, pipe) == expected
        else:
            mine = sorted(t for t, ps in model.items() if pipe in ps)
            expected_removed = []
            for t in mine:
                model[t].discard(pipe)
                expected_removed.append((t, not model[t]))
                if not model[t]:
                    del model[t]
            assert trie.rm_pipe(pipe) == expected_removed
        check_shape(trie)
        assert len(trie) == len(model)
        assert trie.topics() == sorted(model)
        # memory bound: at most two nodes per live topic, plus the root
        assert node_count(trie) <= 2 * len(model) + 1
    for frame in frames:
        want: Set[Pipe] = set()
        for t, ps in model.items():
            if frame.startswith(t):
                want |= ps
        got = trie.match(frame)
        assert (got or set()) == want
        assert (got is None) == (not want)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), topics_st), max_size=40),
    frames=st.lists(frames_st, max_size=20),
)
def test_counts_trie_matches_naive(ops: List[Tuple[bool, bytes]], frames: List[bytes]) -> None:
    trie = TopicCounts()
    model: Dict[bytes, int] = {}
    for add, topic in ops:
        if add:
            assert trie.add(topic) == (not model.get(topic))
            model[topic] = model.get(topic, 0) + 1
        else:
            last = model.get(topic) == 1
            assert trie.rm(topic) == last
            if model.get(topic):
                model[topic] -= 1
                if not model[topic]:
                    del model[topic]
        check_shape(trie)
        assert list(trie) == list(model)
        assert node_count(trie) <= 2 * len(model) + 1
    for frame in frames:
        assert trie.check(frame) == any(frame.startswith(t) for t in model)


def test_mtrie_long_and_nested_topics() -> None:
    """Topics of thousands of distinct lengths, nested and not: exact results, compact trie."""
    trie = PipeSubscriptions()
    a, b = Pipe(), Pipe()
    msg = bytes(range(256)) * 16
    for k in range(1, 4097, 7):
        trie.add(msg[:k], a)
    trie.add(b"\xff" * 300, b)
    assert trie.match(msg) == {a}
    assert trie.match(b"\xff" * 299) is None
    assert trie.match(b"\xff" * 301) == {b}
    assert trie.match(b"") is None
    trie.add(b"", b)
    assert trie.match(b"") == {b}
    assert trie.match(msg) == {a, b}
    removed = trie.rm_pipe(a)
    assert len(removed) == len(range(1, 4097, 7)) and all(last for _, last in removed)
    assert trie.match(msg) == {b}
    assert node_count(trie) == 2  # root (b"") and b"\xff" * 300
    check_shape(trie)
