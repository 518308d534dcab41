"""CPU of one committed command on Redis, in the process that commits it.

    .venv/bin/python bench/commit.py                 # 3000 chat lines in a room of 10
    .venv/bin/python bench/commit.py --commands 10000 --members 30

Starts its own redis-server, makes a room of `--members` members through the
Redis backend, then commits `--commands` chat lines one after another and
prints the process's CPU time per command, twice: running each command on
the room as this process committed it last (what a server does), and with
that copy forgotten before every command (read and decoded from Redis each
time, as when another process wrote the room last).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ensemble.backends.redis import RedisBackend  # noqa: E402
from ensemble.settings import Settings  # noqa: E402
from tests.backends.rooms import join, new_room, request  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(url: str, commands: int, members: int, *, forget: bool) -> float:
    backend = RedisBackend(Settings(redis_url=url), prefix="bench")
    await backend.start()
    try:
        room = new_room()
        room_id = room.state.id
        await backend.create_room(room.state, room.opening())
        for i in range(members):
            await backend.transact(room_id, join(f"m{i}", "mentor" if i == 0 else "participant"))
        chat = request("m1", "chat.send", {"text": "x" * 64})
        started = cpu_seconds()
        for _ in range(commands):
            if forget:
                backend.store._known.clear()
            await backend.transact(room_id, chat)
        return (cpu_seconds() - started) / commands * 1e6
    finally:
        await backend.close()


async def run(args: argparse.Namespace) -> None:
    redis = RedisServer()
    redis.start()
    try:
        for forget in (False, True, False, True):
            per = await measure(redis.url, args.commands, args.members, forget=forget)
            how = "read and decoded each time" if forget else "on the room committed last"
            print(f"  {how:28s} {per:6.1f} us CPU per command")
    finally:
        redis.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--members", type=int, default=10)
    args = parser.parse_args()
    print(f"commit: {args.commands} chat lines in a room of {args.members}, one Redis")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
