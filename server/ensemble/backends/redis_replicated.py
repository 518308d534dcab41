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
import secrets
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import AskError, MovedError, NoScriptError, TryAgainError

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_client import ALREADY, COMMITTED, RedisClient, unavailable
from ensemble.backends.redis_keys import UNPUBLISHED as UNPUBLISHED_INDEX

log = logging.getLogger(__name__)

CHANNEL, PAYLOAD = 8, 9  # the commit script's ARGV[9] and ARGV[10]
ROOM_ID = 4  # its ARGV[5]
UNPUBLISHED = 6  # its KEYS[7], the slot's unpublished commits
REDIRECTS = 5  # MOVED / ASK / TRYAGAIN followed before giving up
WARN_EVERY_S = 10.0
STRANDED_MS = 1000  # plus twice the WAIT: then a commit's publication is another's job


class ReplicatedCommits:
    def __init__(self, client: RedisClient, *, replicas: int, wait_ms: int) -> None:
        self._client = client
        self.replicas = replicas
        self.wait_ms = wait_ms
        # Longer than a live process takes from its commit to its publication.
        self.stranded_ms = STRANDED_MS + 2 * wait_ms
        self.unreplicated = 0
        self.on_unreplicated: Callable[[], None] | None = None
        self._warned_at = -WARN_EVERY_S
        self._unwarned = 0
        self._running: set[asyncio.Task[tuple[int, int]]] = set()

    async def commit(self, keys: list[str], args: list[Any]) -> tuple[int, int]:
        """Run the commit script as redis_commit.lua says, then WAIT, then publish
        its payload (``args[PAYLOAD]``) if it committed. Returns {status, version}.

        A caller cancelled meanwhile (its socket closed) does not stop the
        publication of what was committed, as inside the script it could not."""
        task = asyncio.ensure_future(self._commit(keys, args))
        self._running.add(task)
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Task[tuple[int, int]]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that was cancelled cannot

    async def _commit(self, keys: list[str], args: list[Any]) -> tuple[int, int]:
        state, token, payload, channel = keys[0], args[1], args[PAYLOAD], args[CHANNEL]
        publication = [keys[UNPUBLISHED], channel, payload, args[ROOM_ID]]
        # No channel: the script keeps the payload until the publish below.
        quiet = [*args[:CHANNEL], b"", *args[CHANNEL + 1:]]
        node: tuple[str, int] | None = None
        loaded = True  # EVALSHA; EVAL once a node said NOSCRIPT
        read_timeout = self._client.socket_timeout + self.wait_ms / 1000
        script = self._client.script_command
        for _ in range(REDIRECTS):
            asking = [("ASKING",)] if node else []
            commands: list[tuple[Any, ...]] = [
                *asking, script("commit", loaded, keys, quiet),
                ("WAIT", self.replicas, self.wait_ms),
            ]
            if payload:
                commands += [*asking, script("publish", loaded, [state, publication[0]],
                                             [token, *publication[1:]])]
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
                await self._publish_alone(state, publication, published)
        return status, version

    async def publish_stranded(self) -> int:
        """Publish what processes that died between commit and publish left
        (redis_stranded.lua): rooms whose last commit waited past `stranded_ms`.
        Anything that fails is left for the next sweep."""
        cutoff = int(time.time() * 1000) - self.stranded_ms
        found = await self._client.each_index(
            UNPUBLISHED_INDEX, lambda pipe, key: pipe.zrangebyscore(key, "-inf", cutoff)
        )
        published = 0
        for room_id in (r.decode() for rooms in found for r in rooms):
            keys = self._client.keys
            index, state = keys.index(room_id, UNPUBLISHED_INDEX), keys.room(room_id, "state")
            nonce = secrets.token_hex(8)
            for loaded in (True, False):  # EVALSHA; EVAL if the node says NOSCRIPT
                script = self._client.script_command
                commands = [
                    script("stranded", loaded, [index, state],
                           ["claim", room_id, nonce, self.stranded_ms]),
                    ("WAIT", self.replicas, self.wait_ms),
                    script("stranded", loaded, [index, state],
                           ["publish", room_id, nonce, keys.channel(room_id)]),
                ]
                try:
                    replies = await self._client.on_owner(
                        state, commands,
                        read_timeout=self._client.socket_timeout + self.wait_ms / 1000,
                    )
                except BackendUnavailable as error:
                    log.info("publishing what a process left on room %s failed: %s",
                             room_id, error)
                    replies = []
                    break
                if not isinstance(replies[0], NoScriptError):
                    break
            if replies and replies[2] == 1:
                published += 1
                log.warning("published a commit on room %s that its process left "
                            "unpublished (it died after committing)", room_id)
        return published

    async def _publish_alone(self, state: str, publication: list[Any], published: Any) -> None:
        """The commit is the room's but a later one overtook it before its
        publish ran (or the publish failed): publish it now, whatever the state
        holds. Should even that fail, members learn of it from the history when
        the room's next event arrives."""
        index, channel, payload, room_id = publication
        try:
            await self._client.script("publish", [state, index], [b"", channel, payload, room_id])
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
