"""The web client end to end: three browser contexts run a short sprint from
the pages alone, against a real server process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.server import ServerProcess
from tests.web.conftest import PHONE

pytestmark = [pytest.mark.browser]

expect.set_options(timeout=15_000)

CLOCK_SPREAD_LIMIT_MS = 50


def new_room(server: ServerProcess, title: str, visibility: str = "unlisted") -> dict[str, Any]:
    """A room made through the API (for tests about joining, not creating)."""
    reply = httpx.post(f"{server.http}/api/rooms", json={"title": title, "visibility": visibility})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def enter_room(page: Page, url: str, name: str, role: str | None = None) -> None:
    page.goto(url)
    page.fill("#join-name", name)
    if role:
        page.check(f"#join-form input[name=role][value={role}]")
    page.click("#join-submit")
    expect(page.locator("#room")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-status", "open")


def wait_synced(page: Page, samples: int = 5) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('#sync').dataset.samples || 0) >= n", arg=samples
    )


def clock_reading(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => { const c = document.querySelector('#clock');
                   return {remaining: Number(c.dataset.remainingMs),
                           sampledAt: Number(c.dataset.sampledAt), now: Date.now()}; }"""
    )


def clock_spread(pages: list[Page], rounds: int = 5) -> tuple[float, float]:
    """The largest disagreement between the pages' clocks over a few samples.

    Each page exposes the remaining ms it computed in its last animation frame
    and the wall-clock time of that frame; readings are brought to one common
    instant (all pages share the machine's wall clock) before comparing.
    Returns (spread of the normalized readings, spread of the raw readings).
    """
    worst = raw_worst = 0.0
    for _ in range(rounds):
        readings = [clock_reading(p) for p in pages]
        ref = max(r["now"] for r in readings)
        normalized = [r["remaining"] - (ref - r["sampledAt"]) for r in readings]
        raw = [r["remaining"] for r in readings]
        worst = max(worst, max(normalized) - min(normalized))
        raw_worst = max(raw_worst, max(raw) - min(raw))
        pages[0].wait_for_timeout(97)  # spread the samples over different frames
    return worst, raw_worst


def feed_texts(page: Page) -> list[str]:
    return page.locator("#feed li .text").all_text_contents()


