"""``zmtp fuzz``: placeholder replaced below."""
from __future__ import annotations

import argparse


def add_fuzz_arguments(ap: argparse.ArgumentParser) -> None:
    pass


def run_fuzz(args: argparse.Namespace) -> int:
    return 2
