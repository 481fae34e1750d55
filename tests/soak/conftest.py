"""Print the soak table (zmtp's figure, libzmq's, the verdict) at the end of a pytest run that ran rows."""

from __future__ import annotations

from typing import Any

from .core import RESULTS, table
from .rows import ALL


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("zmtp fault and soak figures (issue 9)")
    for line in table(ALL, RESULTS):
        terminalreporter.write_line(line)
