"""Agents as admins manage them, and agents' login sessions."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr.routing.model import Agent
from ivr.store.routing import _AGENT, agent

SESSION_DAYS = 1

_EDITABLE = ("name", "extension", "department", "queues", "device", "role")


def hash_password(password: str) -> str:
    """scrypt from the standard library: no extra dependency for a salted, slow hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return secrets.compare_digest(candidate.hex(), digest)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def add(
        self,
        id: str,
        name: str,
        device: str,
        *,
        extension: str | None = None,
        department: str = "service",
        queues: list[str] | None = None,
        role: str = "agent",
        password: str | None = None,
    ) -> Agent:
        row = await self._pool.fetchrow(
            f"""INSERT INTO agents (id, name, device, extension, department, queues, role,
                                    password_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_AGENT}""",
            id,
            name,
            device,
            extension,
            department,
            queues or ["general"],
            role,
            await asyncio.to_thread(hash_password, password) if password else None,
        )
        return agent(row)

    async def list(self) -> list[Agent]:
        rows = await self._pool.fetch(f"SELECT {_AGENT} FROM agents ORDER BY id")
        return [agent(r) for r in rows]

    async def get(self, id: str) -> Agent | None:
        row = await self._pool.fetchrow(f"SELECT {_AGENT} FROM agents WHERE id = $1", id)
        return None if row is None else agent(row)

    async def update(self, id: str, **fields: Any) -> Agent | None:
        sets = [(k, v) for k, v in fields.items() if k in _EDITABLE and v is not None]
        if fields.get("password"):
            sets.append(
                ("password_hash", await asyncio.to_thread(hash_password, fields["password"]))
            )
        if not sets:
            return await self.get(id)
        assignments = ", ".join(f"{k} = ${i + 2}" for i, (k, _) in enumerate(sets))
        row = await self._pool.fetchrow(
            f"UPDATE agents SET {assignments} WHERE id = $1 RETURNING {_AGENT}",
            id,
            *(v for _, v in sets),
        )
        return None if row is None else agent(row)

    async def remove(self, id: str) -> bool:
        return await self._pool.execute("DELETE FROM agents WHERE id = $1", id) == "DELETE 1"

    async def directory(self) -> dict[str, str]:
        """Agents' extensions and devices: a caller may dial them from a menu."""
        rows = await self._pool.fetch(
            "SELECT extension, device FROM agents WHERE extension IS NOT NULL"
        )
        return {r["extension"]: r["device"] for r in rows}

    # --- sessions ---------------------------------------------------------------------------

    async def login(self, id: str, password: str, now: datetime) -> str | None:
        stored = await self._pool.fetchval("SELECT password_hash FROM agents WHERE id = $1", id)
        # scrypt is slow on purpose: off the event loop, so logins do not stall calls.
        if not await asyncio.to_thread(check_password, password, stored):
            return None
        token = secrets.token_urlsafe(32)
        await self._pool.execute(
            "INSERT INTO agent_sessions (token_hash, agent_id, expires_at) VALUES ($1, $2, $3)",
            _token_hash(token),
            id,
            now + timedelta(days=SESSION_DAYS),
        )
        return token

    async def session(self, token: str, now: datetime) -> Agent | None:
        row = await self._pool.fetchrow(
            f"""SELECT {", ".join("a." + c.strip() for c in _AGENT.split(","))}
                FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
                WHERE s.token_hash = $1 AND s.expires_at > $2""",
            _token_hash(token),
            now,
        )
        return None if row is None else agent(row)

    async def logout(self, token: str) -> None:
        await self._pool.execute(
            "DELETE FROM agent_sessions WHERE token_hash = $1", _token_hash(token)
        )
