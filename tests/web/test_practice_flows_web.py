"""The practice log's own flows in the browser: a plain room join makes this
browser a person whose session then shows on "My practice"; the start form
makes a person; rename, download and delete on "My practice"; the board
opt-in on the group page; the mentor's page for a person on a 375 px phone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from ensemble.client import Client
from tests.support.server import ServerProcess
from tests.web.conftest import PHONE
from tests.web.helpers import auth, in_a_thread, invite_group, open_as, post, wait_kept

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=15_000)


def stored_person(page: Page) -> dict[str, Any] | None:
    """The person this browser keeps (person.js), or None."""
    kept = page.evaluate("() => JSON.parse(localStorage.getItem('ensemble:person'))")
    return None if kept is None else dict(kept)


async def close_room(server: ServerProcess, room_id: str, host_key: str) -> None:
    """The room's host (a mentor by its host key) closes it."""
    mentor = await Client.connect(server.ws, room=room_id, name="Host", host_key=host_key)
    try:
        await mentor.request("room.close")
    finally:
        await mentor.close()


async def practise(server: ServerProcess, room_id: str, joiners: dict[str, dict[str, Any]],
                   goals: dict[str, str], closer: str) -> None:
    """Each of `joiners` connects (name -> hello credentials); those in `goals`
    set that goal and check it done; then `closer` (a mentor) closes the room."""
    clients = {name: await Client.connect(server.ws, room=room_id, name=name, **hello)
               for name, hello in joiners.items()}
    try:
        for name, goal in goals.items():
            await clients[name].request("goal.set", text=goal)
            await clients[name].request("goal.check", result="done", note="all of it")
        await clients[closer].request("room.close")
    finally:
        for client in clients.values():
            await client.close()


