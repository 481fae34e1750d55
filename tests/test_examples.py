"""Every script in examples/ runs to completion by itself, quickly."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
EXPECTED = {
    "reqrep.py": "Hello, client #4!",
    "pubsub.py": "[sport subscriber] sport.football",
    "pipeline.py": "sum of squares: 8555 (expected 8555 )",
    "broker.py": "client-2 request 2 handled by worker-",
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                          timeout=30, cwd=str(EXAMPLES.parent))
    assert proc.returncode == 0, proc.stderr
    assert EXPECTED[name] in proc.stdout
    assert "Traceback" not in proc.stderr
