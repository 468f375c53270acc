"""The console's request bodies: exact fields, bounded sizes, clear 400s."""

from __future__ import annotations

import json
from typing import Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

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
