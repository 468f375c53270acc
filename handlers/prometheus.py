"""`GET /metrics` for Prometheus, and the middleware that times every HTTP request.

Two kinds of numbers: this process's own (the request-time histogram, AGI sessions, Python's
process metrics), and what the stored records say now (calls, queue waits, offers, callback
jobs, agents) — read from PostgreSQL at each scrape, so every instance reports the same values
for those: aggregate them with max(), not sum(). "Today" is since 00:00 UTC. While PostgreSQL
cannot be reached the records' gauges are left out and the rest is served, with
`hotline_database_reachable 0` and `hotline_spooled_steps` (ivr.calls.offline). Unauthenticated,
like most exporters: restrict /metrics at the proxy if its counts are not for everyone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from handlers.runtime import Hotline
from ivr.calls.offline import Offline, unreachable
from ivr.metrics.live import RecordCounts, record_counts
from ivr.metrics.process import HTTP_SECONDS

log = structlog.get_logger(__name__)


@web.middleware
async def request_timer(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Observe each request's time, labelled by its route's pattern (not the raw path, so call
    ids do not each make a series). A WebSocket (the console's pushes) lasts as long as the page
    is open: it is not a request to time."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await handler(request)
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)


class PrometheusExport:
    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.metrics)]

    async def metrics(self, request: web.Request) -> web.Response:
        """This process's numbers always; the records' when the database answers. An outage
        is when the rest matters most (the spool, the webhooks' times), so it is no 503."""
        scrape = CollectorRegistry(auto_describe=False)
        try:
            counts = await record_counts(self.hotline.pool, self.hotline.clock.now())
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning("/metrics without the records: database unreachable", error=repr(exc))
            counts = None
        else:
            scrape.register(RecordsCollector(counts))
        scrape.register(OutageCollector(counts is not None, self.hotline.calls.offline))
        body = generate_latest(REGISTRY) + generate_latest(scrape)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class OutageCollector(Collector):
    """Whether this scrape could read the records, and the steps spooled meanwhile."""

    def __init__(self, reachable: bool, offline: Offline | None) -> None:
        self.reachable = reachable
        self.spooled = len(offline.pending()) if offline is not None else 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "hotline_database_reachable",
            "1 if this scrape read the records from PostgreSQL, 0 if it could not reach it",
            value=1.0 if self.reachable else 0.0,
        )
        yield GaugeMetricFamily(
            "hotline_spooled_steps",
            "Call steps this process took without the database and has not stored yet",
            value=float(self.spooled),
        )


class RecordsCollector(Collector):
    """One scrape's reading of the records, as gauges."""

    def __init__(self, counts: RecordCounts) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        c = self.counts
        yield _family(
            "hotline_calls_in_progress",
            "Calls going on now, by stage: ivr (in the menus), queue (waiting), agent",
            "stage",
            c.calls_in_progress,
        )
        yield _family(
            "hotline_calls_today",
            "Calls started since 00:00 UTC, by disposition (in_progress: not ended yet)",
            "disposition",
            c.calls_today,
        )
        yield _family(
            "hotline_queue_waiting",
            "Callers waiting in each queue now",
            "queue",
            {q: n for q, (n, _) in c.queue_waiting.items()},
        )
        yield _family(
            "hotline_queue_longest_wait_seconds",
            "Seconds the longest-waiting caller of each queue has waited",
            "queue",
            {q: wait for q, (_, wait) in c.queue_waiting.items()},
        )
        yield _family(
            "hotline_queue_waits_today",
            "Queue waits begun since 00:00 UTC, by outcome (waiting: not over yet)",
            "outcome",
            c.queue_waits_today,
        )
        yield _family(
            "hotline_offers_today",
            "Offers (an agent rung for a caller) since 00:00 UTC, by outcome",
            "outcome",
            c.offers_today,
        )
        yield _family("hotline_callbacks", "Callback jobs by state", "state", c.callbacks)
        yield _family("hotline_agents", "Agents by state", "state", c.agents)


def _family(name: str, doc: str, label: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
