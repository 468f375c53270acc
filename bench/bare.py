"""The ceiling: a bare aiohttp handler answering every POST with one constant TwiML document.

    python -m bench.bare --port PORT

The document is a one-key <Gather> (its action comes back here) and a <Hangup>, so the load
generator's caller makes as many webhooks per call as it has moves, over the same client code
as against the real service. No signature check, no form parsing, no database, no logging.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/twilio/gather?seq=1" input="dtmf" method="POST" numDigits="1" timeout="3">'
    '<Say language="zh-CN">您好，XXXX客服中心欢迎您的来电，人工服务请按“0”。</Say></Gather>'
    "<Hangup/></Response>"
)


async def constant(request: web.Request) -> web.Response:
    return web.Response(text=TWIML, content_type="text/xml")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.add_routes([web.post("/{tail:.*}", constant), web.get("/healthz", constant)])
    try:  # the same event loop as `ivr serve`: uvloop when installed
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
