"""PostgreSQL: pool, embedded server, migrations, repositories."""

from ivr.store.calls import CallRecord, CallStore, EventRecord, LockedCall, NewCall, TurnUpdate
from ivr.store.embedded import EmbeddedPostgres, start_embedded, stop_orphans
from ivr.store.flows import FlowVersionRecord, FlowVersionStore
from ivr.store.migrate import migrate
from ivr.store.pool import create_pool, register_json_codecs

__all__ = [
    "CallRecord",
    "CallStore",
    "EmbeddedPostgres",
    "EventRecord",
    "FlowVersionRecord",
    "FlowVersionStore",
    "LockedCall",
    "NewCall",
    "TurnUpdate",
    "create_pool",
    "migrate",
    "register_json_codecs",
    "start_embedded",
    "stop_orphans",
]
