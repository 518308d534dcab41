"""The connection the Redis roles share: one client for one Redis or a Redis
Cluster, the Lua scripts, error mapping, and the per-slot index scan."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.crc import key_slot
from redis.exceptions import ClusterError, ReadOnlyError, RedisClusterException, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ensemble.backends.base import BackendUnavailable
from ensemble.backends.redis_broker import Topology
from ensemble.backends.redis_commands import Commands
from ensemble.backends.redis_keys import INDEXES, Keys
from ensemble.backends.redis_pubsub import Address, Endpoint

SCRIPTS = Path(__file__).parent
SCRIPT_NAMES = ("commit", "publish", "stranded", "presence", "claim", "delete")
# What the commit script answers (redis_commit.lua): committed, this token's
# commit was made already, version conflict, no such room, too late.
COMMITTED, ALREADY, CONFLICT, MISSING, TOO_LATE = 1, 2, 0, -1, -2
# Replies that mean "this Redis cannot serve now", not "the request is wrong".
UNAVAILABLE_REPLIES = (
    "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM", "BUSY", "MOVED", "ASK",
    "READONLY", "NOAUTH",  # a replica answering after a failover; a password set since
)
CLUSTER_SCHEME = "redis+cluster"


@contextlib.contextmanager
def unavailable() -> Iterator[None]:
    """Map Redis failures to BackendUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise BackendUnavailable(f"redis: {error}") from error
    except (ClusterError, RedisClusterException) as error:
        raise BackendUnavailable(f"redis cluster: {error}") from error
    except ResponseError as error:
        if str(error).startswith(UNAVAILABLE_REPLIES):
            raise BackendUnavailable(f"redis: {error}") from error
        raise


def _raised(reply: Any) -> Any:
    """A lean connection's reply as redis-py gives it: an error reply raised
    (as BackendUnavailable where it means Redis cannot serve now)."""
    if isinstance(reply, hiredis.ReplyError):
        with unavailable():
            raise ResponseError(str(reply))
    return reply


