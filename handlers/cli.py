"""The `ivr` command: serve, flows check|schema, prompts build, call, db migrate."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from handlers import prompts_command, report_command
from handlers.cli_agents import add_callback_commands as callback_commands
from handlers.cli_agents import add_commands as agent_commands
from ivr import logs
from ivr.errors import FlowInvalid, Problem
from ivr.prompts.audit import audio_problems
from ivr.script.loader import flow_files, load_file
from ivr.script.schema import flow_schema_text


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not hasattr(args, "run"):
        _parser().print_help()
        return 2
    return int(args.run(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Hotline: an 800-hotline IVR.")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="answer calls (Twilio webhooks)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8080)")
    _data_dir(serve)
    serve.add_argument("--flows", type=Path, help="folder of flow files (default ./flows)")
    serve.add_argument("--public-url", help="base URL Twilio calls, when behind a proxy")
    serve.add_argument("--agi-host", help="FastAGI address for Asterisk (default 127.0.0.1)")
    serve.add_argument("--agi-port", type=int, help="FastAGI port (default 4573; 0: off)")
    serve.add_argument("--log-format", choices=("json", "console"), help="default: by terminal")
    serve.set_defaults(run=_serve)

    flows = commands.add_parser("flows", help="check flow files, print their JSON Schema")
    flow_commands = flows.add_subparsers(metavar="ACTION")
    check = flow_commands.add_parser("check", help="validate flow files (file:line:col: message)")
    check.add_argument("paths", nargs="*", type=Path, default=[Path("flows")])
    check.add_argument("--sounds", type=Path, help="prompt audio (default DATA_DIR/sounds)")
    check.set_defaults(run=_flows_check)
    schema = flow_commands.add_parser("schema", help="print the JSON Schema of flow files")
    schema.set_defaults(run=lambda _: sys.stdout.write(flow_schema_text()) and 0)
    prompts_command.add_commands(commands)

    call = commands.add_parser("call", help="call the local hotline from this terminal")
    call.add_argument("--to", default="+18005550100", help="the number dialed")
    call.add_argument("--from", dest="from_", default="+8613800138000", help="caller id")
    call.add_argument("--url", default="http://127.0.0.1:8080", help="the running server")
    _data_dir(call)
    call.add_argument(
        "--agent-answers-after",
        type=float,
        metavar="SECONDS",
        help="the agent/extension picks up after this much ringing (default: nobody answers)",
    )
    call.set_defaults(run=_call)

    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(metavar="ACTION")
    db_migrate = db_commands.add_parser("migrate", help="apply pending migrations")
    _data_dir(db_migrate)
    db_migrate.set_defaults(run=_db_migrate)
    agent_commands(commands)
    callback_commands(commands)
    report_command.add_commands(commands)
    return parser


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="embedded database and local tokens (env IVR_DATA_DIR)"
    )


def _serve(args: argparse.Namespace) -> int:
    from handlers.serve import run
    from handlers.settings import Settings

    fmt = args.log_format
    logs.configure(json=None if fmt is None else fmt == "json")
    settings = Settings.resolve(
        args.data_dir,
        args.flows,
        args.host,
        args.port,
        args.public_url,
        agi_host=args.agi_host,
        agi_port=args.agi_port,
    )
    try:
        run(settings)
    except FlowInvalid as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _flows_check(args: argparse.Namespace) -> int:
    from handlers.settings import default_sounds_dir

    sounds = args.sounds or default_sounds_dir()
    files = flow_files(args.paths)
    if not files:
        print(f"no flow files in {' '.join(map(str, args.paths))}", file=sys.stderr)
        return 1
    errors = 0
    for path in files:
        try:
            loaded = load_file(path)
            found: list[Problem] = loaded.warnings + audio_problems(loaded, sounds)
        except FlowInvalid as exc:
            found = exc.problems
        for problem in found:
            print(problem)
        errors += sum(p.severity == "error" for p in found)
    verdict = f"{len(files)} flow file(s), {errors} error(s)"
    print(verdict, file=sys.stderr)
    return 1 if errors else 0


def _call(args: argparse.Namespace) -> int:
    from handlers.settings import Settings
    from handlers.twilio.peer import AnswersAfter, CallTranscript, NobodyAnswers, TwilioPeer
    from handlers.twilio.terminal import TerminalCaller

    logs.configure(json=False, level="WARNING")
    settings = Settings.resolve(args.data_dir)
    far_end = (
        NobodyAnswers(realtime=True)
        if args.agent_answers_after is None
        else AnswersAfter(args.agent_answers_after, realtime=True)
    )
    peer = TwilioPeer(args.url, settings.twilio_auth_token, far_end=far_end)
    caller = TerminalCaller()

    async def call() -> CallTranscript:
        loop = asyncio.get_running_loop()

        def ctrl_c() -> None:  # hang up, and tell the hotline; a second Ctrl-C stops at once
            loop.remove_signal_handler(signal.SIGINT)
            caller.hang_up()

        loop.add_signal_handler(signal.SIGINT, ctrl_c)
        caller.start_reading()
        return await peer.call(to=args.to, from_=args.from_, caller=caller)

    try:
        transcript = asyncio.run(call())
    except KeyboardInterrupt:
        print("— interrupted: the hotline was not told of the hang-up", file=sys.stderr)
        return 130
    print(f"— call ended ({transcript.status}), CallSid {transcript.call_sid}")
    errors = transcript.of_kind("error")  # what made Twilio say "an application error"
    if transcript.responses and all(status == 0 for _, status in transcript.responses):
        print(f"  nothing answered at {args.url}: is `ivr serve` running there?", file=sys.stderr)
    else:
        for error in errors:
            where = " ".join(str(error.detail[k]) for k in ("status", "url") if k in error.detail)
            print(f"  {error.detail.get('reason')} {where}", file=sys.stderr)
    failed = any(not 200 <= status < 300 for _, status in transcript.responses)
    return 1 if errors or failed else 0


def _db_migrate(args: argparse.Namespace) -> int:
    from handlers.runtime import database
    from handlers.settings import Settings

    logs.configure()
    settings = Settings.resolve(args.data_dir)

    async def run() -> None:
        async with database(settings):
            pass  # opening the database applies what is pending

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