def no_overflow(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"


# -- 1. a plain room join makes a person -------------------------------------------------------


def test_a_plain_room_join_makes_a_person_whose_session_shows_on_my_practice(
        web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    server = web_server
    room = post(server, "/api/rooms", {"title": "Lunch scales", "visibility": "unlisted"})
    page = open_page("ana")
    page.goto(room["links"]["participant"])
    assert stored_person(page) is None  # a browser with no practice log yet
    page.fill("#join-name", "Ana Lunch")
    page.click("#join-submit")
    expect(page.locator("#room")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-status", "open")

    # Joining made this browser a person, kept with its key, named as she joined.
    person = stored_person(page)
    assert person is not None and person["name"] == "Ana Lunch"
    me = httpx.get(f"{server.http}/api/me", headers=auth(person))
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Ana Lunch"
    assert me.json()["person_id"] == person["person_id"]

    # The host closes the room; its session is kept in her history.
    in_a_thread(close_room(server, room["room_id"], room["host_key"]))
    expect(page.locator("#notice")).to_contain_text("closed")
    kept = wait_kept(server, person)
    assert [s["room_id"] for s in kept] == [room["room_id"]]

    page.goto(f"{server.http}/me")
    expect(page.locator("#practice")).to_be_visible()
    expect(page.locator("#start-form")).to_be_hidden()
    expect(page.locator("#total-sessions")).to_have_text("1")
    cards = page.locator("#sessions article")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Lunch scales")


# -- 2. the start form --------------------------------------------------------------------------


def test_the_start_form_makes_a_person_and_shows_the_empty_log(
        web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    server = web_server
    page = open_page("bo")
    page.goto(f"{server.http}/me")
    expect(page.locator("#start-form")).to_be_visible()
    expect(page.locator("#practice")).to_be_hidden()
    assert stored_person(page) is None

    page.fill("#start-name", "  ")
    page.click("#start-form button[type=submit]")
    expect(page.locator("#start-error")).to_have_text("Type your name.")
    assert stored_person(page) is None

    page.fill("#start-name", "Bo Start")
    page.click("#start-form button[type=submit]")
    expect(page.locator("#practice")).to_be_visible()
    expect(page.locator("#start-form")).to_be_hidden()
    person = stored_person(page)
    assert person is not None and person["name"] == "Bo Start"
    me = httpx.get(f"{server.http}/api/me", headers=auth(person)).json()
    assert (me["person_id"], me["name"]) == (person["person_id"], "Bo Start")

    def shows_an_empty_log() -> None:
        expect(page.locator("#rename")).to_have_value("Bo Start")
        expect(page.locator("#total-sessions")).to_have_text("0")
        expect(page.locator("#sessions article")).to_have_count(0)
        expect(page.locator("#sessions")).to_contain_text("No session kept yet")
        expect(page.locator("#groups")).to_contain_text("No group yet.")
        expect(page.locator("#personal-link")).to_have_value(
            f"{server.http}/me#person_key={person['person_key']}")

    shows_an_empty_log()
    page.reload()
    expect(page.locator("#practice")).to_be_visible()
    expect(page.locator("#start-form")).to_be_hidden()
    shows_an_empty_log()
    assert stored_person(page) == person


# -- 3. rename, download, delete ----------------------------------------------------------------


def test_rename_download_and_delete_on_my_practice(  # type: ignore[no-untyped-def]
        web_server: ServerProcess, open_page, tmp_path: Path) -> None:
    server = web_server
    cy = post(server, "/api/people", {"name": "Cy"})
    room = post(server, "/api/rooms", {"title": "Evening etudes", "visibility": "unlisted"})
    in_a_thread(practise(server, room["room_id"],
                         {"Host": {"host_key": room["host_key"]},
                          "Cy": {"invite": room["invite"], "person_key": cy["person_key"]}},
                         {"Cy": "etude 3, slowly"}, closer="Host"))
    wait_kept(server, cy)

    page = open_page("cy")
    open_as(page, cy)
    expect(page.locator("#sessions article")).to_have_count(1)
    expect(page.locator("#rename")).to_have_value("Cy")

    # Rename: the server keeps the new name, and the page shows it after a reload.
    page.fill("#rename", "Cyrus")
    with page.expect_response(
            lambda r: r.request.method == "PATCH" and r.url.endswith("/api/me")) as renamed:
        page.click("#rename-save")
    assert renamed.value.status == 200
    assert httpx.get(f"{server.http}/api/me", headers=auth(cy)).json()["name"] == "Cyrus"
    page.reload()
    expect(page.locator("#practice")).to_be_visible()
    expect(page.locator("#rename")).to_have_value("Cyrus")
    assert (stored_person(page) or {}).get("name") == "Cyrus"

    # Download: a JSON file of her data, her session in it.
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".json"
    data = json.loads(saved.read_text())
    assert (data["person_id"], data["name"]) == (cy["person_id"], "Cyrus")
    assert [s["room_id"] for s in data["sessions"]] == [room["room_id"]]
    assert data["sessions"][0]["title"] == "Evening etudes"
    assert [g["text"] for g in data["sessions"][0]["goals"]] == ["etude 3, slowly"]

    # Delete: the confirm is accepted, the key stops working, the browser
    # forgets it and "My practice" offers to start a log again.
    dialogs: list[str] = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.click("#delete")
    page.wait_for_url(f"{server.http}/")
    assert dialogs == ["Delete your practice history for good?"]
    assert httpx.get(f"{server.http}/api/me", headers=auth(cy)).status_code == 401
    assert stored_person(page) is None
    page.goto(f"{server.http}/me")
    expect(page.locator("#start-form")).to_be_visible()
    expect(page.locator("#practice")).to_be_hidden()


# -- 4. the board opt-in ------------------------------------------------------------------------


def test_the_board_opt_in_puts_a_member_on_the_board_and_takes_her_off(
        web_server: ServerProcess, open_page) -> None:  # type: ignore[no-untyped-def]
    server = web_server
    mira = post(server, "/api/people", {"name": "Mira Board"})
    dee = post(server, "/api/people", {"name": "Dee Board"})
    group_id = invite_group(server, "Board group", mira, dee)["group_id"]

    def board_ids() -> list[str]:
        reply = httpx.get(f"{server.http}/api/groups/{group_id}/board", headers=auth(mira))
        assert reply.status_code == 200, reply.text
        return [e["person_id"] for e in reply.json()["entries"]]

    page = open_page("dee")
    open_as(page, dee)
    page.goto(f"{server.http}/g/{group_id}")
    expect(page.locator("#group")).to_be_visible()
    box = page.locator("#board-opt-in")
    board = page.locator("#board")
    expect(box).not_to_be_checked()
    expect(board).to_contain_text("Nobody is on the board this week")
    assert board_ids() == []

    box.check()
    expect(board.locator("tbody tr")).to_have_count(1)
    expect(board.locator("tbody tr td").first).to_have_text("Dee Board")
    assert board_ids() == [dee["person_id"]]
    page.reload()  # the choice is kept
    expect(page.locator("#group")).to_be_visible()
    expect(box).to_be_checked()
    expect(board.locator("tbody tr")).to_have_count(1)
    expect(board).to_contain_text("Dee Board")

    box.uncheck()
    expect(board).to_contain_text("Nobody is on the board this week")
    expect(board.locator("tbody tr")).to_have_count(0)
    assert board_ids() == []
    page.reload()
    expect(page.locator("#group")).to_be_visible()
    expect(box).not_to_be_checked()
    expect(board).not_to_contain_text("Dee Board")


# -- 5. the mentor's page per person on a phone -------------------------------------------------


def test_the_mentors_page_for_a_person_fits_a_phone(  # type: ignore[no-untyped-def]
        web_server: ServerProcess, open_page, screenshots: Path) -> None:
    server = web_server
    mira = post(server, "/api/people", {"name": "Mira Phone"})
    eli = post(server, "/api/people", {"name": "Eliza Wolfeschlegelsteinhausenbergerd"})
    group_id = invite_group(server, "Phone group", mira, eli)["group_id"]
    goal = ("Two octaves of every major scale, hands together, at 96 bpm, "
            "then https://example.org/etudes/Czerny-Op599-No19-second-half-only")
    room_id = post(server, f"/api/groups/{group_id}/sessions", None, mira)["room_id"]
    in_a_thread(practise(server, room_id,
                         {"Mira Phone": {"person_key": mira["person_key"]},
                          eli["name"]: {"person_key": eli["person_key"]}},
                         {eli["name"]: goal}, closer="Mira Phone"))
    wait_kept(server, eli)

    page = open_page("mentor-phone", PHONE)
    open_as(page, mira)
    page.goto(f"{server.http}/g/{group_id}")
    page.locator(f"#members li[data-person='{eli['person_id']}'] a").click()
    expect(page.locator("#person")).to_be_visible()
    expect(page.locator("#person-h")).to_have_text(f"{eli['name']}'s practice")
    expect(page.locator("#goals-kept")).to_have_text("100%")  # one goal, checked done
    expect(page.locator("#goals-kept")).to_be_visible()
    expect(page.locator("#attended")).to_have_text("1")
    card = page.locator("#sessions article")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(goal)
    no_overflow(page)
    page.screenshot(path=str(screenshots / "mentor-person-phone.png"), full_page=True)