def cluster_nodes(url: str) -> list[Address]:
    """The nodes of a ``redis+cluster://host:port[,host:port...]`` URL."""
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME or not parts.netloc:
        raise ValueError(f"not a {CLUSTER_SCHEME}://host:port[,host:port...] URL: {url!r}")
    nodes = []
    for hostport in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{hostport!r} in {url!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


class RedisClient:
    def __init__(self, url: str, keys: Keys, *, socket_timeout: float, index_ttl: float) -> None:
        self.url = url
        self.keys = keys
        self.clustered = urlsplit(url).scheme == CLUSTER_SCHEME
        if self.clustered:
            cluster_nodes(url)  # a bad URL fails here, not at the first command
        self.socket_timeout = socket_timeout
        self._index_ttl = index_ttl
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._indexes: dict[str, set[bytes]] = {kind: set() for kind in INDEXES}
        self._indexes_read = -1e9
        self._commands: Commands | None = None  # script calls on one Redis

    def start(self) -> Topology:
        """Create the client (connecting lazily) and say how pub/sub finds a
        channel's node."""
        common: dict[str, Any] = {
            "decode_responses": False,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), 1)
        if self.clustered:
            cluster = RedisCluster(
                startup_nodes=[ClusterNode(h, p) for h, p in cluster_nodes(self.url)],
                require_full_coverage=False,
                retry=retry,
                **common,
            )
            self._redis = cluster

            def owner(channel: bytes) -> Address:
                node = cluster.nodes_manager.get_node_from_slot(key_slot(channel))
                return node.host, int(node.port)

            async def refresh() -> None:
                # The client's own first initialization (a no-op later) makes
                # its close() close what the slot map reload connects.
                await cluster.initialize()
                await cluster.nodes_manager.initialize()

            topology = Topology(owner, refresh, lambda address: Endpoint.of(self.url, address))
        else:
            self._redis = aioredis.Redis.from_url(self.url, retry=retry, **common)
            single = urlsplit(self.url)
            address = (single.hostname or "localhost", single.port or 6379)

            async def nothing() -> None:
                return None

            topology = Topology(
                lambda channel: address, nothing, lambda _: Endpoint.of(self.url, address)
            )
            if single.scheme in ("redis", "rediss"):
                db = int(single.path.strip("/") or 0)
                self._commands = Commands(Endpoint.of(self.url, address), db, self.socket_timeout)
        for name in SCRIPT_NAMES:
            source = (SCRIPTS / f"redis_{name}.lua").read_bytes()
            self._scripts[name] = self._redis.register_script(source)
        return topology

    async def close(self) -> None:
        if self._commands is not None:
            await self._commands.close()
        if self._redis is not None:
            await self._redis.aclose()
        self._redis = None

    @property
    def redis(self) -> Any:
        # Any: redis-py's stubs type replies as bytes | str; with
        # decode_responses=False they are always bytes.
        if self._redis is None:
            raise RuntimeError("RedisBackend used before start() or after close()")
        return self._redis

    async def script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        if self._commands is not None:
            return await self._lean_script(name, keys, args)
        with unavailable():
            return await self._scripts[name](keys=keys, args=args)

    async def call(self, *args: Any) -> Any:
        """One command, on the lean connection where there is one (an error
        reply raises as redis-py's would)."""
        if self._commands is None:
            with unavailable():
                return await self.redis.execute_command(*args)
        return _raised(await self._commands.call(*args))

    async def _lean_script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        """A script call on the lean connection (redis_commands.py), with the
        replies and errors redis-py gives."""
        assert self._commands is not None
        reply = await self._commands.call(*self.script_command(name, True, keys, args))
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            # EVAL, and Redis keeps the script for the next EVALSHA.
            reply = await self._commands.call(*self.script_command(name, False, keys, args))
        return _raised(reply)

    def script_command(
        self, name: str, loaded: bool, keys: list[Any], args: list[Any]
    ) -> tuple[Any, ...]:
        """The command that runs a script: EVALSHA, or EVAL (with its source)
        where Redis does not have it loaded."""
        script = self._scripts[name]
        head = ("EVALSHA", script.sha) if loaded else ("EVAL", script.script)
        return (*head, len(keys), *keys, *args)

    async def on_owner(
        self, key: str, commands: list[tuple[Any, ...]], *, read_timeout: float,
        node: Address | None = None,
    ) -> list[Any]:
        """Send `commands` in one round trip over ONE connection to the master of
        `key`'s slot (or to `node`, after an ASK), and read their replies; a
        reply that is an error is returned, not raised. One connection, so that
        a WAIT among them counts the writes of the commands before it.

        A connection failure raises BackendUnavailable (the connection is
        dropped and, on a cluster, the slot map reloaded)."""
        redis = self.redis
        if self.clustered:
            with unavailable():
                await redis.initialize()  # a no-op once the slot map is read
                owner = (redis.get_node(host=node[0], port=node[1]) if node
                         else redis.get_node_from_key(key))
            if owner is None:
                raise BackendUnavailable(f"redis cluster: no node {node} for {key}")
            with unavailable():
                connection = owner.acquire_connection()

            async def release(connection: Any) -> None:
                owner.release(connection)
        else:
            with unavailable():
                connection = await redis.connection_pool.get_connection()
            release = redis.connection_pool.release

        replies: list[Any] = []
        try:
            with unavailable():
                await connection.send_packed_command(connection.pack_commands(commands))
                for _ in commands:
                    try:
                        reply = await connection.read_response(timeout=read_timeout)
                    except ResponseError as error:
                        reply = error
                    if reply is None:  # read_timeout passed (nothing is a reply here)
                        raise RedisTimeoutError(f"no reply within {read_timeout} s")
                    replies.append(reply)
        except BaseException as error:
            await connection.disconnect(nowait=True)  # replies may be pending: not reused
            await release(connection)
            if self.clustered and not isinstance(error, asyncio.CancelledError):
                await self._reload_slots(owner.name)
            raise
        await release(connection)
        return replies

    async def _reload_slots(self, failed: str) -> None:
        """After a connection to `failed` broke: read the slot map again (as
        RedisCluster does for its own commands), that node asked last."""
        nodes = self.redis.nodes_manager
        nodes.move_node_to_end_of_cached_nodes(failed)
        with contextlib.suppress(Exception):  # the next command tries again
            await nodes.initialize()

    async def follow_moved(self, error: ResponseError) -> None:
        """A MOVED reply: the slot map learns the slot's new owner."""
        await self.redis.nodes_manager.move_slot(error)

    # -- the per-slot indexes ----------------------------------------------------

    def saw_index(self, kind: str, key: str) -> None:
        """This process wrote that index: no need to wait for the next scan."""
        self._indexes[kind].add(key.encode())

    async def index_keys(self, kind: str, *, fresh: bool = False) -> list[bytes]:
        """The per-slot indexes of `kind` that exist, rescanned every `index_ttl`
        (or now, when `fresh`)."""
        now = time.monotonic()
        if fresh or now - self._indexes_read > self._index_ttl:
            found: dict[str, set[bytes]] = {k: set() for k in INDEXES}
            with unavailable():
                async for key in self.redis.scan_iter(match=self.keys.index_pattern, count=1000):
                    kind_of = self.keys.index_kind(key)
                    if kind_of in found:
                        found[kind_of].add(key)
            self._indexes, self._indexes_read = found, now
        return sorted(self._indexes[kind])

    async def each_index(
        self, kind: str, call: Callable[[Any, bytes], None], *, fresh: bool = False
    ) -> list[Any]:
        """`call(pipe, key)` for each index of `kind`, in one pipeline per node."""
        keys = await self.index_keys(kind, fresh=fresh)
        if not keys:
            return []
        with unavailable():
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    call(pipe, key)
                return list(await pipe.execute())
