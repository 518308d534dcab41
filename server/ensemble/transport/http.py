"""The HTTP API: rooms, report, health, readiness and metrics."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ensemble.core import BadRequest, DomainError
from ensemble.metrics import Metrics
from ensemble.service import RoomService
from ensemble.transport.errors import HTTP_STATUS, InternalFailure, error_for
from ensemble.transport.pagination import page_params, paginate
from ensemble.transport.ratelimit import AddressBuckets
from ensemble.wire import schema
from ensemble.wire.codec import DecodeError, parse_json
from ensemble.wire.codes import ErrorCode

MAX_BODY = 64 * 1024


def error_response(code: ErrorCode, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code.value, "message": message}},
        status_code=HTTP_STATUS.get(code, 500),
    )


class BodyTooLarge(DomainError):
    code = ErrorCode.TOO_LARGE.value


def failure(exc: Exception) -> JSONResponse:
    """The error answer for a refused request; anything unexpected propagates (500)."""
    try:
        code, message = error_for(exc)
    except InternalFailure:
        raise exc from None
    response = error_response(code, message)
    if isinstance(exc, BodyTooLarge):
        # The rest of the body is never read: the connection cannot be reused.
        response.headers["Connection"] = "close"
    return response


class HttpApi:
    def __init__(self, service: RoomService, metrics: Metrics) -> None:
        self.service = service
        self.metrics = metrics
        settings = service.settings
        self.creations = AddressBuckets(settings.rooms_per_minute, settings.rooms_burst)

    async def create_room(self, request: Request) -> Response:
        address = request.client.host if request.client else ""
        if not self.creations.take(address):
            response = error_response(
                ErrorCode.RATE_LIMITED, "too many rooms created from this address: wait a little"
            )
            response.headers["Retry-After"] = str(self.creations.retry_after())
            return response
        try:
            body = await _json_body(request)
            title, visibility, program = _room_fields(body)
            room, invite, host_key = await self.service.create_room(title, visibility, program)
        except Exception as exc:
            return failure(exc)
        base = str(request.base_url).rstrip("/")
        room_id = room.state.id
        return JSONResponse(
            {
                "room_id": room_id,
                "title": title,
                "visibility": visibility,
                "invite": invite,
                "host_key": host_key,
                # Secrets ride in the fragment, which browsers never send to a
                # server, so they reach no access log.
                "links": {
                    "participant": f"{base}/r/{room_id}#invite={invite}",
                    "mentor": f"{base}/r/{room_id}#host_key={host_key}",
                },
            },
            status_code=201,
        )

    async def list_rooms(self, request: Request) -> Response:
        try:
            limit, after = page_params(request.query_params)
            rooms = await self.service.backend.list_rooms()
        except Exception as exc:
            return failure(exc)
        page, cursor = paginate(rooms, lambda r: str(r["room_id"]), limit, after)
        return JSONResponse({"rooms": [_listing(r) for r in page], "next": cursor})

    async def get_room(self, request: Request) -> Response:
        try:
            room = await self.service.room(request.path_params["room_id"])
        except Exception as exc:
            return failure(exc)
        return JSONResponse(room.summary())

    async def report(self, request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return error_response(ErrorCode.UNAUTHORIZED, "send Authorization: Bearer <host_key>")
        try:
            report = await self.service.report(request.path_params["room_id"], key.strip())
        except Exception as exc:
            return failure(exc)
        return JSONResponse(report)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(self, request: Request) -> Response:
        ready = await self.service.ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def metrics_page(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")


def _listing(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary[k] for k in ("room_id", "title", "visibility", "members", "invite")
            if k in summary}


async def _json_body(request: Request) -> Any:
    """The body as strict JSON (see `parse_json`), read no further than MAX_BODY."""
    too_large = BodyTooLarge(f"the body is larger than {MAX_BODY} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    try:
        return parse_json(b"".join(chunks) or b"{}")
    except DecodeError as exc:
        raise BadRequest(f"the body: {exc}") from None


def _room_fields(body: Any) -> tuple[str, str, dict[str, Any] | None]:
    """Title, visibility (public unless said) and program of a new room."""
    if isinstance(body, dict):
        body.setdefault("visibility", "public")
    try:
        schema.validate(body, "http", "create_room.request")
    except schema.SchemaError as exc:
        raise BadRequest(str(exc)) from None
    program = body.get("program")
    if program is not None:
        program = {"phases": program["phases"], "rounds": program.get("rounds", 1)}
    return body["title"].strip(), body["visibility"], program
