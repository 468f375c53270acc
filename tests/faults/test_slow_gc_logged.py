"""A garbage collection long enough to hold every webhook up is logged, so a latency tail can
be told apart from the database's (bench/README.md, the paced p99)."""

from __future__ import annotations

import itertools

import pytest
import structlog

from handlers import serve


@pytest.mark.parametrize(("seconds", "logged"), [(0.019, False), (0.035, True)])
def test_a_collection_over_20_ms_is_logged(
    monkeypatch: pytest.MonkeyPatch, seconds: float, logged: bool
) -> None:
    clock = itertools.chain([100.0, 100.0 + seconds])
    monkeypatch.setattr(serve, "perf_counter", lambda: next(clock))
    info = {"generation": 2, "collected": 7, "uncollectable": 0}
    with structlog.testing.capture_logs() as logs:
        serve._log_slow_collections("start", info)
        serve._log_slow_collections("stop", info)
    slow = [e for e in logs if e["event"] == "slow garbage collection"]
    expected = [{**slow[0], "generation": 2, "ms": round(seconds * 1000, 1)}] if logged else []
    assert slow == expected
