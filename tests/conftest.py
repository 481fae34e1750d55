"""Suite-wide collection rule: a test module that needs something this interpreter does not have is
reported as skipped, with the reason, instead of failing to import.  With everything present (CPython
with the test extra) this does nothing; under PyPy it skips what cannot run there:

* pyzmq (libzmq, the oracle of most tests) when it has no wheel for the interpreter (it has one for
  PyPy 3.9 today, so this is a safety net);
* the fuzz harness, which measures memory with ``tracemalloc`` (PyPy has none).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest


def _missing(module: str, reason: str) -> Optional[str]:
    """``reason`` if ``module`` cannot be imported here (with why), else None."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{reason} ({exc})"
    return None


#: (what a test module's source says when it needs it, why it cannot run when that is missing)
_NEEDS: List[Tuple[re.Pattern[str], Optional[str]]] = [
    (re.compile(r"^(import zmq\b|from zmq\b)", re.MULTILINE),
     _missing("zmq", "pyzmq is not installed for this interpreter; libzmq is this module's oracle")),
    (re.compile(r"^\s*(from fuzz\.harness import|import fuzz\.harness)", re.MULTILINE),
     _missing("_tracemalloc", "the fuzz harness measures memory with tracemalloc, which this interpreter "
                              "(PyPy) does not have")),
]

class _SkippedModule(pytest.Module):
    reason = ""

    def collect(self) -> Any:
        pytest.skip(f"{self.path.name}: {self.reason}", allow_module_level=True)


def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> Optional[pytest.Module]:
    active = [(pattern, reason) for pattern, reason in _NEEDS if reason is not None]
    if not active:
        return None
    try:
        source = module_path.read_text(encoding="utf-8")
    except OSError:
        return None
    for pattern, reason in active:
        if pattern.search(source):
            module = _SkippedModule.from_parent(parent, path=module_path)
            module.reason = reason or ""
            return module
    return None


#: Tests whose oracle is a pyzmq feature its cffi backend (the one pyzmq uses on PyPy) lacks or does
#: differently from its Cython backend (CPython); zmtp's side of each is checked on CPython.
_NEEDS_CYTHON_PYZMQ = {
    "tests/test_security.py::test_message_properties_match_libzmq":
        "pyzmq's cffi backend has no Frame.get (NotImplementedError): no libzmq message properties to compare",
    "tests/test_security_zap.py::test_zap_request_frames_and_admission_as_libzmq":
        "pyzmq's cffi backend has no Frame.get, which its ZAP handler needs for User-Id",
    "tests/test_security_zap.py::test_plain_passwords[pyzmq]":
        "pyzmq's authenticator needs Frame.get, which its cffi backend lacks",
    "tests/test_security_zap.py::test_pyzmq_authenticator_judges_zmtp_clients":
        "pyzmq's authenticator needs Frame.get, which its cffi backend lacks",
    "tests/test_z85.py::test_curve_public_bad_length_is_a_value_error_as_in_pyzmq":
        "pyzmq's cffi backend raises ZMQError where its Cython backend raises ValueError",
}
#: Tests that rely on CPython freeing an object the moment its last reference goes (PyPy frees at GC).
_NEEDS_REFCOUNTING = {
    "tests/soak/test_engine_faults.py::test_closed_streams_are_not_cyclic_garbage":
        "PyPy has no reference counting (nor gc.set_debug): every object waits for its GC, so 'left to "
        "the cycle collector' means nothing there",
    "tests/soak/test_engine_faults.py::test_closed_raw_connections_are_not_cyclic_garbage":
        "PyPy has no reference counting (nor gc.set_debug): every object waits for its GC, so 'left to "
        "the cycle collector' means nothing there",
    "tests/test_asyncio.py::test_sugar_round_trips_inproc":
        "a MessageTracker is done when zmtp drops the message, which PyPy's GC notices only later",
}


def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    import platform

    pypy = platform.python_implementation() == "PyPy"
    try:
        import zmq

        cffi_pyzmq = "cffi" in zmq.backend.Socket.__module__
    except ImportError:
        cffi_pyzmq = False
    if not (pypy or cffi_pyzmq):
        return
    for item in items:
        table = [(_NEEDS_CYTHON_PYZMQ, cffi_pyzmq), (_NEEDS_REFCOUNTING, pypy)]
        for known, applies in table:
            if not applies:
                continue
            for prefix, reason in known.items():
                if item.nodeid == prefix or item.nodeid.startswith(prefix + "["):
                    item.add_marker(pytest.mark.skip(reason=reason))
