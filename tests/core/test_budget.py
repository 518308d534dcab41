"""A member's request budget is the room's: one bucket for all of its sockets,
refilled by the time requests carry, spent only by requests that changed the room."""

from __future__ import annotations

from ensemble.core.state import Limits
from tests.core.helpers import RoomDriver


def test_a_member_gets_its_burst_then_the_rate_whatever_socket_it_uses():
    d = RoomDriver(limits=Limits(rate_per_s=2, rate_burst=3))
    pat = d.join("Pat")
    d.connect(pat)  # a second socket: the same budget
    for i in range(3):
        d.do(pat, "chat.send", text=f"hi {i}")
    assert d.refuse(pat, "chat.send", text="one too many") == "rate_limited"
    d.now += 499
    assert d.refuse(pat, "chat.send", text="not yet") == "rate_limited"
    d.now += 1  # half a second at 2 per second: one more
    d.do(pat, "chat.send", text="again")
    assert d.refuse(pat, "chat.send", text="and again") == "rate_limited"
    d.now += 60_000  # refilled up to the burst, never beyond
    for i in range(3):
        d.do(pat, "chat.send", text=f"later {i}")
    assert d.refuse(pat, "chat.send", text="over") == "rate_limited"


def test_each_member_has_its_own_budget():
    d = RoomDriver(limits=Limits(rate_per_s=1, rate_burst=1))
    pat, sam = d.join("Pat"), d.join("Sam")
    d.do(pat, "chat.send", text="pat")
    assert d.refuse(pat, "chat.send", text="pat again") == "rate_limited"
    d.do(sam, "chat.send", text="sam")


def test_refused_requests_and_requests_that_change_nothing_cost_nothing():
    d = RoomDriver(limits=Limits(rate_per_s=1, rate_burst=2))
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    for _ in range(5):
        assert d.refuse(pat, "sprint.start") == "forbidden"  # a participant may not
    d.do(pat, "hand.raise")
    for _ in range(5):
        out = d.record(d.room.request(pat, "hand.raise", {}, d.now))  # raised already
        assert out.events == [] or out.error is not None
    d.do(pat, "chat.send", text="still one left")
    assert d.refuse(pat, "chat.send", text="now none") == "rate_limited"
    d.do(mia, "chat.send", text="the mentor's own budget")


def test_the_budget_is_kept_in_the_state_a_backend_stores():
    from ensemble.core import Room
    from ensemble.core.state import RoomState

    d = RoomDriver(limits=Limits(rate_per_s=1, rate_burst=1))
    pat = d.join("Pat")
    d.do(pat, "chat.send", text="one")
    # Another process loads the room as stored: the spent budget comes along.
    d.room = Room(RoomState.from_dict(d.room.state.to_dict()))
    assert d.refuse(pat, "chat.send", text="two") == "rate_limited"


def test_a_room_made_without_a_budget_counts_nothing():
    d = RoomDriver()  # Limits() as tests of other rules use
    pat = d.join("Pat")
    for i in range(100):
        d.do(pat, "chat.send", text=f"{i}")
