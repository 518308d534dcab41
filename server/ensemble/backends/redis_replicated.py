"""Commits a replica has before anybody hears of them.

Redis replicates asynchronously: a master that dies before its replica got a
write takes the write with it, and the promoted replica lets the room's next
commit reuse the lost event's seq with other content. Had the lost event
been published, members would keep it and drop its successor as a duplicate.

So on a Redis with replicas (``redis_wait_replicas``: 1 on a Redis Cluster by
default) a commit goes to the master of the room's slot in one round trip on
ONE connection:

    EVALSHA commit (publishes nothing) ; WAIT <replicas> <wait_ms> ; EVALSHA publish

WAIT counts the writes of its own connection, hence the one connection. The
publish script (redis_publish.lua) publishes only if that commit is the
room's last one (its token); a commit another overtook meanwhile is
published afterwards on its own (members order by seq). The sender's
acknowledgement waits for the same round trip.

WAIT timing out (a replica down or slower than ``wait_ms``) does not stop the
shard: the commit is published and acknowledged anyway, counted
(``ensemble_redis_unreplicated_commits_total``) and logged. While a replica is
down every commit of its shard waits that long (Redis times WAIT out on its
own timer: about 100 ms at least with its default ``hz 10``). Such a commit is
lost if its master dies before a replica has it. To refuse writes instead,
set Redis's own ``min-replicas-to-write`` on the masters.

A connection that breaks raises BackendUnavailable; the caller resends with
the same token (idempotent; the commit script writes again when it finds its
token, so the WAIT that follows covers the commit found).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import AskError, MovedError, NoScriptError, TryAgainError

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_client import ALREADY, COMMITTED, RedisClient, unavailable

log = logging.getLogger(__name__)

PAYLOAD = 9  # the commit script's ARGV[10], the publication
REDIRECTS = 5  # MOVED / ASK / TRYAGAIN followed before giving up
WARN_EVERY_S = 10.0


class ReplicatedCommits:
    def __init__(self, client: RedisClient, *, replicas: int, wait_ms: int) -> None:
        self._client = client
        self.replicas = replicas
        self.wait_ms = wait_ms
        self.unreplicated = 0
        self.on_unreplicated: Callable[[], None] | None = None
        self._warned_at = -WARN_EVERY_S
        self._unwarned = 0
        self._running: set[asyncio.Task[tuple[int, int]]] = set()

    async def commit(
        self, keys: list[str], args: list[Any], channel: bytes
    ) -> tuple[int, int]:
        """Run the commit script as redis_commit.lua says, then WAIT, then publish
        its payload (``args[PAYLOAD]``) if it committed. Returns {status, version}.

        A caller cancelled meanwhile (its socket closed) does not stop the
        publication of what was committed, as inside the script it could not."""
        task = asyncio.ensure_future(self._commit(keys, args, channel))
        self._running.add(task)
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Task[tuple[int, int]]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that was cancelled cannot

    async def _commit(
        self, keys: list[str], args: list[Any], channel: bytes
    ) -> tuple[int, int]:
        state, token, payload = keys[0], args[1], args[PAYLOAD]
        quiet = [*args[:PAYLOAD], b"", *args[PAYLOAD + 1:]]
        node: tuple[str, int] | None = None
        loaded = True  # EVALSHA; EVAL once a node said NOSCRIPT
        read_timeout = self._client.socket_timeout + self.wait_ms / 1000
        for _ in range(REDIRECTS):
            asking = [("ASKING",)] if node else []
            commands: list[tuple[Any, ...]] = [
                *asking, self._script("commit", loaded, keys, quiet),
                ("WAIT", self.replicas, self.wait_ms),
            ]
            if payload:
                commands += [*asking, self._script("publish", loaded, [state],
                                                   [token, channel, payload])]
            replies = await self._client.on_owner(
                state, commands, read_timeout=read_timeout, node=node
            )
            replies = [r for r, c in zip(replies, commands, strict=True) if c[0] != "ASKING"]
            committed, waited = replies[0], replies[1]
            published = replies[2] if payload else 1
            if isinstance(committed, NoScriptError):
                loaded = False
            elif isinstance(committed, MovedError):
                await self._client.follow_moved(committed)
                node = None
            elif isinstance(committed, AskError):
                node = (committed.host, int(committed.port))
            elif isinstance(committed, TryAgainError):
                await asyncio.sleep(0.05)
            elif isinstance(committed, Exception):
                with unavailable():
                    raise committed
            else:
                break
        else:
            raise BackendUnavailable(f"redis: commit of {state} redirected {REDIRECTS} times")
        status, version = int(committed[0]), int(committed[1])
        if status in (COMMITTED, ALREADY):
            if not isinstance(waited, int) or waited < self.replicas:
                self._count_unreplicated(state, waited)
            if published != 1:
                await self._publish_alone(state, channel, payload, published)
        return status, version

    def _script(self, name: str, loaded: bool, keys: list[Any], args: list[Any]) -> tuple[Any, ...]:
        sha, source = self._client.script_code(name)
        return ("EVALSHA" if loaded else "EVAL", sha if loaded else source,
                len(keys), *keys, *args)

    async def _publish_alone(self, state: str, channel: bytes, payload: bytes,
                             published: Any) -> None:
        """The commit is the room's but a later one overtook it before its
        publish ran (or the publish failed): publish it now, whatever the state
        holds. Should even that fail, members learn of it from the history when
        the room's next event arrives."""
        try:
            await self._client.script("publish", [state], [b"", channel, payload])
        except BackendUnavailable as error:
            log.warning("commit on %s not published (%r, then %s): members catch it up "
                        "at the room's next event", state, published, error)

    def _count_unreplicated(self, state: str, waited: Any) -> None:
        self.unreplicated += 1
        self._unwarned += 1
        if self.on_unreplicated is not None:
            self.on_unreplicated()
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            log.warning(
                "%d commit(s) acknowledged without a replica within %d ms (the last on %s, "
                "WAIT said %r): a master lost now takes them with it; Redis's "
                "min-replicas-to-write refuses such writes instead",
                self._unwarned, self.wait_ms, state, waited,
            )
            self._warned_at, self._unwarned = now, 0
