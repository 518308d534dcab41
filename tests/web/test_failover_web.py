"""The web client across a graceful shutdown: a page behind nginx (the
deploy/nginx.conf topology) on process A, A gets SIGTERM, the page is told
1001 and comes back through nginx on process B, resuming where it was."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.cluster.balancer import NGINX, Nginx
from tests.support.redis_server import RedisServer
from tests.support.server import ServerProcess, free_port

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(120),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make system-packages)"),
]

expect.set_options(timeout=15_000)


@pytest.fixture
def balanced() -> Iterator[tuple[Nginx, list[ServerProcess], RedisServer]]:
    """Redis, two processes, nginx in front; everything stopped by pid after."""
    redis = RedisServer()
    redis.start()
    servers: list[ServerProcess] = []
    nginx: Nginx | None = None
    try:
        for _ in range(2):
            servers.append(ServerProcess(
                free_port(), ["--redis", redis.url, "--grace-ms", "60000"],
                {"ENSEMBLE_PRESENCE_TTL_MS": "1500"},
            ).start())  # fmt: skip
        nginx = Nginx([s.port for s in servers]).start()
        yield nginx, servers, redis
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()
        redis.cleanup()


def open_sockets(server: ServerProcess) -> int:
    page = httpx.get(f"{server.http}/metrics").text
    match = re.search(r"^ensemble_connections (\S+)$", page, re.MULTILINE)
    assert match, "no connection gauge"
    return int(float(match.group(1)))


def test_a_page_moves_to_another_process_on_sigterm(balanced, open_page) -> None:  # type: ignore[no-untyped-def]
    nginx, servers, _ = balanced
    reply = httpx.post(f"{nginx.http}/api/rooms",
                       json={"title": "Rolling restart", "visibility": "unlisted"})
    assert reply.status_code == 201, reply.text
    room = reply.json()

    ann = open_page("ann")
    ann.goto(f"{nginx.http}/r/{room['room_id']}?invite={room['invite']}")
    ann.fill("#join-name", "Ann")
    ann.click("#join-submit")
    expect(ann.locator("#conn")).to_have_attribute("data-status", "open")
    victim = next(s for s in servers if open_sockets(s) == 1)
    survivor = next(s for s in servers if s is not victim)

    # The mentor's page talks to the survivor directly.
    mia = open_page("mia")
    mia.goto(f"{survivor.http}/r/{room['room_id']}?host_key={room['host_key']}")
    mia.fill("#join-name", "Mia")
    mia.click("#join-submit")
    expect(mia.locator("#conn")).to_have_attribute("data-status", "open")
    mia.fill("#chat-text", "before the restart")
    mia.press("#chat-text", "Enter")
    expect(ann.locator("#feed")).to_contain_text("before the restart")

    victim.process.send_signal(signal.SIGTERM)
    assert victim.process.wait(timeout=20) in (0, -signal.SIGTERM)
    mia.fill("#chat-text", "while Ann moves")
    mia.press("#chat-text", "Enter")

    expect(ann.locator("#conn")).to_have_attribute("data-close-code", "1001")
    expect(ann.locator("#conn")).to_have_attribute("data-status", "open", timeout=20_000)
    expect(ann.locator("#conn")).to_have_attribute("data-resumed", "true")
    assert open_sockets(survivor) == 2
    mia.fill("#chat-text", "after the restart")
    mia.press("#chat-text", "Enter")
    expect(ann.locator("#feed")).to_contain_text("after the restart")
    texts = ann.locator("#feed li .text").all_text_contents()
    for text in ("before the restart", "while Ann moves", "after the restart"):
        assert texts.count(text) == 1, texts
    expect(ann.locator("#notice")).not_to_contain_text("Disconnected")
    expect(mia.locator("#people li", has_text="Ann")).not_to_contain_text("disconnected")


def test_a_page_whose_room_redis_lost_says_the_room_is_gone(balanced, open_page) -> None:  # type: ignore[no-untyped-def]
    nginx, _, redis = balanced
    reply = httpx.post(f"{nginx.http}/api/rooms", json={"title": "Lost", "visibility": "unlisted"})
    room = reply.json()
    ann = open_page("ann")
    ann.goto(f"{nginx.http}/r/{room['room_id']}?invite={room['invite']}")
    ann.fill("#join-name", "Ann")
    ann.click("#join-submit")
    expect(ann.locator("#conn")).to_have_attribute("data-status", "open")

    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")  # what a restart without persistence does
        assert sock.recv(16).startswith(b"+OK")

    # The page sends nothing: the server notices by itself and says so.
    expect(ann.locator("#conn")).to_have_attribute("data-close-code", "4103", timeout=20_000)
    expect(ann.locator("#conn")).to_have_attribute("data-status", "closed")
    expect(ann.locator("#notice")).to_contain_text("This room no longer exists.")
