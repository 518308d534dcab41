"""Standing groups on a test server, over HTTP: made, joined."""

from __future__ import annotations

from typing import Any

import httpx

from ensemble.wire import schema
from tests.support.people import auth, new_person


async def make_group(http: httpx.AsyncClient, mentor: dict[str, Any], **body: Any) -> dict:
    """A group made by `mentor` (invite-only "Thursday strings" unless `body` says)."""
    body = {"name": "Thursday strings", "visibility": "invite", **body}
    reply = await http.post("/api/groups", json=body, headers=auth(mentor))
    assert reply.status_code == 201, reply.text
    schema.validate(reply.json(), "http", "create_group.response")
    return dict(reply.json())


async def join(http: httpx.AsyncClient, person: dict[str, Any], group: dict[str, Any],
               **body: Any) -> httpx.Response:
    return await http.post(f"/api/groups/{group['group_id']}/members", json=body,
                           headers=auth(person))


async def mira_ana_and_bo(
    http: httpx.AsyncClient, base: str, **body: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict]:
    """Mira makes a group (`body` as for make_group); Ana and Bo join it by its
    invite. Returns the three people and the group."""
    mira, ana, bo = [await new_person(base, name) for name in ("Mira", "Ana", "Bo")]
    group = await make_group(http, mira, **body)
    for person in (ana, bo):
        await join(http, person, group, invite=group["invite"])
    return mira, ana, bo, group
