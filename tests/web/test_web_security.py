"""The web client against hostile text and leaky logs.

* Markup in EVERY user text the pages show (names, the room title, chat,
  comments public and private, goals, check-out notes, status text, mentors'
  notes, the timer label) appears as literal text on the room pages and the
  report, and creates no element.
* Opening the room links, joining and reading the report puts no secret
  (invite, host key, session token) in any URL the browser requests, nor in
  uvicorn's access log, nor in nginx's (deploy/nginx.conf).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import ClientConnection, connect

from tests.cluster.balancer import NGINX, Nginx
from tests.support.server import ServerProcess, start_server
from tests.web.helpers import assert_inert

pytestmark = [pytest.mark.browser]

expect.set_options(timeout=15_000)

MARKUP = "<img src=x onerror=alert(1)><b>XSS</b>"  # 38 characters: fits a name


def mark(tag: str) -> str:
    return MARKUP + tag


class Member:
    """A member speaking the protocol over a plain synchronous WebSocket (JSON)."""

    def __init__(self, ws: ClientConnection, room: dict[str, Any], name: str,
                 **credential: str) -> None:
        self.ws = ws
        self.ws.send(json.dumps({"type": "hello", "room": room["room_id"], "name": name,
                                 **credential}))
        self.welcome = self._next("welcome")
        self.member_id = self.welcome["member_id"]
        self._ref = 0

    def _next(self, *types: str) -> dict[str, Any]:
        while True:
            frame = json.loads(self.ws.recv(timeout=10))
            if frame["type"] in types:
                return dict(frame)

    def request(self, type_: str, **payload: Any) -> dict[str, Any]:
        self._ref += 1
        self.ws.send(json.dumps({"type": type_, "ref": self._ref, **payload}))
        reply = self._next("ack", "error")
        assert reply["type"] == "ack", reply
        return reply

    def member_named(self, name: str) -> str:
        members = self.welcome["snapshot"]["members"]
        return next(m["id"] for m in members if m["name"] == name)



def join_page(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("#join-name", name)
    page.click("#join-submit")
    expect(page.locator("#conn")).to_have_attribute("data-status", "open")



@pytest.mark.timeout(120)
def test_markup_in_every_user_text_stays_text(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    reply = httpx.post(f"{web_server.http}/api/rooms",
                       json={"title": mark("title"), "visibility": "public"})
    assert reply.status_code == 201
    room = reply.json()
    mentor = open_page("mentor")
    join_page(mentor, room["links"]["mentor"], "Mia")
    viewer = open_page("viewer")
    join_page(viewer, room["links"]["participant"], "Vic")

    json_ws = {"subprotocols": ["ensemble.v1.json"]}
    with connect(web_server.ws, **json_ws) as eve_ws, connect(web_server.ws, **json_ws) as mal_ws:
        eve = Member(eve_ws, room, mark("ev"), invite=room["invite"])
        mal = Member(mal_ws, room, mark("ma"), host_key=room["host_key"])
        vic = eve.member_named("Vic")
        eve.request("status.set", status="focus", text=mark("status"))
        eve.request("goal.set", text=mark("goal"))
        eve.request("goal.check", result="done", note=mark("checkout"))
        eve.request("chat.send", text=mark("chat"))
        eve.request("comment.send", text=mark("public"), to=vic)
        eve.request("comment.send", text=mark("private"), to=vic, private=True)
        mal.request("note.mentors", text=mark("note"))
        mal.request("comment.send", text=mark("mentorcomment"), to=eve.member_id)
        mal.request("timer.start", duration_ms=600_000, label=mark("label"))

        everyone_sees = [mark(t) for t in ("title", "ev", "ma", "status", "chat", "public",
                                           "label", "mentorcomment")]
        assert_inert(viewer, [*everyone_sees, mark("private")])
        assert_inert(mentor, [*everyone_sees, mark("private"), mark("note"), mark("goal"),
                              mark("checkout")])
        # Goals show to participants as well, on the member list.
        assert_inert(viewer, [mark("goal")])

        mentor.click("#report-link")
        expect(mentor.locator("#report")).to_be_visible()
        assert_inert(mentor, [mark(t) for t in ("title", "ev", "goal", "checkout", "public",
                                                "private", "mentorcomment")])


# -- secrets never reach a log --------------------------------------------------------


@pytest.fixture
def logged_server() -> Any:
    """A server with uvicorn's access log on, behind nginx with deploy/nginx.conf."""
    if NGINX is None:
        pytest.skip("nginx is not installed")
    server = start_server("--log-level", "info")
    nginx = Nginx([server.port]).start()
    yield server, nginx
    nginx.stop()
    server.stop()


