"""One clock and one beat on every screen, measured in real browsers (issue 11).

Three pages in one room: a mentor and a participant straight to the server,
and a participant behind a delay proxy (20-60 ms up, 20-30 ms down: the same
fixed path each way, asymmetric jitter). The metronome runs with the click on;
each page records the beats it schedules (`window.ensemble.beats()`:
server time and the performance time its audio output plays it). All pages
share this machine's clock, so a beat's instant is comparable across pages as
`performance.timeOrigin + perf_at`.

A fixed delay that differs between the two directions cannot be measured by
any two-way exchange (PROTOCOL.md, `ping`): the proxy's fixed part is the same
both ways, and only its jitter is asymmetric.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.delay_proxy import Delay, DelayProxy
from tests.support.server import ServerProcess
from tests.web.test_web_client import enter_room, new_room

pytestmark = [pytest.mark.browser]

LOOPBACK_SPREAD_MS = 1.0
PROXY_SPREAD_MS = 2.0
UP, DOWN = Delay(20, 60), Delay(20, 30)


@pytest.fixture
def proxy(web_server: ServerProcess) -> Iterator[DelayProxy]:
    p = DelayProxy(("127.0.0.1", web_server.port), up=UP, down=DOWN, seed=11).start()
    yield p
    p.stop()


def beats(page: Page) -> dict[int, dict[str, float]]:
    """k -> {server_at, at}: `at` is the instant on this machine's clock (ms)."""
    got = page.evaluate(
        """() => window.ensemble.beats().map(
             b => ({k: b.k, server_at: b.server_at, at: performance.timeOrigin + b.perf_at}))"""
    )
    return {b["k"]: b for b in got}


def display(page: Page) -> float:
    """The server time the clock was last drawn for, minus this machine's clock then."""
    return float(page.evaluate(
        """() => { const c = document.querySelector('#clock');
                   return Number(c.dataset.serverAt) - Number(c.dataset.clientAt); }"""
    ))


def spread(values: list[float]) -> float:
    return max(values) - min(values)


def beat_spreads(pages: list[Page]) -> tuple[list[float], int]:
    """For every beat all pages scheduled: how far apart they play it. Also checks
    that every page gives each beat the same server time."""
    per_page = [beats(p) for p in pages]
    common = sorted(set.intersection(*(set(b) for b in per_page)))
    out = []
    for k in common:
        assert len({b[k]["server_at"] for b in per_page}) == 1, f"beat {k}: server times differ"
        out.append(spread([b[k]["at"] for b in per_page]))
    return out, len(common)


def display_spread(pages: list[Page], rounds: int = 20) -> float:
    worst = 0.0
    for _ in range(rounds):
        worst = max(worst, spread([display(p) for p in pages]))
        pages[0].wait_for_timeout(53)
    return worst


def wait_samples(page: Page, n: int) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('#sync').dataset.samples || 0) >= n", arg=n,
        timeout=45_000)


