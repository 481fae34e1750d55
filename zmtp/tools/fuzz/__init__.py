"""A grammar-aware network fuzzer for ZMTP peers.

:mod:`.grammar` builds valid greetings, handshakes, commands and messages with :mod:`zmtp.protocol`;
:mod:`.mutators` breaks them at every layer; :mod:`.target` talks to the peer under test (sending a
case, probing that it is still alive, watching its memory and file descriptors, restarting it);
:mod:`.engine` runs cases from reproducible seeds, minimises failures and writes the report.
"""

from .engine import Failure, FuzzConfig, Fuzzer, FuzzReport
from .mutators import MUTATORS, Case, make_case
from .target import Outcome, ProbeResult, Target

__all__ = ["FuzzConfig", "FuzzReport", "Fuzzer", "Failure", "MUTATORS", "Case", "make_case", "Outcome",
           "ProbeResult", "Target"]