@pytest.mark.timeout(240)
def test_sprint_end_to_end(web_server: ServerProcess, open_page, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    base = web_server.http

    # -- a mentor creates a public room from the home page --------------------
    mentor = open_page("mentor")
    mentor.goto(base + "/")
    mentor.fill("#title", "Scales club")
    mentor.check("input[name=visibility][value=public]")
    mentor.select_option("#preset", "25-5x4")
    mentor.click("#create-form button[type=submit]")
    expect(mentor.locator("#created")).to_be_visible()
    invite_link = mentor.input_value("#participant-link")
    mentor_link = mentor.input_value("#mentor-link")
    assert "invite=" in invite_link and "host_key=" in mentor_link
    expect(mentor.locator("#rooms")).to_contain_text("Scales club")
    mentor.screenshot(path=str(screenshots / "home-desktop.png"), full_page=True)
    mentor.click("#open-mentor")
    mentor.fill("#join-name", "Mia")
    mentor.click("#join-submit")
    expect(mentor.locator("#mentor-controls")).to_be_visible()
    expect(mentor.locator("#conn")).to_have_attribute("data-status", "open")

    # -- two participants open the invite link ------------------------------
    ann = open_page("ann")
    enter_room(ann, invite_link, "Ann")
    bo = open_page("bo")
    enter_room(bo, invite_link, "Bo")
    expect(mentor.locator("#dash article")).to_have_count(2)
    expect(ann.locator("#people")).to_contain_text("Bo")

    # -- the mentor starts a custom sprint ------------------------------------
    mentor.select_option("#sprint-preset", "custom")
    minutes = mentor.locator("#sprint-custom .phase-min")
    for i, value in enumerate(["2", "2", "2", "2"]):
        minutes.nth(i).fill(value)
    mentor.click("#sprint-start")
    for page in (mentor, ann, bo):
        expect(page.locator("#phase-line")).to_have_text("Round 1 of 1 · Check-in")
        expect(page.locator("#clock")).to_have_attribute("data-state", "running")
    expect(ann.locator("#announcer")).to_contain_text("Check-in")

    # -- every screen shows the same clock -------------------------------------
    for page in (mentor, ann, bo):
        wait_synced(page)
    spread, raw_spread = clock_spread([mentor, ann, bo])
    print(f"\nclock spread across 3 pages: {spread:.1f} ms (raw attribute: {raw_spread:.1f} ms)")
    assert spread <= CLOCK_SPREAD_LIMIT_MS
    remaining = clock_reading(ann)["remaining"]
    assert 60_000 < remaining <= 120_000
    expect(ann.locator("#clock")).to_have_text(re.compile(r"^0[12]:\d\d$"))

    # -- goals at check-in ---------------------------------------------------------
    ann.fill("#goal-text", "C major, two octaves, 100 bpm")
    ann.click("#goal-form button[type=submit]")
    bo.fill("#goal-text", "Arpeggios <b>hands together</b>")
    bo.press("#goal-text", "Enter")
    expect(ann.locator("#goal-current")).to_contain_text("C major")
    ann_card = mentor.locator("#dash article", has_text="Ann")
    bo_card = mentor.locator("#dash article", has_text="Bo")
    expect(ann_card).to_contain_text("C major, two octaves")
    expect(bo_card).to_contain_text("Arpeggios <b>hands together</b>")  # text, not HTML
    assert mentor.locator("#dash b").count() == 0

    # -- into focus: phase changes reach everyone and are announced -----------------
    mentor.click("#sprint-skip")
    for page in (mentor, ann, bo):
        expect(page.locator("#phase-line")).to_have_text(re.compile(r"Focus"))
    expect(bo.locator("#announcer")).to_contain_text("Focus")

    # -- turns: raise hands, pass --------------------------------------------------
    ann.click("#hand-raise")
    expect(ann.locator("#turn-now")).to_have_text(re.compile("Your turn"))
    bo.click("#hand-raise")
    expect(bo.locator("#queue")).to_contain_text("Bo (you)")
    expect(ann_card).to_contain_text("has the turn")
    expect(bo_card).to_contain_text("hand up, #1")
    ann.click("#turn-pass")
    expect(bo.locator("#turn-now")).to_have_text(re.compile("Your turn"))
    expect(ann.locator("#turn-now")).to_have_text(re.compile("Bo has the turn"))
    expect(bo.locator("#announcer")).to_contain_text("your turn")

    # -- a turn limit shows a countdown on every page --------------------------------
    mentor.fill("#turns-limit", "90")
    mentor.click("#turns-apply")
    for page in (ann, bo):
        expect(page.locator("#turn-mode")).to_contain_text("90 s per turn")
    # Ann raises her hand again and the mentor gives her the turn: it runs 90 s.
    ann.click("#hand-raise")
    expect(bo_card).to_contain_text("has the turn")
    ann_queue_row = mentor.locator("#queue li", has_text="Ann")
    ann_queue_row.locator("button", has_text="Give turn").click()
    expect(ann.locator("#turn-now")).to_have_text(re.compile("Your turn"))
    countdown = ann.locator("#turn-countdown")
    expect(countdown).to_have_text(re.compile(r"^01:[23]\d$"))
    bo.click("#hand-raise")
    ann.click("#turn-pass")
    expect(bo.locator("#turn-now")).to_have_text(re.compile("Your turn"))

    # -- chat and a reaction -------------------------------------------------------
    bo.fill("#chat-text", "Playing the B section now")
    bo.press("#chat-text", "Enter")
    for page in (mentor, ann):
        expect(page.locator("#feed")).to_contain_text("Playing the B section now")
    ann.select_option("#react-to", label="Bo")
    ann.click("#reaction-bar button[aria-label='React 👏']")
    expect(bo.locator("#feed li.aimed-at-me[data-type=reaction]")).to_contain_text("👏")

    # -- a private comment reaches its target and the mentors only ------------------
    ann_card.locator("input").fill("Relax the left wrist on the shifts")
    ann_card.locator("button", has_text="Send privately").click()
    private = ann.locator("#feed li.is-private.aimed-at-me")
    expect(private).to_contain_text("Relax the left wrist")
    expect(private).to_contain_text("private")
    expect(private.locator(".anchor")).to_contain_text("Focus")
    expect(mentor.locator("#feed li.is-private")).to_contain_text("Relax the left wrist")
    # A public marker sent after it: once Bo has it, Bo would have had the private one.
    mentor.fill("#chat-text", "marker after the private comment")
    mentor.press("#chat-text", "Enter")
    expect(bo.locator("#feed")).to_contain_text("marker after the private comment")
    assert "Relax the left wrist" not in bo.locator("body").inner_text()
    assert bo.locator("#feed li.is-private").count() == 0
    # A public comment from a participant to another, and mentors-only notes.
    bo.select_option("#comment-to", label="Ann")
    bo.fill("#comment-text", "Lovely tone in the slow part")
    bo.click("#comment-form button[type=submit]")
    public_to_ann = ann.locator("#feed li.aimed-at-me[data-type=comment]:not(.is-private)")
    expect(public_to_ann).to_contain_text("Lovely tone")
    mentor.fill("#note-text", "Ann is ready for the next étude")
    mentor.click("#note-form button[type=submit]")
    expect(mentor.locator("#notes")).to_contain_text("next étude")
    expect(ann_card).to_contain_text(re.compile(r"Feedback\s*[23]"))

    # -- tempo: everyone sees the beat ---------------------------------------------
    mentor.fill("#tempo-bpm", "120")
    mentor.fill("#tempo-bpb", "3")
    mentor.click("#tempo-start")
    for page in (ann, bo):
        expect(page.locator("#beat .b")).to_have_count(3)
        expect(page.locator("#beat")).to_contain_text("120 bpm")
    ann.check("#audio-click")  # Web Audio clicks on the shared beats
    ann.wait_for_function("() => window.ensemble.audio.played >= 2")
    expect(ann.locator("#audio-click")).to_be_checked()

    # -- a participant reloads mid-sprint and comes back to the same phase and clock --
    bo.reload()
    expect(bo.locator("#room")).to_be_visible()
    expect(bo.locator("#conn")).to_have_attribute("data-status", "open")
    expect(bo.locator("#join")).to_be_hidden()
    expect(bo.locator("#phase-line")).to_have_text(re.compile(r"Focus"))
    expect(bo.locator("#feed")).to_contain_text("Playing the B section now")
    wait_synced(bo)
    spread_after, _ = clock_spread([mentor, ann, bo], rounds=3)
    print(f"clock spread after Bo's reload: {spread_after:.1f} ms")
    assert spread_after <= CLOCK_SPREAD_LIMIT_MS
    expect(mentor.locator("#people li", has_text="Bo")).not_to_contain_text("disconnected")

    # -- screenshots mid-sprint --------------------------------------------------
    ann.screenshot(path=str(screenshots / "room-desktop.png"), full_page=True)
    mentor.screenshot(path=str(screenshots / "mentor-desktop.png"), full_page=True)
    ann.set_viewport_size(PHONE)
    mentor.set_viewport_size(PHONE)
    ann.screenshot(path=str(screenshots / "room-phone.png"), full_page=True)
    mentor.screenshot(path=str(screenshots / "mentor-phone.png"), full_page=True)
    for page in (ann, mentor):
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page scrolls sideways at 375 px ({width} px)"
    ann.set_viewport_size({"width": 1280, "height": 800})
    mentor.set_viewport_size({"width": 1280, "height": 800})

    # -- check-out -------------------------------------------------------------------
    mentor.click("#tempo-stop")
    mentor.click("#sprint-skip")  # focus -> break
    expect(ann.locator("#phase-line")).to_have_text(re.compile(r"Break"))
    mentor.click("#sprint-skip")  # break -> check-out
    expect(ann.locator("#phase-line")).to_have_text(re.compile(r"Check-out"))
    expect(ann.locator("#checkout-form")).to_be_visible()
    ann.check("#checkout-form input[value=done]")
    ann.fill("#checkout-note", "clean at 100")
    ann.click("#checkout-form button[type=submit]")
    bo.check("#checkout-form input[value=partial]")
    bo.click("#checkout-form button[type=submit]")
    expect(ann_card).to_contain_text("done: clean at 100")
    expect(bo_card).to_contain_text("partly done")
    mentor.click("#sprint-skip")  # check-out ends the sprint
    for page in (mentor, ann, bo):
        expect(page.locator("#phase-line")).to_have_text("Sprint finished")

    # -- the report ------------------------------------------------------------------
    mentor.click("#report-link")
    expect(mentor.locator("#report")).to_be_visible()
    expect(mentor.locator("#attendance")).to_contain_text("Ann")
    expect(mentor.locator("#attendance")).to_contain_text("Bo")
    expect(mentor.locator("#goals")).to_contain_text("C major, two octaves")
    expect(mentor.locator("#goals .result-done")).to_have_count(1)
    expect(mentor.locator("#turns")).to_contain_text("Ann")
    expect(mentor.locator("#feedback")).to_contain_text("Relax the left wrist")
    with mentor.expect_download() as download:
        mentor.click("#download")
    assert download.value.suggested_filename.endswith(".json")
    mentor.screenshot(path=str(screenshots / "report-desktop.png"), full_page=True)
    mentor.set_viewport_size(PHONE)
    mentor.screenshot(path=str(screenshots / "report-phone.png"), full_page=True)
    assert mentor.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.timeout(60)
def test_report_without_host_key_asks_for_it(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Quiet room", "unlisted")
    page = open_page("report")
    page.goto(f"{web_server.http}/r/{room['room_id']}/report")
    expect(page.locator("#key-form")).to_be_visible()
    page.fill("#key-input", room["host_key"])
    page.click("#key-form button[type=submit]")
    expect(page.locator("#report-h")).to_contain_text("Quiet room")


@pytest.mark.timeout(60)
def test_pages_send_a_content_security_policy(web_server: ServerProcess) -> None:
    for path in ("/", "/r/nosuchroom", "/r/nosuchroom/report"):
        reply = httpx.get(web_server.http + path)
        assert reply.status_code == 200
        assert "script-src 'self'" in reply.headers["content-security-policy"]


@pytest.mark.timeout(120)
def test_reconnect_resumes_without_duplicates(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Flaky wifi", "unlisted")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    ann = open_page("ann")
    enter_room(ann, room["links"]["participant"], "Ann")
    mentor.fill("#chat-text", "before the drop")
    mentor.press("#chat-text", "Enter")
    expect(ann.locator("#feed")).to_contain_text("before the drop")

    # Drop Ann's socket and hold her reconnect back for a few seconds (backoff step 4).
    ann.evaluate("() => { const c = window.ensemble.conn; c.attempt = 4; c.ws.close(); }")
    expect(ann.locator("#conn")).to_have_attribute("data-status", "reconnecting")
    expect(ann.locator("#conn-label")).to_contain_text("Reconnecting in")
    # The wait counts down on screen.
    first = int(re.search(r"in (\d+) s", ann.locator("#conn-label").inner_text()).group(1))
    assert first >= 2
    expect(ann.locator("#conn-label")).to_contain_text(f"Reconnecting in {first - 1} s")
    expect(mentor.locator("#people li", has_text="Ann")).to_contain_text("disconnected")
    for text in ("missed one", "missed two"):
        mentor.fill("#chat-text", text)
        mentor.press("#chat-text", "Enter")
        expect(mentor.locator("#feed")).to_contain_text(text)

    expect(ann.locator("#conn")).to_have_attribute("data-status", "open", timeout=20_000)
    expect(ann.locator("#conn")).to_have_attribute("data-resumed", "true")
    expect(ann.locator("#feed")).to_contain_text("missed two")
    mentor.fill("#chat-text", "after the drop")
    mentor.press("#chat-text", "Enter")
    expect(ann.locator("#feed")).to_contain_text("after the drop")
    texts = feed_texts(ann)
    for text in ("before the drop", "missed one", "missed two", "after the drop"):
        assert texts.count(text) == 1, texts
    assert ann.evaluate("window.ensemble.conn.token") is not None

    # The mentor's host key leaves the address bar; a reload still comes back as mentor.
    assert "host_key" not in mentor.url
    mentor.reload()
    expect(mentor.locator("#mentor-controls")).to_be_visible()
    expect(mentor.locator("#conn")).to_have_attribute("data-status", "open")
    expect(mentor.locator("#people li", has_text="Mia")).to_contain_text("mentor")
    expect(mentor.locator("#people li")).to_have_count(2)
    expect(mentor.locator("#people li", has_text="Ann")).not_to_contain_text("disconnected")


@pytest.mark.timeout(90)
def test_observer_watches_and_chats_but_takes_no_turn(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Open rehearsal", "public")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    cy = open_page("cy")
    enter_room(cy, room["links"]["participant"], "Cy", role="observer")
    expect(cy.locator("#people li", has_text="Cy")).to_contain_text("observer")
    expect(cy.locator("#goal-panel")).to_be_hidden()
    expect(cy.locator("#turn-actions")).to_be_hidden()
    expect(cy.locator("#comment-form")).to_be_hidden()
    expect(cy.locator("#mentor-controls")).to_be_hidden()
    cy.fill("#chat-text", "Just listening today")
    cy.press("#chat-text", "Enter")
    expect(mentor.locator("#feed")).to_contain_text("Just listening today")
    expect(mentor.locator("#dash-empty")).to_have_text("No participants yet.")
    # The mentor's timer reaches the observer too.
    mentor.fill("#timer-min", "1")
    mentor.click("#timer-start")
    expect(cy.locator("#clock")).to_have_attribute("data-state", "running")
    expect(cy.locator("#clock")).to_have_text(re.compile(r"^0[01]:\d\d$"))

    # Removal takes two clicks and ends Cy's session for good.
    remove = mentor.locator("#people li", has_text="Cy").locator("button", has_text="Remove")
    remove.click()
    mentor.locator("#people li", has_text="Cy").locator("button", has_text="Confirm remove").click()
    expect(cy.locator("#notice")).to_contain_text("removed you")
    expect(cy.locator("#conn")).to_have_attribute("data-status", "closed")
    expect(mentor.locator("#people")).not_to_contain_text("Cy")

    # Closing the room tells everyone still in it.
    dee = open_page("dee")
    enter_room(dee, room["links"]["participant"], "Dee")
    mentor.click("#room-close")
    mentor.click("#room-close")
    expect(dee.locator("#notice")).to_contain_text("closed")
    expect(dee.locator("#conn")).to_have_attribute("data-status", "closed")


@pytest.mark.timeout(60)
def test_wrong_invite_says_why_and_lets_you_retry(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Locked", "unlisted")
    page = open_page("guest")
    page.goto(f"{web_server.http}/r/{room['room_id']}?invite=not-the-code")
    expect(page.locator("#join-title")).to_have_text("Locked")
    page.fill("#join-name", "Guest")
    page.click("#join-submit")
    expect(page.locator("#join-error")).to_contain_text("Could not join")
    expect(page.locator("#join")).to_be_visible()
    expect(page.locator("#join-submit")).to_be_enabled()
    page.goto(room["links"]["participant"])
    expect(page.locator("#join-name")).to_have_value("Guest")  # remembered
    page.click("#join-submit")
    expect(page.locator("#room")).to_be_visible()


@pytest.mark.timeout(90)
def test_role_change_switches_the_view(web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Co-teaching", "unlisted")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    mentor.fill("#note-text", "only for mentors")
    mentor.click("#note-form button[type=submit]")
    expect(mentor.locator("#notes")).to_contain_text("only for mentors")
    ann = open_page("ann")
    enter_room(ann, room["links"]["participant"], "Ann")
    expect(ann.locator("#mentor-controls")).to_be_hidden()

    mentor.locator("#people li", has_text="Ann").locator("select").select_option("mentor")
    expect(ann.locator("#mentor-controls")).to_be_visible()
    expect(ann.locator("#conn")).to_have_attribute("data-status", "open")
    expect(ann.locator("#notes")).to_contain_text("only for mentors")
    expect(ann.locator("#goal-panel")).to_be_hidden()

    mentor.locator("#people li", has_text="Ann").locator("select").select_option("participant")
    expect(ann.locator("#mentor-controls")).to_be_hidden()
    expect(ann.locator("#goal-panel")).to_be_visible()
    expect(ann.locator("#conn")).to_have_attribute("data-status", "open")
    assert "only for mentors" not in ann.locator("body").inner_text()
