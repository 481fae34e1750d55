"""Benchmarks comparing zmtp (pure Python ZMTP) with pyzmq (libzmq).

Run ``python -m benchmarks --help``. The workers (:mod:`benchmarks.worker`) only use the standard library
plus the implementation under test, so they also run under PyPy.
"""
