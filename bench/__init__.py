"""Benchmarks, run by `make bench` (bench/run.py), never by the test suite."""
