"""The console's request bodies: exact fields, bounded sizes, clear 400s."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any, Literal, TypeVar, get_args

from aiohttp import web
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
)

AGENT_ID = r"^[A-Za-z0-9_.-]{1,64}$"
NOTES_MAX = 2000

Model = TypeVar("Model", bound=BaseModel)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Body):
    id: str = Field(pattern=AGENT_ID)
    password: str = Field(min_length=1, max_length=200)


class StateChange(Body):
    state: Literal["available", "not_ready", "offline"]


class FlagCall(Body):
    flag: Literal["one_way_audio", "malicious"]


class WrapUpForm(Body):
    kind: Literal["complaint", "repair", "inquiry", "suggestion", "query"]
    disposition: Literal["resolved", "phone_guidance", "needs_reply", "escalated"]
    notes: str = Field("", max_length=NOTES_MAX)
    rejected: StrictBool = False  # the customer rejected the answer given
    compensation: StrictBool = False


class Transfer(Body):
    to: str = Field(pattern=AGENT_ID)


# --- callbacks ------------------------------------------------------------------------------

RESCHEDULE_WITHIN = timedelta(days=30)  # how far ahead an agent may move a callback
# How an agent may close a callback without placing it (the worker's own end: connected,
# unreachable).
CloseOutcome = Literal["resolved_by_other_means", "customer_declined", "wrong_number", "duplicate"]
CLOSE_OUTCOMES: tuple[str, ...] = get_args(CloseOutcome)


def _iso_text(value: Any) -> Any:
    """A date-time as ISO 8601 text only (not a number of seconds)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 date-time with its offset (2026-01-05T15:30+08:00)")
    return value


class Reschedule(Body):
    """The time the customer agreed, with its UTC offset: in the future and within 30 days by
    the server's clock (RESCHEDULE_WITHIN; the handler checks both)."""

    due_at: Annotated[AwareDatetime, BeforeValidator(_iso_text)]


class CloseCallback(Body):
    outcome: CloseOutcome
    notes: str = Field("", max_length=NOTES_MAX)


def json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


async def parse(request: web.Request, model: type[Model]) -> Model:
    """The body as `model`, or a 400 naming the first bad field and what is wrong with it."""
    try:
        data = await request.json()
    except ValueError:
        raise json_error(web.HTTPBadRequest, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise json_error(web.HTTPBadRequest, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise json_error(web.HTTPBadRequest, _first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "body"
    if error["type"] == "extra_forbidden":
        return f"unknown field {field!r}"
    if error["type"] == "missing":
        return f"{field} is required"
    return f"{field}: {error['msg']}"
