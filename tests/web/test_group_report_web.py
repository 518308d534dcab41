"""A group's past session opens as its report from the group page, read from the
history: a member on a phone sees the goals and the comments meant for her
(markup in them shown as text), not another's private comment nor the
mentors' notes; the mentor sees those too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ensemble.client import Client
from tests.support.server import ServerProcess
from tests.web.conftest import PHONE
from tests.web.helpers import in_a_thread, open_as, post, wait_kept

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=15_000)

GOAL = "<b>bars 12-16</b> <img src=x onerror=\"window.pwned=1\"> at 80"
PRIVATE = "<script>window.pwned=2</script>relax the left wrist"


async def hold_session(server: ServerProcess, room_id: str, people: dict[str, dict]) -> None:
    """Mira, Ana and Bo in the room: a goal, comments, a note; then it closes."""
    clients = {name: await Client.connect(server.ws, room=room_id, name=name,
                                          person_key=p["person_key"])
               for name, p in people.items()}
    try:
        mentor, ana, bo = clients["Mira"], clients["Ana"], clients["Bo"]
        await ana.request("goal.set", text=GOAL)
        await ana.request("goal.check", result="partial", note="up to <i>bar 15</i>")
        await bo.request("comment.send", to=ana.member_id, text="lovely tone, Ana")
        await mentor.request("comment.send", to=ana.member_id, text=PRIVATE, private=True)
        await mentor.request("comment.send", to=bo.member_id, text="for Bo only", private=True)
        await mentor.request("note.mentors", text="mentors: Ana rushes")
        await mentor.request("room.close")
    finally:
        for client in clients.values():
            await client.close()


def test_a_member_reads_a_past_sessions_report_from_the_group_page(  # type: ignore[no-untyped-def]
    web_server, open_page, screenshots: Path, tmp_path: Path
) -> None:
    server = web_server
    people = {name: post(server, "/api/people", {"name": name}) for name in ("Mira", "Ana", "Bo")}
    mira, ana = people["Mira"], people["Ana"]
    group = post(server, "/api/groups", {"name": "Thursday strings", "visibility": "invite"},
                 mira)
    for name in ("Ana", "Bo"):
        post(server, f"/api/groups/{group['group_id']}/members", {"invite": group["invite"]},
             people[name])
    room_id = post(server, f"/api/groups/{group['group_id']}/sessions", None, mira)["room_id"]
    in_a_thread(hold_session(server, room_id, people))
    wait_kept(server, ana)

    # Ana, on her phone: the group page's past session opens its report.
    phone = open_page("ana", PHONE)
    open_as(phone, ana)
    phone.goto(f"{server.http}/g/{group['group_id']}")
    link = phone.locator(f"#past a.session-report[data-room='{room_id}']")
    expect(link).to_contain_text("Thursday strings")
    link.click()
    expect(phone.locator("#report")).to_be_visible()
    assert phone.url.endswith(f"/g/{group['group_id']}/s/{room_id}")
    expect(phone.locator("#report-h")).to_have_text("Session report: Thursday strings")
    expect(phone.locator("#report-summary")).to_contain_text("3 present")
    expect(phone.locator("#attendance tbody tr")).to_have_count(3)
    goal = phone.locator("#goals li")
    expect(goal).to_have_count(1)
    expect(goal.locator(".goal")).to_have_text(GOAL)  # markup shown as text
    expect(goal).to_contain_text("up to <i>bar 15</i>")
    mine = phone.locator(f"#feedback article[data-person='{ana['person_id']}']")
    expect(mine.locator("li")).to_have_count(2)
    expect(mine.locator("li:not(.is-private) .text")).to_have_text("lovely tone, Ana")
    expect(mine.locator("li.is-private .text")).to_have_text(PRIVATE)
    assert phone.locator("#sections img, #sections script, #sections b, #sections i").count() == 0
    assert phone.evaluate("() => window.pwned === undefined")
    expect(phone.locator("#sections")).not_to_contain_text("for Bo only")
    expect(phone.locator("#notes")).to_have_count(0)
    expect(phone.locator("#sections")).not_to_contain_text("Ana rushes")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(screenshots / "group-report-phone.png"), full_page=True)
    # Downloaded, it is what she was shown: without others' private comments.
    with phone.expect_download() as download:
        phone.click("#download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"ensemble-session-{room_id}.json"
    kept = json.loads(saved.read_text())
    assert kept["room"]["title"] == "Thursday strings"
    assert "for Bo only" not in saved.read_text() and PRIVATE in saved.read_text()
    phone.click("#back")
    expect(phone.locator("#group-h")).to_have_text("Thursday strings")

    # Mira, a mentor: every private comment and the mentors' notes.
    desk = open_page("mira")
    open_as(desk, mira)
    desk.goto(f"{server.http}/g/{group['group_id']}")
    desk.click(f"#past a.session-report[data-room='{room_id}']")
    expect(desk.locator("#notes li .text")).to_have_text("mentors: Ana rushes")
    expect(desk.locator("#feedback")).to_contain_text("for Bo only")
    expect(desk.locator("#feedback")).to_contain_text(PRIVATE)
    desk.screenshot(path=str(screenshots / "group-report-desktop.png"), full_page=True)
