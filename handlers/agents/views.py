"""What the console shows, as JSON: the agent, their ringing offer, their call, their cases,
their open callbacks."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from handlers.runtime import Hotline
from ivr.callbacks.model import Callback
from ivr.routing.model import Agent, Case, Offer
from ivr.store import callbacks as callback_jobs
from ivr.store import console

_AGENT_FIELDS = ("id", "name", "extension", "department", "queues", "role", "state", "state_since")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def agent_json(agent: Agent) -> dict[str, Any]:
    return {k: _json(getattr(agent, k)) for k in _AGENT_FIELDS}


def case_json(case: Case, names: dict[str, str]) -> dict[str, Any]:
    data = {k: _json(v) for k, v in asdict(case).items()}
    data["owner_name"] = names.get(case.owner, case.owner)
    return data


async def cases_json(hotline: Hotline, cases: list[Case]) -> list[dict[str, Any]]:
    names = await console.agent_names(hotline.pool, (c.owner for c in cases))
    return [case_json(c, names) for c in cases]


async def offer_json(hotline: Hotline, offer: Offer) -> dict[str, Any]:
    call = await hotline.calls.store.get_by_id(offer.call_id)
    caller = call.caller if call else ""
    return {
        "id": offer.id,
        "call_id": offer.call_id,
        "caller": caller,
        "reason": offer.reason,  # owner: their own customer; queue: the next in line
        "ring_started_at": offer.ring_started_at.isoformat(),
        "ring_timeout": offer.ring_timeout,
        "ring_period": offer.ring_period,
        "rings": round(offer.ring_timeout / offer.ring_period) if offer.ring_period else 0,
        "caller_cases": await cases_json(hotline, await hotline.desk.caller_cases(caller))
        if caller
        else [],
    }


async def call_json(hotline: Hotline, agent: Agent) -> dict[str, Any] | None:
    """The call the agent is on or wrapping up, with its customer's open case."""
    if agent.call_id is None or agent.state not in ("on_call", "wrap_up"):
        return None
    call = await hotline.calls.store.get_by_id(agent.call_id)
    if call is None:
        return None
    open_cases = [c for c in await hotline.desk.caller_cases(call.caller) if c.status != "resolved"]
    cases = await cases_json(hotline, open_cases[:1])
    return {
        "id": call.id,
        "caller": call.caller,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "case": cases[0] if cases else None,
    }


async def me_json(hotline: Hotline, agent: Agent) -> dict[str, Any]:
    """Everything the page draws, read in one go (after a push, the page asks again)."""
    fresh = await hotline.agents.get(agent.id) or agent
    offer = await console.ringing_offer_of(hotline.pool, fresh.id)
    return {
        "agent": agent_json(fresh),
        "offer": await offer_json(hotline, offer) if offer else None,
        "call": await call_json(hotline, fresh),
        "cases": await cases_json(hotline, await hotline.desk.cases(fresh)),
        "callbacks": await callbacks_json(hotline, fresh),
        "server_now": hotline.clock.now().isoformat(),
    }


_CALLBACK_FIELDS = ("id", "customer", "reason", "case_id", "created_at", "due_at", "deadline")


def callback_status(job: Callback, now: datetime) -> str:
    """`calling` (an attempt is under way), `overdue` (past its deadline: the promise is being
    broken), `due` (its time has come) or `upcoming`."""
    if job.state == "running":
        return "calling"
    if now > job.deadline:
        return "overdue"
    return "due" if now >= job.due_at else "upcoming"


def callback_json(job: Callback, now: datetime) -> dict[str, Any]:
    data = {k: _json(getattr(job, k)) for k in _CALLBACK_FIELDS}
    data.update(
        state=job.state,
        attempts=job.attempts,
        outcome=job.outcome,
        notes=job.notes,
        status=callback_status(job, now),
    )
    return data


async def callbacks_json(hotline: Hotline, agent: Agent) -> list[dict[str, Any]]:
    """The agent's open callbacks, the soonest due first, marked against the server's clock."""
    jobs = await callback_jobs.listing(hotline.pool, owner=agent.id, open_only=True)
    now = hotline.clock.now()
    return [callback_json(job, now) for job in jobs]
