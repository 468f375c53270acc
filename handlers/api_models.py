"""The JSON the admin and agent APIs answer with, as pydantic models — for the OpenAPI
description only (`handlers/openapi.py`); the handlers build these shapes in their views."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ivr.callbacks.model import Callback
from ivr.metrics.drill import CallRow as DrillCallRow
from ivr.routing.model import Case


class Doc(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


def _of(
    shape: type, name: str, notes: dict[str, str] | None = None, **extra: tuple[Any, Any]
) -> type[Doc]:
    """The model of a domain dataclass as the API sends it (plus `extra` fields), so the two
    cannot drift apart; `notes` describe fields."""
    hints = typing.get_type_hints(shape)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(shape):
        note = (notes or {}).get(f.name)
        fields[f.name] = (hints[f.name], Field(description=note) if note else ...)
    return create_model(name, __base__=Doc, **fields, **extra)


class Error(Doc):
    error: str = Field(description="What was wrong, for a person")


class Ok(Doc):
    ok: bool


class AgentView(Doc):
    id: str
    name: str
    extension: str | None
    department: str
    queues: list[str]
    role: str
    state: str = Field(description="offline, available, not_ready, ringing, on_call, wrap_up")
    state_since: datetime


class AdminAgent(AgentView):
    device: str
    idle_since: datetime | None
    call_id: int | None


CaseView = _of(
    Case,
    "CaseView",
    {
        "kind": "complaint, repair, inquiry, suggestion, query",
        "status": "open, escalated, resolved",
    },
    owner_name=(str, ...),
)


class OfferView(Doc):
    id: int
    call_id: int
    caller: str
    reason: str = Field(description="owner: their own customer; queue: the next in line")
    ring_started_at: datetime
    ring_timeout: float
    ring_period: float
    rings: int
    caller_cases: list[CaseView]


class AgentCall(Doc):
    id: int
    caller: str
    started_at: datetime
    ended_at: datetime | None
    case: CaseView | None


class AgentCallback(Doc):
    id: int
    customer: str
    reason: str = Field(
        description="one_way_audio, follow_up, complaint_reply, proactive, queue_overflow"
    )
    case_id: int | None
    created_at: datetime
    due_at: datetime
    deadline: datetime
    state: str = Field(description="pending, running, completed, unreachable, closed")
    attempts: int
    outcome: str | None
    notes: str
    status: str = Field(
        description="against the server's clock: upcoming, due, overdue (past its deadline), "
        "calling (an attempt is under way)"
    )


class Me(Doc):
    agent: AgentView
    offer: OfferView | None
    call: AgentCall | None
    cases: list[CaseView]
    callbacks: list[AgentCallback] = Field(description="the agent's open ones, soonest due first")
    server_now: datetime
    case: CaseView | None = Field(None, description="after a wrap-up: the case as saved")
    callback: AgentCallback | None = Field(
        None, description="after a callback action: the callback as saved"
    )


class AgentLogin(Doc):
    token: str = Field(description="Bearer token (also set as the session cookie)")
    agent: AgentView


class CallEvent(Doc):
    at: datetime
    kind: str
    data: dict[str, Any]


class FlowStamp(Doc):
    name: str
    version: str
    hash: str


class CallRecordView(Doc):
    transport: str
    external_id: str
    caller: str
    called: str
    flow: FlowStamp
    started_at: datetime
    ended_at: datetime | None
    disposition: str | None
    events: list[CallEvent]


class FlowView(Doc):
    flow: str
    version: str
    hash: str
    file: str | None
    numbers: list[str]


class BlockedNumber(Doc):
    number: str
    flags: int
    blocked_at: datetime | None
    lifted_at: datetime | None
    lifted_by: str | None


CallbackJob = _of(
    Callback,
    "CallbackJob",
    {"state": "pending, running, completed, unreachable, closed"},
    on_time=(bool | None, ...),
)


class CallbackDetail(CallbackJob):
    attempts_made: list[dict[str, Any]]


class AdminLogin(Doc):
    token: str = Field(max_length=512, description="The admin token")


class MetricCell(Doc):
    value: float | None = Field(description="numerator / denominator (a count: numerator)")
    numerator: float
    denominator: float | None
    pass_: bool | None = Field(alias="pass", description="the manual's target met (null: none)")


class MetricInfo(Doc):
    label: str
    unit: str = Field(description="ratio, seconds, count or number")
    definition: str
    target: str | None
    options: dict[str, float]
    splits: bool = Field(description="the metric has a value per key of `by`")


class ReportSection(Doc):
    name: str
    title: str
    metrics: list[str]


class ReportRow(Doc):
    key: str | None = Field(description="null: the total row")
    values: dict[str, MetricCell]


class Report(Doc):
    from_: datetime = Field(alias="from")
    to: datetime
    tz: str
    by: str | None
    metrics: dict[str, MetricInfo]
    sections: list[ReportSection]
    rows: list[ReportRow]


class LiveRatio(Doc):
    value: float | None
    numerator: float
    denominator: float | None


class LiveCalls(Doc):
    in_ivr: int
    waiting: int
    with_agent: int


class LiveNumbers(Doc):
    at: datetime
    today: dict[str, datetime]
    tz: str
    calls: LiveCalls
    longest_wait: float | None
    agents: dict[str, int]
    three_ring_rate: LiveRatio
    service_level: LiveRatio


class Trend(Doc):
    from_: datetime = Field(alias="from")
    to: datetime
    every: str
    periods: list[datetime]
    series: dict[str, list[float | None]]
    labels: dict[str, str]


class DepartmentCallbackRate(Doc):
    department: str
    callbacks_scheduled: float
    callbacks_completed: float
    callback_completion_rate: float | None


class CallbackRate(Doc):
    year: int
    tz: str
    departments: list[DepartmentCallbackRate]


CallRow = _of(DrillCallRow, "CallRow")


class CallList(Doc):
    calls: list[CallRow]
