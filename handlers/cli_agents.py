"""`ivr agents …`: admins manage agents from the shell (the same store as the admin API)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from handlers.asterisk.config_import import plan_import
from handlers.runtime import database
from handlers.settings import Settings
from ivr import logs
from ivr.routing.model import ROLES
from ivr.store import callbacks as jobs
from ivr.store.agents import AgentStore


def add_callback_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    callbacks = commands.add_parser("callbacks", help="list callback jobs")
    sub = callbacks.add_subparsers(metavar="ACTION")
    listing = sub.add_parser("list", help="callbacks by due time")
    listing.add_argument("--owner", help="one agent's")
    listing.add_argument("--open", action="store_true", help="only pending or running ones")
    listing.add_argument("--data-dir", type=Path, help="as for `ivr serve` (env IVR_DATA_DIR)")
    listing.set_defaults(run=_run(_callbacks))


async def _callbacks(store: AgentStore, args: argparse.Namespace) -> int:
    rows = await jobs.listing(store.pool, owner=args.owner, open_only=args.open)
    print(
        f"{'id':>6} {'due':<20} {'reason':<16} {'customer':<16} {'owner':<10} {'state':<12} tries"
    )
    for j in rows:
        due = j.due_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{j.id:>6} {due:<20} {j.reason:<16} {j.customer:<16} {j.owner or '-':<10} "
            f"{j.state:<12} {j.attempts}"
        )
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    agents = commands.add_parser("agents", help="add, list and remove agents")
    sub = agents.add_subparsers(metavar="ACTION")

    add = sub.add_parser("add", help="add an agent")
    add.add_argument("id", help="the agent's login, e.g. a1001")
    add.add_argument("--name", required=True)
    add.add_argument("--device", required=True, help="client:ID, sip:URI, +number or PJSIP/…")
    add.add_argument("--extension", help="the extension callers can dial")
    add.add_argument("--department", default="service")
    add.add_argument("--queues", default="general", help="comma-separated queue names")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--password", help="default: asked for (or $IVR_AGENT_PASSWORD)")
    add.set_defaults(run=_run(_add))

    listing = sub.add_parser("list", help="list agents and their states")
    listing.set_defaults(run=_run(_list))

    remove = sub.add_parser("remove", help="remove an agent")
    remove.add_argument("id")
    remove.set_defaults(run=_run(_remove))

    passwd = sub.add_parser("passwd", help="set an agent's password")
    passwd.add_argument("id")
    passwd.add_argument("--password")
    passwd.set_defaults(run=_run(_passwd))

    bring = sub.add_parser("import", help="make an existing Asterisk's queue members agents")
    bring.add_argument(
        "--asterisk-config",
        type=Path,
        required=True,
        metavar="DIR",
        help="the folder with queues.conf, pjsip.conf, extensions.conf",
    )
    bring.add_argument("--dry-run", action="store_true", help="only say what would change")
    bring.set_defaults(run=_run(_import))

    for parser in (add, listing, remove, passwd, bring):
        parser.add_argument("--data-dir", type=Path, help="as for `ivr serve` (env IVR_DATA_DIR)")


Action = Callable[[AgentStore, argparse.Namespace], Awaitable[int]]


def _run(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        logs.configure(json=False, level="WARNING")

        async def go() -> int:
            async with database(Settings.resolve(args.data_dir)) as pool:
                return await action(AgentStore(pool), args)

        return asyncio.run(go())

    return run


def _password(args: argparse.Namespace) -> str:
    given = args.password or os.environ.get("IVR_AGENT_PASSWORD")
    return given or getpass.getpass(f"password for {args.id}: ")


async def _add(store: AgentStore, args: argparse.Namespace) -> int:
    try:
        agent = await store.add(
            args.id,
            args.name,
            args.device,
            extension=args.extension,
            department=args.department,
            queues=[q.strip() for q in args.queues.split(",") if q.strip()],
            role=args.role,
            password=_password(args),
        )
    except asyncpg.UniqueViolationError:
        taken = f"agent {args.id}" + (f" or extension {args.extension}" if args.extension else "")
        print(f"{taken} exists already", file=sys.stderr)
        return 1
    print(f"added {agent.id} ({agent.name}), {agent.device}, queues {','.join(agent.queues)}")
    return 0


_WIDTHS = (12, 16, 6, 12, 10, 10)


async def _list(store: AgentStore, args: argparse.Namespace) -> int:
    header = ("id", "name", "ext", "department", "role", "state")
    print(" ".join(f"{h:<{w}}" for h, w in zip(header, _WIDTHS, strict=True)), "queues")
    for a in await store.list():
        cells = (a.id, a.name, a.extension or "", a.department, a.role, a.state)
        print(
            " ".join(f"{c:<{w}}" for c, w in zip(cells, _WIDTHS, strict=True)), ",".join(a.queues)
        )
    return 0


async def _import(store: AgentStore, args: argparse.Namespace) -> int:
    plan = plan_import(args.asterisk_config)
    for agent in plan.agents.values():
        existing = await store.get(agent.id)
        verb = "would update" if existing else "would add"
        if not args.dry_run:
            if existing:
                await store.update(
                    agent.id,
                    name=agent.name,
                    device=agent.device,
                    extension=agent.extension,
                    queues=agent.queues,
                )
            else:
                await store.add(
                    agent.id,
                    agent.name,
                    agent.device,
                    extension=agent.extension,
                    queues=agent.queues,
                )
            verb = verb.removeprefix("would ").replace("add", "added").replace("update", "updated")
        print(
            f"{verb} {agent.id} ({agent.name}) {agent.device} ext {agent.extension or '-'} "
            f"queues {','.join(agent.queues)}"
        )
    for note in plan.notes:
        print(f"not mapped: {note}")
    if plan.agents and not args.dry_run:
        print("new agents have no password yet: `ivr agents passwd ID` before they log in")
    return 0


async def _remove(store: AgentStore, args: argparse.Namespace) -> int:
    if not await store.remove(args.id):
        print(f"no agent {args.id}", file=sys.stderr)
        return 1
    return 0


async def _passwd(store: AgentStore, args: argparse.Namespace) -> int:
    if await store.update(args.id, password=_password(args)) is None:
        print(f"no agent {args.id}", file=sys.stderr)
        return 1
    return 0
