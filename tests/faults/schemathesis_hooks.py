"""Checks schemathesis adds to its own when tests/faults/test_api_schema.py runs it
(SCHEMATHESIS_HOOKS=tests.faults.schemathesis_hooks)."""

from __future__ import annotations

import schemathesis

LEAKS = ("Traceback", 'File "', "asyncpg", "/work/", '.py"')


@schemathesis.check
def no_stack_trace(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """No response body, whatever its status, shows how the server is built."""
    leaked = [leak for leak in LEAKS if leak in response.text]
    if leaked:
        raise AssertionError(f"the body shows {leaked}: {response.text[:200]!r}")
