"""Where rooms live between requests: state, history, fan-out, schedule, presence.

The backend is chosen by the URL's scheme (`--redis` / ENSEMBLE_REDIS_URL) and
imported only when chosen: no URL runs in memory (one process).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ensemble.backends.base import Backend
    from ensemble.settings import Settings

# URL scheme -> "module:class"
SCHEMES = {
    "redis": "ensemble.backends.redis:RedisBackend",
    "rediss": "ensemble.backends.redis:RedisBackend",
    "redis+cluster": "ensemble.backends.redis:RedisBackend",
}
MEMORY = "ensemble.backends.memory:MemoryBackend"


def scheme_of(url: str) -> str:
    """The URL's scheme if a backend serves it; ValueError otherwise."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"the backend URL takes one of {known}, not {url.split(':')[0]!r}")
    return scheme


def create_backend(settings: Settings) -> Backend:
    target = SCHEMES[scheme_of(settings.redis_url)] if settings.redis_url else MEMORY
    module, _, name = target.partition(":")
    backend: Backend = getattr(importlib.import_module(module), name)(settings)
    return backend
