"""Benchmarks: run on demand (`python -m bench.webhooks`, `python -m bench.routing`), not in CI.

Each prints its figures; the latest are in bench/README.md with the command that made them.
"""
