"""The `ensemble` command: `ensemble serve` runs the server."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields

from ensemble.settings import ENV_PREFIX, Settings, SettingsError
from ensemble.timesource import Clock

SERVE_OPTIONS = (
    "host", "port", "redis_url", "database_url", "data_dir", "grace_ms", "secret", "node_id",
    "log_level",
)  # fmt: skip
DB_OPTIONS = ("database_url", "data_dir")
SHUTDOWN_GRACE_S = 10
FLAG_NAMES = {"redis_url": "--redis", "database_url": "--database"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ensemble", description="Real-time server for live group practice."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve rooms over HTTP and WebSocket",
        description="Serve rooms. Every option can also be set with an ENSEMBLE_<NAME> "
        "environment variable (for example ENSEMBLE_PORT=9000, ENSEMBLE_REDIS_URL=...).",
    )
    _add_options(serve, SERVE_OPTIONS)
    db = commands.add_parser("db", help="manage the database of people and history")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply the database migrations (the server also does it on start)"
    )
    _add_options(upgrade, DB_OPTIONS)
    return parser


def _add_options(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    for f in fields(Settings):
        if f.name not in names:
            continue
        flag = FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        parser.add_argument(
            flag,
            dest=f.name,
            type={"int": int, "float": float}.get(kind, str),
            default=None,
            metavar=f.name.upper(),
            help=f"{f.metadata['help']} (env {ENV_PREFIX}{f.name.upper()}, default {f.default!r})",
        )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    names = SERVE_OPTIONS if args.command == "serve" else DB_OPTIONS
    try:
        settings = Settings.from_env(**{name: getattr(args, name) for name in names})
    except SettingsError as exc:
        raise SystemExit(str(exc)) from None
    if args.command == "serve":
        serve(settings)
    elif args.command == "db":
        db_upgrade(settings)


def db_upgrade(settings: Settings) -> None:
    from ensemble.store.engine import DatabaseUrlError, database_url, upgrade_url

    try:
        url = database_url(settings.database_url, settings.data_dir)
    except DatabaseUrlError as exc:
        raise SystemExit(str(exc)) from None
    upgrade_url(url)
    print("database is up to date")


def serve(settings: Settings, clock: Clock | None = None) -> None:
    """Run the server; `clock` is injected by tests (the system clock otherwise)."""
    import uvicorn

    from ensemble.app import create_app
    from ensemble.backends import scheme_of
    from ensemble.transport.http_protocol import with_header_timeout
    from ensemble.transport.shutdown import DrainingServer
    from ensemble.transport.ws_protocol import LeanWebSocketProtocol

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.redis_url:
        try:
            scheme_of(settings.redis_url)
        except ValueError as error:
            raise SystemExit(f"--redis: {error}") from None
    from ensemble.store.engine import DatabaseUrlError, database_url

    try:
        database_url(settings.database_url, settings.data_dir)
    except DatabaseUrlError as exc:
        raise SystemExit(str(exc)) from None
    app = create_app(settings, clock)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=with_header_timeout(settings.header_timeout_ms / 1000),
        # websockets-sansio (the outbox writes through it), lighter per idle socket.
        ws=LeanWebSocketProtocol,
        # Past this many open connections uvicorn answers 503 instead of serving.
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        ws_max_size=settings.hard_frame_bytes,
        # Compression would re-encode every frame per connection; an event is
        # encoded once and the same bytes go to every socket.
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        log_level=settings.log_level,
        lifespan="on",
        # SIGTERM: requests in flight get this long to finish.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    DrainingServer(config, app.state.drain).run()
