"""History in the browser: a person practises in two sessions of a group on two
days (the server's clock is moved by the test), then sees a streak of 2, both
goals and the mentor's comments on "My practice"; the mentor sees both
sessions on the person's page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.clock_server import CLOCK_FILE, set_offset
from tests.support.server import ServerProcess, free_port
from tests.web.conftest import PHONE
from tests.web.helpers import wait_kept

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=15_000)

DAY_MS = 24 * 3600 * 1000
PROGRAM = {"phases": [{"name": "Focus", "kind": "focus", "duration_ms": 600_000}], "rounds": 1}


@pytest.fixture
def clocked_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A server whose clock the test moves (tests/support/clock_server.py)."""
    clock = tmp_path / "clock"
    set_offset(clock, -DAY_MS)  # it starts yesterday
    server = ServerProcess(free_port(), ["--grace-ms", "2000"],
                           {CLOCK_FILE: str(clock), "ENSEMBLE_DATA_DIR": str(tmp_path)},
                           module="tests.support.clock_server")
    server.start()
    yield server, clock
    server.stop()


def person_of(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("() => JSON.parse(localStorage.getItem('ensemble:person'))"))



def enter(page: Page, name: str) -> None:
    page.fill("#join-name", name)
    page.click("#join-submit")
    expect(page.locator("#room")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-status", "open")


def practise_one_session(server: ServerProcess, mentor: Page, ana: Page, group_id: str,
                         goal: str, comment: str) -> None:
    """The mentor starts today's session from the group page; Ana joins it from hers."""
    mentor.goto(f"{server.http}/g/{group_id}")
    mentor.click("#start")
    expect(mentor.locator("#join")).to_be_visible()
    assert "#group=" in mentor.url and "person_key" not in mentor.url
    enter(mentor, "Mira")
    expect(mentor.locator("#room-close")).to_be_visible()  # a mentor, by her group role

    ana.goto(f"{server.http}/g/{group_id}")
    ana.click("#join-live")
    expect(ana.locator("#join-invite-field")).to_be_hidden()  # the person key is enough
    enter(ana, "Ana")
    ana.fill("#goal-text", goal)
    ana.click("#goal-form button[type=submit]")
    expect(ana.locator("#goal-current")).to_contain_text(goal)

    mentor.click("#sprint-start")  # the group's program: focus first
    expect(ana.locator("#phase-line")).to_contain_text("Focus")
    card = mentor.locator("#dash article", has_text="Ana")
    card.locator("input").fill(comment)
    card.locator("button", has_text="Send privately").click()
    expect(ana.locator("#feed li.is-private")).to_contain_text(comment)
    mentor.click("#room-close")
    mentor.click("#room-close")
    expect(ana.locator("#notice")).to_contain_text("closed")


def test_two_days_of_practice_make_a_streak_of_two(  # type: ignore[no-untyped-def]
    clocked_server, open_page, screenshots: Path
) -> None:
    server, clock = clocked_server
    mira = httpx.post(f"{server.http}/api/people", json={"name": "Mira"}).json()
    group = httpx.post(f"{server.http}/api/groups",
                       json={"name": "Thursday strings", "visibility": "invite",
                             "program": PROGRAM},
                       headers={"Authorization": f"Bearer {mira['person_key']}"}).json()

    # Mira's personal link moves her key into her browser (and out of the address bar).
    mentor = open_page("mentor")
    mentor.goto(mira["links"]["practice"])
    expect(mentor.locator("#practice")).to_be_visible()
    assert "person_key" not in mentor.url
    assert person_of(mentor)["person_id"] == mira["person_id"]

    # Ana follows the group's invite link on her phone, and starts her log there.
    ana = open_page("ana", PHONE)
    ana.goto(group["links"]["join"])
    ana.fill("#name-input", "Ana")
    ana.click("#name-form button[type=submit]")
    expect(ana.locator("#group-h")).to_have_text("Thursday strings")
    assert "invite" not in ana.url
    me = person_of(ana)

    # Yesterday, then today.
    practise_one_session(server, mentor, ana, group["group_id"], "Day one: scales at 80",
                         "Day one: relax the wrist")
    wait_kept(server, me, 1)
    set_offset(clock, 0)
    practise_one_session(server, mentor, ana, group["group_id"], "Day two: arpeggios",
                         "Day two: breathe before the shift")
    wait_kept(server, me, 2)

    # -- My practice ------------------------------------------------------------------
    ana.goto(f"{server.http}/me")
    expect(ana.locator("#streak-days")).to_have_text("2")
    expect(ana.locator("#total-sessions")).to_have_text("2")
    sessions = ana.locator("#sessions article")
    expect(sessions).to_have_count(2)
    expect(sessions.nth(0)).to_contain_text("Day two: arpeggios")  # newest first
    expect(sessions.nth(1)).to_contain_text("Day one: scales at 80")
    expect(sessions.nth(0).locator("li.is-private")).to_contain_text("breathe before the shift")
    expect(sessions.nth(1).locator("li.is-private")).to_contain_text("relax the wrist")
    expect(ana.locator("#calendar .day.on")).to_have_count(2)
    expect(ana.locator("#groups")).to_contain_text("Thursday strings")
    assert ana.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    ana.screenshot(path=str(screenshots / "practice-phone.png"), full_page=True)

    ana.goto(f"{server.http}/g/{group['group_id']}")
    expect(ana.locator("#past > li")).to_have_count(2)
    assert ana.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    # -- the group page and the mentor's page for Ana -------------------------------------
    mentor.goto(f"{server.http}/g/{group['group_id']}")
    expect(mentor.locator("#past > li")).to_have_count(2)
    expect(mentor.locator("#members")).to_contain_text("Ana")
    # The group has no schedule: its streak counts days with a group session.
    expect(mentor.locator(f"#members li[data-person='{me['person_id']}'] .group-streak")
           ).to_have_text("2 group days in a row (best 2)")
    mentor.screenshot(path=str(screenshots / "group-desktop.png"), full_page=True)
    mentor.click(f"#members li[data-person='{me['person_id']}'] a")
    expect(mentor.locator("#person-h")).to_have_text("Ana's practice")
    expect(mentor.locator("#streak-days")).to_have_text("2")
    expect(mentor.locator("#group-streak")).to_have_text("2")
    expect(mentor.locator("#group-streak-best")).to_have_text("2")
    cards = mentor.locator("#sessions article")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Day two: arpeggios")
    expect(cards.nth(1)).to_contain_text("relax the wrist")
    mentor.screenshot(path=str(screenshots / "mentor-person-desktop.png"), full_page=True)

    # Ana is no mentor: the mentor's view of anyone is not hers to read.
    refused = httpx.get(f"{server.http}/api/groups/{group['group_id']}/people/{mira['person_id']}",
                        headers={"Authorization": f"Bearer {me['person_key']}"})
    assert refused.status_code == 403
