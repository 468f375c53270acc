"""The aiohttp application: every edge's routes, and the one place errors become responses."""

from __future__ import annotations

import asyncpg
import structlog
from aiohttp import web

from handlers import openapi
from handlers.admin.agents import AgentAdminApi
from handlers.admin.callbacks import CallbackAdminApi
from handlers.admin.dashboard import Dashboard
from handlers.admin.routes import AdminApi
from handlers.agents.routes import AgentConsole
from handlers.prometheus import PrometheusExport, request_timer
from handlers.prompts import PromptFiles
from handlers.runtime import Hotline
from handlers.twilio import twiml
from handlers.twilio.callbacks import TwilioCallbackHooks
from handlers.twilio.live import TwilioTransport
from handlers.twilio.routes import TwilioWebhooks
from handlers.twilio.signature import SignatureCheck
from ivr.calls.offline import unreachable
from ivr.errors import Conflict, NotAllowed, NotFound

log = structlog.get_logger(__name__)

# The domain's refusals, as the HTTP API says them (the webhooks answer TwiML whatever happens).
DOMAIN_STATUS: dict[type[Exception], int] = {NotFound: 404, NotAllowed: 403, Conflict: 409}


@web.middleware
async def edge_errors(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Nothing leaves as a stack trace or a 500 to Twilio: the caller hears an apology."""
    structlog.contextvars.clear_contextvars()
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (NotFound, NotAllowed, Conflict) as exc:
        if request.path.startswith(twiml.BASE + "/"):
            log.exception("request failed", path=request.path)
            return web.Response(text=twiml.apology(), content_type="text/xml")
        status = next(code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind))
        return web.json_response({"error": str(exc)}, status=status)
    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
        if request.path.startswith(twiml.BASE + "/"):
            log.exception("request failed", path=request.path)
            return web.Response(text=twiml.apology(), content_type="text/xml")
        # A value PostgreSQL cannot store (a NUL character, a number out of range) or one that
        # clashes with a stored one (a second agent with an extension): the request's fault.
        log.warning("refused by the database", path=request.path, error=repr(exc))
        bad = isinstance(exc, asyncpg.DataError)
        message = "a value cannot be stored" if bad else "conflicts with existing data"
        return web.json_response({"error": message}, status=400 if bad else 409)
    except Exception as exc:
        if request.path.startswith(twiml.BASE + "/"):
            log.exception("request failed", path=request.path)
            return web.Response(text=twiml.apology(), content_type="text/xml")
        if unreachable(exc):  # the console and the admin API wait for the database to be back
            log.warning("database unreachable", path=request.path, error=repr(exc))
            return web.json_response(
                {"error": "the database is unreachable; try again shortly"}, status=503
            )
        log.exception("request failed", path=request.path)
        return web.json_response({"error": "internal error"}, status=500)
    finally:
        structlog.contextvars.clear_contextvars()


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(hotline: Hotline) -> web.Application:
    settings = hotline.settings
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[request_timer, edge_errors]
    )
    signatures = SignatureCheck(settings.twilio_auth_token, settings.public_url)
    app.add_routes(TwilioWebhooks(hotline.calls, signatures).routes())
    hotline.calls.register(TwilioTransport(hotline.twilio_rest, settings.base_url))
    app.add_routes(
        TwilioCallbackHooks(
            hotline.callbacks, hotline.flows, signatures, hotline.caller_id
        ).routes()
    )
    app.add_routes(AdminApi(hotline).routes())
    app.add_routes(AgentAdminApi(hotline).routes())
    app.add_routes(CallbackAdminApi(hotline).routes())
    app.add_routes(Dashboard(hotline).routes())
    app.add_routes(PrometheusExport(hotline).routes())
    app.add_routes(openapi.routes())
    AgentConsole(hotline).install(app)
    app.add_routes(PromptFiles(settings.sounds_root).routes())
    app.add_routes([web.get("/healthz", health)])
    return app
