"""What several browser tests do beside the page: wait for the history,
run websocket clients off Playwright's loop, check that markup stayed text."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess


def auth(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['person_key']}"}


def post(server: ServerProcess, path: str, body: dict[str, Any] | None = None,
         person: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST to the API (as `person`, if given); the answer of a 200 or 201."""
    reply = httpx.post(f"{server.http}{path}", json=body or {},
                       headers=auth(person) if person else {})
    assert reply.status_code in (200, 201), reply.text
    return dict(reply.json())


def invite_group(server: ServerProcess, name: str, mentor: dict[str, Any],
                 *members: dict[str, Any]) -> dict[str, Any]:
    """An invite-only group `mentor` made, that `members` joined by its invite."""
    group = post(server, "/api/groups", {"name": name, "visibility": "invite"}, mentor)
    for member in members:
        post(server, f"/api/groups/{group['group_id']}/members", {"invite": group["invite"]},
             member)
    return group


def open_as(page: Page, person: dict[str, Any]) -> None:
    """The person's practice link moves their key into this browser."""
    page.goto(person["links"]["practice"])
    expect(page.locator("#practice")).to_be_visible()
    assert "person_key" not in page.url


def wait_kept(server: ServerProcess, person: dict[str, Any], count: int = 1) -> list[Any]:
    """The person's kept sessions, once there are `count` (within 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        reply = httpx.get(f"{server.http}/api/me/sessions", headers=auth(person))
        assert reply.status_code == 200, reply.text
        sessions = list(reply.json()["sessions"])
        if len(sessions) >= count:
            return sessions
        assert time.monotonic() < deadline, f"{len(sessions)} of {count} sessions kept in 20 s"
        time.sleep(0.1)


def in_a_thread(coroutine: Any) -> None:
    """Run a coroutine on its own loop, away from Playwright's (at most 60 s)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # handed to the test
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the websocket clients did not finish in 60 s"
    if failure:
        raise failure[0]


def assert_inert(page: Page, texts: list[str]) -> None:
    """Every text shows literally; no element came from the markup."""
    body = page.locator("body")
    for text in texts:
        expect(body).to_contain_text(text)
    made = page.evaluate(
        """() => [...document.querySelectorAll('img, b')]
                  .filter(e => e.tagName === 'IMG' ? e.getAttribute('src') === 'x'
                                                   : e.textContent === 'XSS').length""")
    assert made == 0, f"{made} elements were made from user text"
