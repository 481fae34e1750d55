"""Suite-wide collection rule: when pyzmq (libzmq, the oracle of most tests) is not importable, as on an
interpreter it has no wheel for, the test modules that import it are reported as skipped, with the
reason, instead of failing to import.  With pyzmq present (the CI installs it everywhere it can,
PyPy included) this does nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import pytest

try:
    import zmq  # noqa: F401

    PYZMQ_MISSING: Optional[str] = None
except ImportError as exc:  # pragma: no cover - depends on the interpreter
    PYZMQ_MISSING = f"pyzmq is not installed for this interpreter ({exc}); libzmq is this module's oracle"

_IMPORTS_ZMQ = re.compile(r"^(import zmq\b|from zmq\b)", re.MULTILINE)


class _SkippedModule(pytest.Module):
    def collect(self) -> Any:
        assert PYZMQ_MISSING is not None
        pytest.skip(f"{self.path.name}: {PYZMQ_MISSING}", allow_module_level=True)


def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> Optional[pytest.Module]:
    if PYZMQ_MISSING is None:
        return None
    try:
        source = module_path.read_text(encoding="utf-8")
    except OSError:
        return None
    if _IMPORTS_ZMQ.search(source):
        return _SkippedModule.from_parent(parent, path=module_path)
    return None
