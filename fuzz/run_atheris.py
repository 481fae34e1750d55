"""Coverage-guided fuzzing of zmtp.protocol with atheris (``pip install atheris``).

    PYTHONPATH=. python fuzz/run_atheris.py -max_total_time=300 fuzz/corpus

Any exception other than the core's RemoteProtocolError, and any broken invariant (fuzz/harness.py),
stops the run and leaves a ``crash-*`` file with the input; turn it into a test in
tests/test_fuzz_regressions.py.  Without atheris, tests/test_fuzz_harness.py runs the same target under
Hypothesis.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import atheris  # noqa: E402

with atheris.instrument_imports():
    import zmtp.protocol  # noqa: F401
    from fuzz.harness import check  # noqa: E402


def main() -> None:
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
