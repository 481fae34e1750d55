"""Make ``import zmq`` give zmtp, so unmodified pyzmq programs (jupyter_client, ipykernel, pyzmq's
examples) run on zmtp.

Import this module and call :func:`install` before anything imports zmq, or run a program through it:

    python tests/zmtp_as_zmq.py -m ipykernel_launcher -f kernel.json
    python tests/zmtp_as_zmq.py path/to/script.py args...

It maps ``zmq`` and the submodules those programs import (``zmq.asyncio``, ``zmq.eventloop.zmqstream``,
``zmq.utils.jsonapi``, ``zmq.log.handlers``, ``zmq.devices``, ``zmq.error``, and ``zmq.sugar.socket``
for the annotations jupyter_client evaluates) to their zmtp counterparts.  It refuses to run when the
real pyzmq was imported first: the program would then silently mix both.
"""

from __future__ import annotations

import runpy
import sys
import types

#: Set in the environment of a kernel started through this launcher; a test can check it.
MARKER = "ZMTP_AS_ZMQ"


def install() -> None:
    """Alias ``zmq`` (and its submodules) to zmtp in ``sys.modules``."""
    existing = sys.modules.get("zmq")
    if existing is not None and not getattr(existing, "__name__", "").startswith("zmtp"):
        raise RuntimeError("the real pyzmq is already imported: install() must run first")
    import zmtp
    import zmtp.asyncio
    import zmtp.constants
    import zmtp.devices
    import zmtp.error
    import zmtp.log
    import zmtp.log.handlers
    import zmtp.utils
    import zmtp.utils.jsonapi

    mods = {
        "zmq": zmtp,
        "zmq.asyncio": zmtp.asyncio,
        "zmq.constants": zmtp.constants,
        "zmq.error": zmtp.error,
        "zmq.devices": zmtp.devices,
        "zmq.log": zmtp.log,
        "zmq.log.handlers": zmtp.log.handlers,
        "zmq.utils": zmtp.utils,
        "zmq.utils.jsonapi": zmtp.utils.jsonapi,
    }
    try:
        import zmtp.eventloop
        import zmtp.eventloop.future
        import zmtp.eventloop.ioloop
        import zmtp.eventloop.zmqstream
    except ImportError:  # no tornado: zmq.eventloop stays missing, as it would with pyzmq
        pass
    else:
        mods.update({
            "zmq.eventloop": zmtp.eventloop,
            "zmq.eventloop.zmqstream": zmtp.eventloop.zmqstream,
            "zmq.eventloop.ioloop": zmtp.eventloop.ioloop,
            "zmq.eventloop.future": zmtp.eventloop.future,
        })
    # pyzmq's internal layout, for code that names zmq.sugar.socket.Socket in (evaluated) annotations
    sugar = types.ModuleType("zmq.sugar")
    sugar_socket = types.ModuleType("zmq.sugar.socket")
    sugar_socket.Socket = zmtp.Socket  # type: ignore[attr-defined]
    sugar_context = types.ModuleType("zmq.sugar.context")
    sugar_context.Context = zmtp.Context  # type: ignore[attr-defined]
    sugar.socket = sugar_socket  # type: ignore[attr-defined]
    sugar.context = sugar_context  # type: ignore[attr-defined]
    mods.update({"zmq.sugar": sugar, "zmq.sugar.socket": sugar_socket, "zmq.sugar.context": sugar_context})
    if not hasattr(zmtp, "sugar"):
        zmtp.sugar = sugar  # type: ignore[attr-defined]
    if not hasattr(zmtp, "curve_keypair"):
        from zmtp.utils.curve import curve_keypair, curve_public

        zmtp.curve_keypair = curve_keypair  # type: ignore[attr-defined]
        zmtp.curve_public = curve_public  # type: ignore[attr-defined]
    sys.modules.update(mods)


def main(argv: list[str]) -> None:
    """``-m module args...`` or ``script args...``, run as ``__main__`` with zmq aliased to zmtp."""
    import os

    os.environ[MARKER] = "1"
    install()
    if len(argv) >= 2 and argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")
    else:
        raise SystemExit("usage: zmtp_as_zmq.py (-m module | script) [args...]")


if __name__ == "__main__":
    main(sys.argv[1:])