@pytest.mark.timeout(180)
def test_pages_share_one_clock_and_one_beat(web_server: ServerProcess, proxy: DelayProxy,
                                            open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Sync")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    ann = open_page("ann")
    enter_room(ann, room["links"]["participant"], "Ann")
    far = open_page("far")  # behind the jittery proxy
    far_url = room["links"]["participant"].replace(
        f"127.0.0.1:{web_server.port}", f"127.0.0.1:{proxy.port}")
    assert str(proxy.port) in far_url
    enter_room(far, far_url, "Far")
    pages = [mentor, ann, far]

    # The metronome at 120 in 4 with a timer, the click on everywhere.
    mentor.fill("#timer-min", "10")
    mentor.click("#timer-start")
    mentor.fill("#tempo-bpm", "120")
    mentor.fill("#tempo-bpb", "4")
    mentor.click("#tempo-start")
    for page in pages:
        page.check("#audio-click")
        expect(page.locator("#clock")).to_have_attribute("data-state", "running")
    # The proxied page needs its fast pings (about 4 a second through the
    # proxy) to find the fastest trips each way.
    wait_samples(far, 80)
    for page in pages:
        page.wait_for_function("() => window.ensemble.beats().length >= 8")
    sources = {p.evaluate("() => window.ensemble.audio.source") for p in pages}
    far.wait_for_timeout(4_000)  # a few more beats, scheduled with the converged clock

    sync = [p.evaluate("() => window.ensemble.sync()") for p in pages]
    for s in sync:  # same machine: the true offset is 0; the bound is honest
        assert abs(s["offset_ms"]) <= s["error_ms"] + 0.1, s  # 0.1: the browser's timer grain
    direct, n_direct = beat_spreads([mentor, ann])
    everyone, n_all = beat_spreads(pages)
    display_direct = display_spread([mentor, ann])
    display_all = display_spread(pages)
    print(f"\naudio mapping: {sources}; sync: {sync}")
    print(f"beat spread, 2 direct pages: newest 8 beats max {max(direct[-8:]):.2f} ms, "
          f"all {n_direct} beats max {max(direct):.2f} ms")
    print(f"beat spread, 3 pages (one behind {UP}/{DOWN}): newest 8 beats max "
          f"{max(everyone[-8:]):.2f} ms, all {n_all} beats max {max(everyone):.2f} ms "
          f"(the first ones scheduled before the proxied page converged)")
    print(f"clock display spread: direct {display_direct:.2f} ms, all {display_all:.2f} ms")
    assert n_direct >= 8 and n_all >= 8
    # The newest beats, scheduled once every page had converged.
    assert max(direct[-8:]) <= LOOPBACK_SPREAD_MS
    assert max(everyone[-8:]) <= PROXY_SPREAD_MS
    assert display_direct <= LOOPBACK_SPREAD_MS
    assert display_all <= PROXY_SPREAD_MS

    # A tempo change lands on the same beat index on every page.
    mentor.fill("#tempo-bpm", "90")
    mentor.fill("#tempo-bpb", "3")
    mentor.click("#tempo-set")
    tempo: dict[str, Any] = {}
    for page in pages:
        page.wait_for_function("() => window.ensemble.state.tempo.bpm === 90")
        tempo = page.evaluate("() => window.ensemble.state.tempo")
    k0 = tempo["first_beat"]
    assert tempo["previous"]["bpm"] == 120 and k0 % 4 == 0  # on a bar line of the old grid
    for page in pages:
        page.wait_for_function("k => window.ensemble.beats().some(b => b.k >= k + 3)", arg=k0)
    per_page = [beats(p) for p in pages]
    for b in per_page:
        gaps = [b[k + 1]["server_at"] - b[k]["server_at"] for k in range(k0 - 2, k0 + 2)]
        assert gaps == pytest.approx([500, 500, 60000 / 90, 60000 / 90]), gaps
    switched, _ = beat_spreads(pages)
    assert max(switched[-4:]) <= PROXY_SPREAD_MS
    expect(far.locator("#beat .b")).to_have_count(3)


def test_the_visible_beat_is_the_one_heard_now(web_server: ServerProcess,
                                               open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Beat")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    mentor.fill("#tempo-bpm", "150")
    mentor.click("#tempo-start")
    mentor.check("#audio-click")
    mentor.wait_for_function("() => window.ensemble.beats().length >= 4")
    for _ in range(5):
        shown, heard = mentor.evaluate(
            """() => new Promise(resolve => requestAnimationFrame(
               () => requestAnimationFrame(() => {
                 const now = performance.now();
                 const past = window.ensemble.beats().filter(b => b.perf_at <= now);
                 resolve([Number(document.querySelector('#beat').dataset.beat),
                          past.length ? past[past.length - 1].k : null]);
               })))""")
        # Drawn in the frame before: the same beat, or the one just before it.
        assert heard is not None and shown in (heard, heard - 1)
        mentor.wait_for_timeout(130)


@pytest.mark.timeout(60)
def test_tap_along_calibration_is_measured_and_kept(web_server: ServerProcess,
                                                    open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Calibrate")
    page = open_page("ann")
    enter_room(page, room["links"]["participant"], "Ann")
    expect(page.locator("#latency-value")).to_have_text("not calibrated")
    page.click("#calibrate summary")
    page.click("#calibrate-start")
    expect(page.locator("#calibrate-tap")).to_be_focused()
    page.wait_for_timeout(700)  # the first click comes half a second in
    for _ in range(10):  # steady taps, one per click (100 bpm)
        page.keyboard.press("Space")
        page.wait_for_timeout(600)
    page.click("#calibrate-stop")
    expect(page.locator("#calibrate-status")).to_contain_text("Saved for this device")
    shown = page.locator("#latency-value").inner_text()
    assert shown.startswith("+") and shown.endswith(" ms")
    stored = page.evaluate("() => localStorage.getItem('ensemble:audio-latency:default')")
    assert stored is not None and shown == f"+{stored} ms"
    # Kept for the next visit of this browser.
    page.reload()
    expect(page.locator("#latency-value")).to_have_text(shown)


@pytest.mark.timeout(60)
def test_count_in_before_the_next_phase_on_every_page(web_server: ServerProcess,
                                                      open_page) -> None:  # type: ignore[no-untyped-def]
    room = new_room(web_server, "Count in")
    mentor = open_page("mentor")
    enter_room(mentor, room["links"]["mentor"], "Mia")
    ann = open_page("ann")
    enter_room(ann, room["links"]["participant"], "Ann")
    for page in (mentor, ann):
        page.check("#count-in")  # turns the click on too
    mentor.fill("#tempo-bpm", "120")
    mentor.fill("#tempo-bpb", "3")
    mentor.click("#tempo-set")
    mentor.select_option("#sprint-preset", "custom")
    minutes = mentor.locator("#sprint-custom .phase-min")
    for i in range(minutes.count()):
        minutes.nth(i).fill("0.1")  # 6 s phases
    mentor.click("#sprint-start")
    ends_at = None
    counted = []
    for page in (mentor, ann):
        page.wait_for_function("() => window.ensemble.state.sprint.state === 'running'")
        ends_at = page.evaluate("() => window.ensemble.state.timer.ends_at")
        page.wait_for_function("() => window.ensemble.schedule.countIn.length >= 3", timeout=15_000)
        counted.append(page.evaluate(
            """() => window.ensemble.schedule.countIn.map(b => [b.k, b.server_at])"""))
    assert ends_at is not None
    # One bar at 120 bpm in 3 ending on the phase change, the same on both pages.
    expected = [[-3, ends_at - 1500], [-2, ends_at - 1000], [-1, ends_at - 500]]
    for got in counted:
        assert got[:3] == expected
