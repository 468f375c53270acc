"""What this process measures itself, for Prometheus (`GET /metrics`): the instruments live
here so any part of the service can update them without knowing about HTTP.

- `AGI_SESSIONS`: FastAGI sessions (Asterisk calls) this process is serving. The FastAGI
  server wraps each session in `with AGI_SESSIONS.track_inprogress():` (or `.inc()` when a
  session starts and `.dec()` when it ends, in a `finally`).
- `HTTP_SECONDS`: time to answer each HTTP request — Twilio's webhooks, the APIs — by route
  and method (the aiohttp middleware in handlers/prometheus.py observes it).
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

AGI_SESSIONS = Gauge(
    "hotline_agi_sessions",
    "FastAGI sessions (Asterisk calls) this process is serving now",
)

HTTP_SECONDS = Histogram(
    "hotline_http_request_duration_seconds",
    "Seconds to answer an HTTP request (Twilio webhooks, APIs), by route and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
