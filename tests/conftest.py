from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.rooms import Rooms
from tests.support.server import ServerProcess, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One real server process for the app tests (rooms keep tests apart).

    Its rate limit is raised so tests can send bursts; the limit itself is
    tested on a server with the defaults.
    """
    process = start_server("--grace-ms", "1000",
                           env={"ENSEMBLE_RATE_PER_S": "500", "ENSEMBLE_RATE_BURST": "500"})
    yield process
    process.stop()


@pytest.fixture(scope="session")
def default_server() -> Iterator[ServerProcess]:
    """A server with every setting at its default but the grace period."""
    process = start_server("--grace-ms", "1000")
    yield process
    process.stop()


@pytest.fixture
async def default_rooms(default_server: ServerProcess) -> AsyncIterator[Rooms]:
    helper = Rooms(default_server)
    yield helper
    await helper.close()


@pytest.fixture
async def rooms(server: ServerProcess) -> AsyncIterator[Rooms]:
    helper = Rooms(server)
    yield helper
    await helper.close()
