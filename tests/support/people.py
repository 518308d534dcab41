"""People and their kept history on a test server, over HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


async def new_person(base: str, name: str = "Ada", **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        reply = await http.post("/api/people", json={"name": name, **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


def auth(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['person_key']}"}


async def kept_sessions(
    base: str, person: dict[str, Any], count: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """The person's sessions once `count` are kept (archiving runs in the background)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as http:
        while True:
            reply = await http.get("/api/me/sessions", headers=auth(person))
            assert reply.status_code == 200, reply.text
            sessions = reply.json()["sessions"]
            if len(sessions) >= count:
                return list(sessions)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(sessions)} of {count} sessions kept in {timeout}s")
            await asyncio.sleep(0.1)
