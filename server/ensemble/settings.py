"""Typed settings: defaults, overridden by ENSEMBLE_* environment variables, then the CLI."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ensemble.core.state import DEFAULT_RETENTION_MS

ENV_PREFIX = "ENSEMBLE_"


@dataclass(frozen=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=8000, metadata={"help": "port to listen on"})
    redis_url: str = field(
        default="",
        metadata={"help": "redis://HOST:PORT/DB (one Redis) or "
                          "redis+cluster://HOST:PORT[,HOST:PORT...] (a Redis Cluster) "
                          "to share rooms between processes"},
    )
    redis_wait_replicas: int = field(
        default=-1,
        metadata={"help": "replicas that must have a commit before it is published and "
                          "acknowledged (WAIT); -1: 1 on a Redis Cluster, 0 on one Redis"},
    )
    redis_wait_ms: int = field(
        default=100,
        metadata={"help": "how long a commit waits for its replicas; then it is published "
                          "and acknowledged anyway, and counted (ms)"},
    )
    database_url: str = field(
        default="",
        metadata={"help": "postgresql://USER@HOST/DB for people and history "
                          "(empty: SQLite in the data directory)"},
    )
    data_dir: str = field(
        default="data", metadata={"help": "directory of the embedded SQLite database"}
    )
    grace_ms: int = field(
        default=15_000,
        metadata={"help": "how long a disconnected member stays before it leaves (ms)"},
    )
    secret: str = field(
        default="",
        metadata={"help": "key that signs session tokens (unset: generated, shared through Redis)"},
    )
    max_frame_bytes: int = field(
        default=64 * 1024, metadata={"help": "largest request; larger ones get too_large"}
    )
    hard_frame_bytes: int = field(
        default=1024 * 1024, metadata={"help": "frames beyond this close the connection"}
    )
    rate_per_s: float = field(
        default=20.0, metadata={"help": "requests per second per member (all its sockets)"}
    )
    rate_burst: int = field(default=40, metadata={"help": "request burst per member"})
    abuse_limit: int = field(
        default=50, metadata={"help": "rate-limited requests in a row before closing (4008)"}
    )
    send_queue: int = field(
        default=1024, metadata={"help": "frames queued per socket before it is cut loose"}
    )
    history_size: int = field(default=1000, metadata={"help": "events kept per stream"})
    record_log_size: int = field(
        default=10_000,
        metadata={"help": "report records (goals, turns, comments, ...) kept per room"},
    )
    record_quota_per_member: int = field(
        default=1000,
        metadata={"help": "report records kept per member in a room's record log; a "
                          "member's records past it are dropped and counted"},
    )
    max_members: int = field(default=500, metadata={"help": "members present in one room"})
    max_conns_per_member: int = field(
        default=8, metadata={"help": "sockets one member may hold open (tabs, devices)"}
    )
    left_members_kept: int = field(
        default=100,
        metadata={"help": "members who left that a room remembers (their tokens still work)"},
    )
    idle_room_ms: int = field(
        default=30 * 60 * 1000,
        metadata={"help": "an open room with nobody in it closes after this long (ms)"},
    )
    rooms_per_minute: float = field(
        default=10.0, metadata={"help": "rooms one client address may create per minute"}
    )
    rooms_burst: int = field(
        default=20, metadata={"help": "rooms one client address may create in a burst"}
    )
    room_retention_ms: int = field(
        default=DEFAULT_RETENTION_MS,
        metadata={"help": "how long a closed room (and its report) is kept before deletion"},
    )
    hello_timeout_ms: int = field(
        default=10_000, metadata={"help": "time from connecting to hello (absolute)"}
    )
    close_timeout_ms: int = field(
        default=10_000,
        metadata={"help": "time a closing socket gets to take its close frame before it is cut"},
    )
    max_connections: int = field(
        default=20_000, metadata={"help": "open HTTP and WebSocket connections per process"}
    )
    header_timeout_ms: int = field(
        default=10_000, metadata={"help": "time a client gets to send a request's headers"}
    )
    presence_ttl_ms: int = field(
        default=10_000, metadata={"help": "lease on a connection, refreshed by heartbeats"}
    )
    scheduler_sweep_ms: int = field(
        default=1000,
        metadata={"help": "how often the whole schedule is scanned for rooms this process "
                          "was not told about (ms)"},
    )
    scheduler_claim_ms: int = field(
        default=5000,
        metadata={"help": "how long a process's claim on a due room holds before another "
                          "may tick it (ms)"},
    )
    test_clock: bool = field(
        default=False,
        metadata={"help": "TESTS ONLY: the server's clock moves only through "
                          "POST /test/clock (see README)"},
    )
    node_id: str = field(default="", metadata={"help": "this process's name (random when unset)"})
    log_level: str = field(default="info", metadata={"help": "debug, info, warning or error"})

    def __post_init__(self) -> None:
        if not self.node_id:
            object.__setattr__(self, "node_id", secrets.token_hex(4))

    @property
    def secret_is_generated(self) -> bool:
        return not self.secret

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ENSEMBLE_<NAME> variables, then explicit overrides."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


class SettingsError(ValueError):
    """A setting's value is not of its kind; the message says which and why."""


def _convert(type_: Any, raw: str, name: str) -> Any:
    kind = type_ if isinstance(type_, str) else type_.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        what = {"int": "an integer", "float": "a number"}[kind]
        raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be {what}, got {raw!r}") from None
    return raw
