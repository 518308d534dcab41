"""The HTTP API of people: create one, read, rename, export and delete oneself.

Every route but `POST /api/people` is authorised by the person key
(`Authorization: Bearer <person_key>`), checked per request against the store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ensemble.auth import new_id, new_secret
from ensemble.core import BadRequest
from ensemble.core.errors import Unauthorized
from ensemble.core.history import (
    DEFAULT_TZ,
    goals_kept_ratio,
    person_streak,
    personal_bests,
    totals,
    week_summary,
    zone,
)
from ensemble.settings import Settings
from ensemble.store import BadCursor, Person, Store
from ensemble.store.archive import history_entry
from ensemble.timesource import Clock
from ensemble.transport.http import _json_body, error_response, failure
from ensemble.transport.pagination import MAX_LIMIT, cursor_for, page_params
from ensemble.transport.ratelimit import AddressBuckets
from ensemble.wire import schema
from ensemble.wire.codes import ErrorCode


def bearer(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send Authorization: Bearer <person_key>")
    return key.strip()


async def validated(request: Request, name: str) -> dict[str, Any]:
    body = await _json_body(request)
    try:
        schema.validate(body, "http", name)
    except schema.SchemaError as exc:
        raise BadRequest(str(exc)) from None
    return dict(body)


def fail(exc: Exception) -> Response:
    """`failure`, and the store's own errors: a page position it did not hand
    out is 400, an unreachable database 503, a lost race 409."""
    if isinstance(exc, BadCursor):
        return failure(BadRequest(str(exc)))
    if isinstance(exc, IntegrityError):
        return error_response(ErrorCode.CONFLICT, "that changed meanwhile: try again")
    if isinstance(exc, DBAPIError | OSError):
        return error_response(ErrorCode.UNAVAILABLE, "the service is briefly unavailable")
    return failure(exc)


def creation_limit(settings: Settings) -> AddressBuckets:
    """Per address, like rooms: what one address may make the database hold."""
    return AddressBuckets(settings.rooms_per_minute, settings.rooms_burst)


def over_limit(buckets: AddressBuckets, request: Request, what: str) -> Response | None:
    """A 429 when this address created too many `what` lately, else None."""
    if buckets.take(request.client.host if request.client else ""):
        return None
    response = error_response(
        ErrorCode.RATE_LIMITED, f"too many {what} created from this address: wait a little"
    )
    response.headers["Retry-After"] = str(buckets.retry_after())
    return response


class PeopleApi:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.creations = creation_limit(settings)

    async def person(self, request: Request) -> Person:
        """The person whose key authorises this request, or Unauthorized."""
        person = await self.store.people.by_key(bearer(request))
        if person is None:
            raise Unauthorized("the person key is not valid")
        return person

    async def create(self, request: Request) -> Response:
        limited = over_limit(self.creations, request, "people")
        if limited is not None:
            return limited
        try:
            body = await validated(request, "create_person.request")
            tz = body.get("tz", DEFAULT_TZ)
            zone(tz)
            key = new_secret()
            person = await self.store.people.create(
                new_id("p"), key, body["name"].strip(), tz, self.clock.now_ms()
            )
        except Exception as exc:
            return fail(exc)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "person_id": person.id,
                "person_key": key,
                "name": person.name,
                "tz": person.tz,
                # The key rides in the fragment: it never reaches a server log.
                "links": {"practice": f"{base}/me#person_key={key}"},
            },
            status_code=201,
        )

    async def me(self, request: Request) -> Response:
        try:
            return JSONResponse(await self._me(await self.person(request)))
        except Exception as exc:
            return fail(exc)

    async def update_me(self, request: Request) -> Response:
        try:
            person = await self.person(request)
            body = await validated(request, "update_me.request")
            if "tz" in body:
                zone(body["tz"])
            name = body["name"].strip() if "name" in body else None
            updated = await self.store.people.update(person.id, name=name, tz=body.get("tz"))
            if updated is None:
                raise Unauthorized("the person key is not valid")
            return JSONResponse(await self._me(updated))
        except Exception as exc:
            return fail(exc)

    async def sessions(self, request: Request) -> Response:
        try:
            person = await self.person(request)
            limit, after = page_params(request.query_params)
            rows, following = await self.store.archive.sessions_of(person.id, limit, after)
        except Exception as exc:
            return fail(exc)
        return JSONResponse({
            "sessions": [history_entry(r) for r in rows],
            "next": None if following is None else cursor_for(following),
        })

    async def export(self, request: Request) -> Response:
        try:
            person = await self.person(request)
            sessions: list[dict[str, Any]] = []
            after: str | None = None
            while True:
                rows, after = await self.store.archive.sessions_of(person.id, MAX_LIMIT, after)
                sessions.extend(history_entry(r) for r in rows)
                if after is None:
                    break
            me = await self._me(person)
        except Exception as exc:
            return fail(exc)
        me.update(created_at=person.created_at, sessions=sessions)
        disposition = {"Content-Disposition": "attachment; filename=practice.json"}
        return JSONResponse(me, headers=disposition)

    async def delete_me(self, request: Request) -> Response:
        try:
            person = await self.person(request)
            await self.store.people.delete(person.id)
        except Exception as exc:
            return fail(exc)
        return Response(status_code=204)

    async def _me(self, person: Person) -> dict[str, Any]:
        kept = await self.store.archive.all_of(person.id)
        tz, now = zone(person.tz), self.clock.now_ms()
        return {
            "person_id": person.id,
            "name": person.name,
            "tz": person.tz,
            "streak": person_streak(kept, tz, now),
            "totals": (counts := totals(kept)),
            "goals_kept": goals_kept_ratio(counts),
            "week": week_summary(kept, tz, now),
            "bests": personal_bests(kept, tz),
            "groups": await self.store.people.groups_of(person.id),
        }
