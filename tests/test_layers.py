"""zmtp's layering, checked on the source: imports only go down the layers (protocol -> patterns ->
transport/reactor -> socket core -> API), there is no import cycle (type-only imports included), and no
module reads another object's private attributes."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import zmtp

PKG = Path(zmtp.__file__).resolve().parent

#: (rank, module prefixes): a module may import only modules of its own rank or lower.
RANKS: List[Tuple[int, List[str]]] = [
    (0, ["zmtp.constants", "zmtp.error", "zmtp.options", "zmtp.sockopt", "zmtp.crypto", "zmtp.utils",
         "zmtp.utils.z85", "zmtp.utils.jsonapi", "zmtp.utils.curve"]),
    (1, ["zmtp.protocol"]),
    (2, ["zmtp.patterns"]),
    (3, ["zmtp.reactor", "zmtp.transport"]),
    (4, ["zmtp.core", "zmtp.engine", "zmtp.zap", "zmtp.monitor"]),
    (5, ["zmtp.message", "zmtp.socket", "zmtp.context", "zmtp.poll", "zmtp.proxy", "zmtp.asyncio",
         "zmtp.eventloop", "zmtp.devices", "zmtp.log", "zmtp.auth", "zmtp.utils.monitor"]),
    (6, ["zmtp", "zmtp.cli", "zmtp.tools", "zmtp.__main__"]),
]

#: Private names that are pyzmq's documented subclassing hooks, read on classes by design.
PYZMQ_HOOKS = {"_socket_class", "_poller_class", "_instance", "_instance_pid", "_instance_lock"}


def modules() -> Dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODS = modules()


def _imports(name: str, path: Path) -> Set[str]:
    """Every zmtp module ``name`` imports, at run time or for type checking only."""
    out: Set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODS]
            targets = subs if subs else ([module] if node.module else [])
        for target in targets:
            while target and target not in MODS:
                target = target.rpartition(".")[0]
            if target.startswith("zmtp") and target != name:
                out.add(target)
    return out


EDGES = {name: _imports(name, path) for name, path in MODS.items()}


def rank(name: str) -> Optional[int]:
    best: Optional[Tuple[int, int]] = None
    for r, prefixes in RANKS:
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (r, len(prefix))
    return None if best is None else best[0]


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODS if rank(m) is None] == []


def test_imports_only_go_down() -> None:
    up = [(a, b) for a, bs in EDGES.items() for b in bs if rank(b) > rank(a)]  # type: ignore[operator]
    assert up == []


def test_no_import_cycle() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    cycles: List[List[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in EDGES[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in MODS:
        if v not in index:
            strong(v)
    assert cycles == []


def test_no_private_attributes_of_other_objects() -> None:
    """``obj._name`` only on ``self``/``cls``/``super()``, on a class of the same module or a base one of
    them extends (its own hooks), or for pyzmq's documented class-level hooks."""
    found = defaultdict(list)
    for name, path in MODS.items():
        tree = ast.parse(path.read_text())
        classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        # our own classes and the bases they extend (a subclass calls its base's hooks)
        local_classes = {c.name for c in classes} | {b.id for c in classes for b in c.bases if isinstance(b, ast.Name)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__") or attr in PYZMQ_HOOKS:
                continue
            base = node.value
            if isinstance(base, ast.Name) and (base.id in ("self", "cls") or base.id in local_classes):
                continue
            if isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                continue
            found[name].append(f"{ast.unparse(node)} (line {node.lineno})")
    # same-class peers: a context reading the context it shadows, an asyncio socket another one
    # (and a device mixin calling the base device's static helper, as pyzmq's devices do)
    allowed = {("zmtp.context", "other._options"), ("zmtp.context", "other._sockets"),
               ("zmtp.asyncio", "s._get_loop"), ("zmtp.devices.proxysteerabledevice", "Device._configure")}
    bad = {m: [x for x in xs if (m, x.split(" (")[0]) not in allowed] for m, xs in found.items()}
    assert {m: xs for m, xs in bad.items() if xs} == {}
