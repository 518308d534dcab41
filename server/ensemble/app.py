"""create_app(settings): routes, the web client, and the lifespan that wires it all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from ensemble.archiver import Archiver
from ensemble.backends import create_backend
from ensemble.hub import Hub
from ensemble.metrics import Metrics
from ensemble.service import RoomService
from ensemble.settings import Settings
from ensemble.store import Store
from ensemble.timesource import Clock, ManualClock, SystemClock
from ensemble.transport.headers import NoSniff, internal_error
from ensemble.transport.http import HttpApi
from ensemble.transport.http_groups import GroupsApi
from ensemble.transport.http_people import PeopleApi
from ensemble.transport.outbox import RAW_SEND, shed_handshake
from ensemble.transport.ratelimit import MemberBuckets
from ensemble.transport.session import Session
from ensemble.transport.testclock import clock_route
from ensemble.wire.codec import Format
from ensemble.wire.codes import CloseCode

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = ROOT / "client-web"
MSGPACK_DIR = CLIENT_DIR / "node_modules" / "@msgpack" / "msgpack" / "dist.esm"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DRAIN_TIMEOUT_S = 5.0  # sockets get this long to take their 1001 on shutdown
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> SocketsFirst:
    settings = settings or Settings.from_env()
    if clock is None:
        clock = ManualClock() if settings.test_clock else SystemClock()
    metrics = Metrics()
    backend = create_backend(settings)
    watch_unreplicated = getattr(backend, "watch_unreplicated", None)  # Redis only
    if watch_unreplicated is not None:
        watch_unreplicated(metrics.unreplicated_commits.inc)
    store = Store.from_settings(
        settings.database_url, settings.data_dir, f"ensemble-{settings.node_id}"
    )
    hub = Hub(backend, metrics, clock)
    service = RoomService(settings, backend, hub, clock, store)
    archiver = Archiver(service, store)
    service.archiver = archiver
    api = HttpApi(service, metrics)
    people = PeopleApi(store, clock, settings)
    groups = GroupsApi(store, service, people)
    buckets = MemberBuckets(settings.rate_per_s, settings.rate_burst)

    live: set[Session] = set()
    all_ended = asyncio.Event()
    draining = False

    async def websocket_endpoint(websocket: WebSocket) -> None:
        fmt, subprotocol = Format.for_subprotocols(websocket.scope.get("subprotocols", []))
        await websocket.accept(subprotocol=subprotocol)
        shed_handshake(websocket)
        if draining:
            await websocket.close(CloseCode.GOING_AWAY, "server shutting down: reconnect")
            return
        session = Session(websocket, fmt, service, settings, metrics, buckets)
        live.add(session)
        try:
            await session.run()
        finally:
            live.discard(session)
            if not live:
                all_ended.set()

    async def drain(timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Close every socket with 1001 (reconnect elsewhere and resume) and wait,
        bounded, until their sessions ended and recorded their leaving."""
        nonlocal draining
        draining = True
        if not live:
            return
        all_ended.clear()
        for session in list(live):
            session.close(CloseCode.GOING_AWAY, "server shutting down: reconnect")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await all_ended.wait()

    def page(name: str):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> Response:
            return FileResponse(CLIENT_DIR / name, headers=PAGE_HEADERS)

        return endpoint

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.start()
        await backend.start()
        tasks = [
            asyncio.create_task(service.scheduler.run(), name="scheduler"),
            asyncio.create_task(service.run_presence(), name="presence"),
            asyncio.create_task(archiver.run(), name="archiver"),
        ]
        try:
            yield
        finally:
            await drain(1.0)  # (served by uvicorn: drained before, nothing left)
            await _cancel(tasks)
            await backend.close()
            await store.close()

    routes = [
        Route("/api/rooms", api.create_room, methods=["POST"]),
        Route("/api/rooms", api.list_rooms, methods=["GET"]),
        Route("/api/rooms/{room_id}", api.get_room, methods=["GET"]),
        Route("/api/rooms/{room_id}/report", api.report, methods=["GET"]),
        Route("/api/people", people.create, methods=["POST"]),
        Route("/api/me", people.me, methods=["GET"]),
        Route("/api/me", people.update_me, methods=["PATCH"]),
        Route("/api/me", people.delete_me, methods=["DELETE"]),
        Route("/api/me/sessions", people.sessions, methods=["GET"]),
        Route("/api/me/export", people.export, methods=["GET"]),
        Route("/api/groups", groups.create, methods=["POST"]),
        Route("/api/groups", groups.list, methods=["GET"]),
        Route("/api/groups/{group_id}", groups.get, methods=["GET"]),
        Route("/api/groups/{group_id}", groups.update, methods=["PATCH"]),
        Route("/api/groups/{group_id}/members", groups.join, methods=["POST"]),
        Route("/api/groups/{group_id}/members/me", groups.leave, methods=["DELETE"]),
        Route("/api/groups/{group_id}/sessions", groups.start_session, methods=["POST"]),
        Route("/api/groups/{group_id}/sessions/{room_id}", groups.session_report,
              methods=["GET"]),
        Route("/api/groups/{group_id}/board", groups.put_board, methods=["PUT"]),
        Route("/api/groups/{group_id}/board", groups.get_board, methods=["GET"]),
        Route("/api/groups/{group_id}/people/{person_id}", groups.person, methods=["GET"]),
        Route("/healthz", api.healthz),
        Route("/readyz", api.readyz),
        Route("/metrics", api.metrics_page),
        Route("/", page("index.html")),
        Route("/r/{room_id}", page("room.html")),
        Route("/r/{room_id}/report", page("report.html")),
        Route("/me", page("me.html")),
        Route("/g/{group_id}", page("group.html")),
        Route("/g/{group_id}/p/{person_id}", page("person.html")),
        Route("/g/{group_id}/s/{room_id}", page("group-session.html")),
        Mount("/static", StaticFiles(directory=CLIENT_DIR, check_dir=False), name="static"),
        Mount("/vendor/msgpack", StaticFiles(directory=MSGPACK_DIR, check_dir=False)),
    ]
    if settings.test_clock and isinstance(clock, ManualClock):
        log.warning("ENSEMBLE_TEST_CLOCK is set: time moves only by POST /test/clock")
        routes.insert(0, Route("/test/clock", clock_route(clock, service.scheduler),
                               methods=["POST"]))
    web = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(NoSniff)],
        exception_handlers={Exception: internal_error},
    )
    web.state.service = service
    web.state.drain = drain
    web.state.settings = settings
    web.state.store = store
    return SocketsFirst(web, websocket_endpoint)


class SocketsFirst:
    """The application uvicorn serves: `/ws` straight to the session, the rest
    (pages, API, lifespan) to Starlette.

    A WebSocket lives as long as its member stays, and everything on its way in
    stays with it: Starlette's middleware and routing would keep a chain of
    coroutines and scope copies alive per socket (several KiB each), and wrap
    the server's `send`, which the outbox needs as it is (see transport/outbox.py).
    """

    def __init__(
        self, web: Starlette, endpoint: Callable[[WebSocket], Awaitable[None]]
    ) -> None:
        self.web = web
        self.state = web.state
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            scope[RAW_SEND] = send
            await self._endpoint(WebSocket(scope, receive, send))
            return
        await self.web(scope, receive, send)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the background loops until they are gone: redis-py can swallow a
    cancellation that lands while it handles a timeout, and a loop that took it
    for an unavailable backend would go on forever."""
    while not all(task.done() for task in tasks):
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=0.2)
    await asyncio.gather(*tasks, return_exceptions=True)
