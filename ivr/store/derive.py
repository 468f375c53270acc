"""Statements made from statements: a variant of a long SQL statement written as the edits
that make it from the original, so the two cannot drift apart."""

from __future__ import annotations


def derive(sql: str, *edits: tuple[str, str] | tuple[str, str, int]) -> str:
    """`sql` with each (old, new[, times]) replaced; `old` must be found exactly `times` (1)
    times, so a change to the original that an edit no longer fits fails at import."""
    for old, new, *times in edits:
        assert sql.count(old) == (times[0] if times else 1), old
        sql = sql.replace(old, new)
    return sql
