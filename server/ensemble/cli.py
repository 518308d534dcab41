"""The `ensemble` command: `ensemble serve` runs the server."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields

from ensemble.settings import ENV_PREFIX, Settings

SERVE_OPTIONS = ("host", "port", "redis_url", "grace_ms", "secret", "node_id", "log_level")
SHUTDOWN_GRACE_S = 10
FLAG_NAMES = {"redis_url": "--redis"}


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
    for f in fields(Settings):
        if f.name not in SERVE_OPTIONS:
            continue
        flag = FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-"))
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        serve.add_argument(
            flag,
            dest=f.name,
            type={"int": int, "float": float}.get(kind, str),
            default=None,
            metavar=f.name.upper(),
            help=f"{f.metadata['help']} (env {ENV_PREFIX}{f.name.upper()}, default {f.default!r})",
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        overrides = {name: getattr(args, name) for name in SERVE_OPTIONS}
        serve(Settings.from_env(**overrides))


def serve(settings: Settings) -> None:
    import uvicorn

    from ensemble.app import create_app
    from ensemble.transport.http_protocol import with_header_timeout
    from ensemble.transport.shutdown import DrainingServer

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://")):
        raise SystemExit("--redis takes a redis:// or rediss:// URL")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=with_header_timeout(settings.header_timeout_ms / 1000),
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
