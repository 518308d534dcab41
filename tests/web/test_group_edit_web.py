"""A standing group changed and left from its page: the mentor edits its
program and schedule in the group form, prefilled, and everyone sees the new
plan; a member on a phone leaves it with the "Leave group" button."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.server import ServerProcess
from tests.web.conftest import PHONE
from tests.web.helpers import auth, open_as, post

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=15_000)

PROGRAM = {"phases": [{"name": "<b>Long tones</b>", "kind": "focus", "duration_ms": 90_000}],
           "rounds": 2}


def test_a_mentor_edits_the_plan_and_a_member_leaves(  # type: ignore[no-untyped-def]
    web_server: ServerProcess, open_page, screenshots: Path
) -> None:
    server = web_server
    mira, ana = (post(server, "/api/people", {"name": name}) for name in ("Mira", "Ana"))
    group = post(server, "/api/groups", {
        "name": "Thursday strings", "visibility": "invite", "program": PROGRAM,
        "schedule": {"days": ["thu"], "time": "19:30", "tz": "Europe/Paris"}}, mira)
    page_path = f"/g/{group['group_id']}"
    post(server, f"/api/groups/{group['group_id']}/members", {"invite": group["invite"]}, ana)

    # Mira edits the group from its page: the form opens with its settings.
    desk = open_page("mira")
    open_as(desk, mira)
    desk.goto(f"{server.http}{page_path}")
    expect(desk.locator("#schedule-view")).to_have_text("Thu at 19:30 (Europe/Paris)")
    expect(desk.locator("#program-view .plan-phase")).to_have_text(
        ["<b>Long tones</b> · Focus · 1 min 30 s"])  # user text stays text
    expect(desk.locator("#program-view")).to_contain_text("2 rounds · 3 min in all")
    desk.click("#edit-group")
    expect(desk.locator("#group-name")).to_have_value("Thursday strings")
    expect(desk.locator("#group-preset")).to_have_value("custom")
    expect(desk.locator("#group-edit .phase-name")).to_have_value("<b>Long tones</b>")
    expect(desk.locator("input[name=group-day][value=thu]")).to_be_checked()
    expect(desk.locator("#group-time")).to_have_value("19:30")
    desk.fill("#group-name", "Tuesday etudes")
    desk.select_option("#group-preset", "15-3x3")
    desk.uncheck("input[name=group-day][value=thu]")
    desk.check("input[name=group-day][value=tue]")
    desk.fill("#group-time", "07:15")
    desk.click("#group-edit button[type=submit]")
    expect(desk.locator("#group-edit")).to_be_hidden()
    expect(desk.locator("#group-h")).to_have_text("Tuesday etudes")
    expect(desk.locator("#schedule-view")).to_have_text("Tue at 07:15 (Europe/Paris)")
    expect(desk.locator("#program-view .plan-phase")).to_have_count(7)
    expect(desk.locator("#program-view .plan-phase").nth(1)).to_have_text(
        "Focus 1 · Focus · 15 min")
    expect(desk.locator("#program-view")).to_contain_text("1 round · 57 min")
    expect(desk.locator("#edit-group")).to_be_visible()
    saved = httpx.get(f"{server.http}/api/groups/{group['group_id']}", headers=auth(mira)).json()
    assert (saved["name"], saved["schedule"]["days"], saved["schedule"]["time"]) == (
        "Tuesday etudes", ["tue"], "07:15")
    assert [p["duration_ms"] for p in saved["program"]["phases"]][1] == 15 * 60_000

    # Ana, on her phone, reads the new plan (no edit for her) and leaves.
    phone = open_page("ana", PHONE)
    open_as(phone, ana)
    phone.goto(f"{server.http}{page_path}")
    expect(phone.locator("#program-view")).to_contain_text("Focus 1 · Focus · 15 min")
    expect(phone.locator("#edit-group")).to_be_hidden()
    phone.click("#leave")
    expect(phone.locator("#leave-confirm")).to_be_visible()
    phone.click("#leave-no")  # changed her mind, then not
    expect(phone.locator("#leave-confirm")).to_be_hidden()
    phone.click("#leave")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    phone.screenshot(path=str(screenshots / "group-leave-phone.png"), full_page=True)
    phone.click("#leave-yes")
    expect(phone.locator("#notice")).to_have_text(
        "You left the group. Your own practice history stays yours (My practice).")
    expect(phone.locator("#group")).to_be_hidden()

    desk.reload()
    expect(desk.locator("#members li")).to_have_count(1)
    expect(desk.locator("#members")).not_to_contain_text("Ana")
