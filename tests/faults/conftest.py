"""Fault and bad-input tests: the `running` hotline of the e2e tests, and Twilio's requests
sent one by one, signed as Twilio signs them, so each can be broken on purpose."""

from __future__ import annotations

from tests.e2e.conftest import TOKEN, Running, running

__all__ = ["TOKEN", "Running", "running"]
