"""uvicorn's server, with WebSockets closed the way the protocol says on SIGTERM.

uvicorn's own shutdown stops listening, then fails every open WebSocket with
1012 and only afterwards runs the app's lifespan shutdown, too late to say
anything. This server stops listening, then lets the app close its sockets
with 1001 (going away: reconnect to another process and resume) and waits
for them, bounded; then uvicorn's shutdown goes on as usual and finishes
the HTTP requests in flight (within `timeout_graceful_shutdown`).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import uvicorn


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # stop accepting first: clients go elsewhere
            server.close()
        for sock in sockets or []:
            sock.close()
        await self._drain()
        await super().shutdown(sockets)