@pytest.mark.timeout(120)
def test_no_secret_reaches_a_url_or_an_access_log(logged_server, open_page) -> None:  # type: ignore[no-untyped-def]
    server, nginx = logged_server
    base = nginx.http
    urls: list[str] = []

    mentor = open_page("mentor")
    mentor.on("request", lambda r: urls.append(r.url))
    mentor.goto(base + "/")
    mentor.fill("#title", "Quiet practice")
    mentor.click("#create-form button[type=submit]")
    expect(mentor.locator("#created")).to_be_visible()
    # Behind nginx (`Host: $host`) the server builds its links without nginx's
    # test port; in production nginx listens on the default port.
    invite_link = local(mentor.input_value("#participant-link"), base)
    mentor_link = local(mentor.input_value("#mentor-link"), base)
    assert "#invite=" in invite_link and "#host_key=" in mentor_link
    join_page(mentor, mentor_link, "Mia")
    room_id = mentor.evaluate("window.ensemble.state.room.id")
    mentor_token = mentor.evaluate("window.ensemble.conn.token")

    pat = open_page("participant")
    pat.on("request", lambda r: urls.append(r.url))
    join_page(pat, invite_link, "Pat")
    expect(mentor.locator("#people")).to_contain_text("Pat")
    pat.reload()  # comes back with its token
    expect(pat.locator("#conn")).to_have_attribute("data-status", "open")

    mentor.click("#report-link")
    expect(mentor.locator("#report")).to_be_visible()
    expect(mentor.locator("#attendance")).to_contain_text("Pat")

    secrets = {
        "invite": invite_link.split("#invite=")[1],
        "host_key": mentor_link.split("#host_key=")[1],
        "mentor token": mentor_token,
        "participant token": _stored_token(pat, room_id),
    }
    assert all(len(s) >= 16 for s in secrets.values()), secrets
    assert urls
    for url in urls:
        for what, secret in secrets.items():
            assert secret not in url, f"the {what} was in a requested URL"
    # The address bar keeps no host key once the mentor is in.
    assert "host_key" not in mentor.evaluate("location.href")

    nginx.halt()  # flushes and keeps its log
    server.stop()
    logs = {
        "uvicorn": Path(server.log_path).read_text(errors="replace"),  # type: ignore[arg-type]
        "nginx": nginx.access_log.read_text(errors="replace"),
    }
    for name, log in logs.items():
        assert f"/r/{room_id}" in log and "/api/rooms" in log, f"{name} logged no requests"
        for what, secret in secrets.items():
            assert secret not in log, f"the {what} is in the {name} access log"


def local(link: str, base: str) -> str:
    return base + link[link.index("/r/"):]


def _stored_token(page: Page, room_id: str) -> str:
    """The session token the page keeps for this room (sessionStorage)."""
    stored = page.evaluate(
        "id => Object.entries(sessionStorage).filter(([k]) => k.includes(id))"
        ".map(([, v]) => v)", room_id)
    for value in stored:
        try:
            token = json.loads(value).get("token")
        except (ValueError, AttributeError):
            continue
        if token:
            return str(token)
    return ""


@pytest.mark.timeout(60)
def test_an_old_query_link_works_and_leaves_the_bar(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = httpx.post(f"{web_server.http}/api/rooms",
                      json={"title": "Old link", "visibility": "unlisted"}).json()
    page = open_page("old link")
    page.goto(f"{web_server.http}/r/{room['room_id']}?invite={room['invite']}")
    assert "?invite" not in page.evaluate("location.href")
    assert page.evaluate("location.hash") == f"#invite={room['invite']}"
    page.fill("#join-name", "Ola")
    page.click("#join-submit")
    expect(page.locator("#conn")).to_have_attribute("data-status", "open")
    mentor = open_page("old mentor link")
    mentor.goto(f"{web_server.http}/r/{room['room_id']}?host_key={room['host_key']}")
    assert "host_key" not in mentor.evaluate("location.search")
    mentor.fill("#join-name", "Mia")
    mentor.click("#join-submit")
    expect(mentor.locator("#mentor-controls")).to_be_visible()
    assert "host_key" not in mentor.evaluate("location.href")
