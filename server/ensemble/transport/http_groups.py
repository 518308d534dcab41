"""The HTTP API of standing groups: create, edit, join, leave, read, start a session, board,
mentors' view.

Every route but the public listing is authorised by a person key, then by
the person's role in the group, decided here per request: members read the
group and its kept sessions' reports, and may leave it; mentors also get its
keys, edit it, start sessions, read each person's history in the group, and read the private
comments and mentors-only notes of its sessions.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ensemble.auth import new_id, new_secret
from ensemble.core import NotFound
from ensemble.core.clock import check_program
from ensemble.core.errors import Forbidden, Unauthorized
from ensemble.core.history import (
    board,
    goals_kept_ratio,
    group_report,
    member_group_streak,
    next_session_at,
    person_streak,
    totals,
    week_start,
    zone,
)
from ensemble.service import RoomService
from ensemble.store import Person, Store
from ensemble.store.archive import history_entry
from ensemble.store.groups import MENTOR
from ensemble.store.sealing import seal, unseal
from ensemble.transport.http_people import (
    PeopleApi,
    bearer,
    creation_limit,
    fail,
    over_limit,
    validated,
)
from ensemble.transport.pagination import cursor_for, page_params

PARTICIPANT = "participant"


class GroupsApi:
    def __init__(self, store: Store, service: RoomService, people: PeopleApi) -> None:
        self.store = store
        self.service = service
        self.people = people
        self.creations = creation_limit(service.settings)

    @property
    def now(self) -> int:
        return self.service.clock.now_ms()

    async def _group(self, request: Request) -> dict[str, Any]:
        group = await self.store.groups.get(request.path_params["group_id"])
        if group is None:
            raise NotFound("no such group")
        return group

    async def _member(self, request: Request) -> tuple[Person, dict[str, Any], dict[str, Any]]:
        """The person, the group and their membership; 403 for a non-member."""
        person = await self.people.person(request)
        group = await self._group(request)
        membership = await self.store.groups.membership(group["id"], person.id)
        if membership is None:
            raise Forbidden("only the group's members may see this")
        return person, group, membership

    async def _mentor(self, request: Request) -> tuple[Person, dict[str, Any], dict[str, Any]]:
        person, group, membership = await self._member(request)
        if membership["role"] != MENTOR:
            raise Forbidden("only the group's mentors may do this")
        return person, group, membership

    async def create(self, request: Request) -> Response:
        limited = over_limit(self.creations, request, "groups and sessions")
        if limited is not None:
            return limited
        try:
            person = await self.people.person(request)
            body = await validated(request, "create_group.request")
            settings = settings_of({"program": None, "schedule": None, **body})
            group = {"id": new_id("g"), **settings, "invite": new_secret()}
            mentor_key = new_secret()
            await self.store.groups.create(
                group, mentor_key, person.id, bearer(request), self.now
            )
        except Exception as exc:
            return fail(exc)
        base = str(request.base_url).rstrip("/")
        group_id = group["id"]
        return JSONResponse(
            {
                "group_id": group_id,
                "name": group["name"],
                "invite": group["invite"],
                "mentor_key": mentor_key,
                "links": {
                    "join": f"{base}/g/{group_id}#invite={group['invite']}",
                    "mentor": f"{base}/g/{group_id}#mentor_key={mentor_key}",
                },
            },
            status_code=201,
        )

    async def join(self, request: Request) -> Response:
        try:
            person = await self.people.person(request)
            group = await self._group(request)
            body = await validated(request, "join_group.request")
            role, sealed = PARTICIPANT, None
            if "mentor_key" in body:
                if not self.store.groups.mentor_key_matches(group, body["mentor_key"]):
                    raise Unauthorized("the mentor key is not valid for this group")
                role = MENTOR
                sealed = seal(body["mentor_key"], bearer(request), group["id"], person.id)
            elif "invite" in body:
                if not _same(body["invite"], group["invite"]):
                    raise Unauthorized("the invite is not valid for this group")
            elif group["visibility"] != "public":
                current = await self.store.groups.role_of(group["id"], person.id)
                if current is None:
                    raise Unauthorized("this group is invite-only: send its invite")
            role = await self.store.groups.join(group["id"], person.id, role, self.now, sealed)
        except Exception as exc:
            return fail(exc)
        return JSONResponse({"group_id": group["id"], "role": role})

    async def list(self, request: Request) -> Response:
        try:
            limit, after = page_params(request.query_params)
            rows, following = await self.store.groups.public(limit, after)
        except Exception as exc:
            return fail(exc)
        now = self.now
        return JSONResponse({
            "groups": [
                {"group_id": g["id"], "name": g["name"], "members": g["members"],
                 "next_session_at": next_session_at(g["schedule"], now)}
                for g in rows
            ],
            "next": None if following is None else cursor_for(following),
        })

    async def get(self, request: Request) -> Response:
        try:
            _, group, membership = await self._member(request)
            return JSONResponse(await self._view(request, group, membership))
        except Exception as exc:
            return fail(exc)

    async def update(self, request: Request) -> Response:
        """A mentor changes the group's name, visibility, program or schedule."""
        try:
            _, group, membership = await self._mentor(request)
            changes = settings_of(await validated(request, "update_group.request"))
            updated = await self.store.groups.update(group["id"], changes)
            if updated is None:
                raise NotFound("no such group")
            return JSONResponse(await self._view(request, updated, membership))
        except Exception as exc:
            return fail(exc)

    async def leave(self, request: Request) -> Response:
        """The caller leaves the group; their own history stays theirs."""
        try:
            person = await self.people.person(request)
            group = await self._group(request)
            await self.store.groups.leave(group["id"], person.id)
        except Exception as exc:
            return fail(exc)
        return Response(status_code=204)

    async def _view(
        self, request: Request, group: dict[str, Any], membership: dict[str, Any]
    ) -> dict[str, Any]:
        """The group as `GET /api/groups/{id}` answers it to this member."""
        limit, after = page_params(request.query_params)
        members = await self.store.groups.members(group["id"])
        history = await self.store.groups.history_of([m["person_id"] for m in members])
        sessions, following = await self.store.groups.sessions(group["id"], limit, after)
        live = await self._live_room(group)
        now = self.now
        body: dict[str, Any] = {
            "group_id": group["id"],
            "name": group["name"],
            "visibility": group["visibility"],
            "program": group["program"],
            "schedule": group["schedule"],
            "role": membership["role"],
            "board_opt_in": membership["board_opt_in"],
            "members": [
                {"person_id": m["person_id"], "name": m["name"], "role": m["role"],
                 "streak": person_streak(history[m["person_id"]], zone(m["tz"]), now)["days"],
                 "group_streak": member_group_streak(
                     history[m["person_id"]], group, zone(m["tz"]), now)}
                for m in members
            ],
            "next_session_at": next_session_at(group["schedule"], now),
            "live_room": live,
            "sessions": [
                {"room_id": s["room_id"], "title": s["title"], "started_at": s["started_at"],
                 "ended_at": s["ended_at"], "present": s["present"]}
                for s in sessions
            ],
            "next": None if following is None else cursor_for(following),
        }
        if membership["role"] == MENTOR:
            for shown, kept in zip(body["sessions"], sessions, strict=True):
                shown["notes"] = kept["notes"]  # mentors-only notes, to mentors only
            body["invite"] = group["invite"]
            sealed = membership["mentor_key_sealed"]
            body["mentor_key"] = (
                None if sealed is None
                else unseal(sealed, bearer(request), group["id"], membership["person_id"])
            )
        return body

    async def _live_room(self, group: dict[str, Any]) -> dict[str, str] | None:
        room_id = group["live_room_id"]
        if room_id is None:
            return None
        try:
            room = await self.service.room(room_id)
        except NotFound:
            return None
        return None if room.closed else {"room_id": room_id}

    async def start_session(self, request: Request) -> Response:
        limited = over_limit(self.creations, request, "groups and sessions")
        if limited is not None:
            return limited
        try:
            _, group, _ = await self._mentor(request)
            visibility = "public" if group["visibility"] == "public" else "unlisted"
            room, _, _ = await self.service.create_room(
                group["name"][:80], visibility, group["program"], group_id=group["id"]
            )
            await self.store.groups.set_live_room(group["id"], room.state.id)
        except Exception as exc:
            return fail(exc)
        base = str(request.base_url).rstrip("/")
        room_id = room.state.id
        return JSONResponse(
            {"room_id": room_id, "links": {"room": f"{base}/r/{room_id}#group={group['id']}"}},
            status_code=201,
        )

    async def put_board(self, request: Request) -> Response:
        try:
            person, group, _ = await self._member(request)
            body = await validated(request, "board.request")
            await self.store.groups.set_board(group["id"], person.id, body["opt_in"])
        except Exception as exc:
            return fail(exc)
        return JSONResponse({"group_id": group["id"], "opt_in": body["opt_in"]})

    async def get_board(self, request: Request) -> Response:
        try:
            _, group, _ = await self._member(request)
            now = self.now
            tz = zone((group["schedule"] or {}).get("tz", "UTC"))
            start = week_start(now, tz)
            members = [m for m in await self.store.groups.members(group["id"])
                       if m["board_opt_in"]]
            ids = [m["person_id"] for m in members]
            history = await self.store.groups.history_of(ids)
            week = await self.store.groups.history_of(ids, since=start, group_id=group["id"])
        except Exception as exc:
            return fail(exc)
        entries = board(members, history, week, now, group)
        return JSONResponse({"week_start": start, "entries": entries})

    async def person(self, request: Request) -> Response:
        try:
            _, group, _ = await self._mentor(request)
            person_id = request.path_params["person_id"]
            if await self.store.groups.membership(group["id"], person_id) is None:
                raise NotFound("no such person in this group")
            target = await self.store.people.get(person_id)
            if target is None:
                raise NotFound("no such person in this group")
            limit, after = page_params(request.query_params)
            rows, following = await self.store.archive.sessions_of(
                person_id, limit, after, group_id=group["id"]
            )
            kept = await self.store.archive.all_of(person_id)
        except Exception as exc:
            return fail(exc)
        in_group = totals(s for s in kept if s.get("group_id") == group["id"])
        return JSONResponse({
            "person_id": target.id,
            "name": target.name,
            "streak": person_streak(kept, zone(target.tz), self.now),
            "group_streak": member_group_streak(kept, group, zone(target.tz), self.now),
            "totals": in_group,  # this group's sessions only, like the list
            "goals_kept": goals_kept_ratio(in_group),
            "sessions": [history_entry(r) for r in rows],
            "next": None if following is None else cursor_for(following),
        })

    async def session_report(self, request: Request) -> Response:
        """A kept session of the group, filtered for the caller (`group_report`)."""
        try:
            person, group, membership = await self._member(request)
            kept = await self.store.archive.kept_session(request.path_params["room_id"])
            if kept is None or kept[0]["group_id"] != group["id"]:
                raise NotFound("no such session in this group")
            session, records = kept
        except Exception as exc:
            return fail(exc)
        return JSONResponse(
            group_report(session, records, person.id, membership["role"] == MENTOR)
        )


def settings_of(body: dict[str, Any]) -> dict[str, Any]:
    """A group's settings from a schema-valid create or update body, checked
    beyond the schema and normalised: only the fields the body has; `program`
    and `schedule` may be None (none, or cleared). BadRequest says what is wrong."""
    settings: dict[str, Any] = {}
    if "name" in body:
        settings["name"] = body["name"].strip()
    if "visibility" in body:
        settings["visibility"] = body["visibility"]
    if "program" in body:
        program = body["program"]
        if program is not None:
            program = {"phases": program["phases"], "rounds": program.get("rounds", 1)}
            check_program(program["phases"], program["rounds"])
        settings["program"] = program
    if "schedule" in body:
        schedule = body["schedule"]
        if schedule is not None:
            schedule = {"days": schedule["days"], "time": schedule["time"],
                        "tz": schedule.get("tz", "UTC")}
            zone(schedule["tz"])
        settings["schedule"] = schedule
    return settings


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
