"""Run a pyzmq example unchanged with zmtp standing in for pyzmq.

``python run_as_zmtp.py SCRIPT [ARGS...]`` makes ``import zmq`` (and ``zmq.auth``, ``zmq.auth.thread``,
``zmq.asyncio`` ...) import zmtp's modules of the same names, then runs SCRIPT as ``__main__``.  The
example's source is not touched; only its fixed endpoint is moved: the examples bind ``tcp://*:9000``,
and tests bind to an ephemeral port on 127.0.0.1, so bind/connect map port 9000 to the port given in
``ZMTP_EXAMPLE_PORT`` and ``*`` to 127.0.0.1.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
import types
from typing import Any, Optional, Sequence


class _ZmqAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``zmq[.x.y]`` is ``zmtp[.x.y]``: the same module objects, under both names."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[types.ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname == "zmq" or fullname.startswith("zmq."):
            real = "zmtp" + fullname[3:]
            importlib.import_module(real)  # ImportError here says which zmtp module is missing
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = sys.modules["zmtp" + spec.name[3:]]
        saved = getattr(module, "__spec__", None)
        self._restore = (module, saved)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # importlib stamped the alias spec on the real module; give it its own back
        real, saved = self._restore
        if saved is not None:
            real.__spec__ = saved


def _move_endpoint(addr: Any) -> Any:
    port = os.environ.get("ZMTP_EXAMPLE_PORT")
    if not port or not isinstance(addr, str) or not addr.startswith("tcp://"):
        return addr
    return addr.replace("tcp://*:", "tcp://127.0.0.1:").replace(":9000", f":{port}")


def main(argv: Sequence[str]) -> None:
    sys.meta_path.insert(0, _ZmqAlias())
    import zmtp

    bind, connect = zmtp.Socket.bind, zmtp.Socket.connect

    def moved_bind(self: Any, addr: str) -> Any:
        return bind(self, _move_endpoint(addr))

    def moved_connect(self: Any, addr: str) -> Any:
        return connect(self, _move_endpoint(addr))

    zmtp.Socket.bind = moved_bind  # type: ignore[method-assign]
    zmtp.Socket.connect = moved_connect  # type: ignore[method-assign]
    script = argv[0]
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
