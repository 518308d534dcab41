"""Where rooms live between requests: state, history, fan-out, schedule, presence."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ensemble.backends.base import Backend
    from ensemble.settings import Settings


def create_backend(settings: Settings) -> Backend:
    """The memory backend by default; Redis when a redis:// URL is set (imported lazily)."""
    if settings.redis_url:
        from ensemble.backends.redis import RedisBackend

        return RedisBackend(settings)
    from ensemble.backends.memory import MemoryBackend

    return MemoryBackend(settings)
