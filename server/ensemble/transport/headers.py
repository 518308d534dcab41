"""Headers every HTTP response carries, whatever answered it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


class NoSniff:
    """`X-Content-Type-Options: nosniff` on every HTTP response: API, errors,
    404s, static files, metrics, pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != NOSNIFF[0]]
                message = {**message, "headers": [*headers, NOSNIFF]}
            await send(message)

        await self.app(scope, receive, send_with_header)


async def internal_error(request: Request, exc: Exception) -> Response:
    """The 500 answer. Starlette sends it from outside every middleware, so it
    sets the header itself."""
    return Response("internal error", status_code=500, media_type="text/plain",
                    headers={NOSNIFF[0].decode(): NOSNIFF[1].decode()})
