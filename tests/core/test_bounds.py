"""A room's state stays bounded however long it runs; the report stays complete."""

from __future__ import annotations

import msgpack

from ensemble.core import record_author
from ensemble.core.state import Limits
from tests.core.helpers import RoomDriver


def state_size(d: RoomDriver) -> int:
    return len(msgpack.packb(d.room.state.to_dict(), use_bin_type=True))


def test_feedback_goals_and_turns_leave_the_state_as_records():
    d = RoomDriver()
    mia, pat, sam = d.join("Mia", "mentor"), d.join("Pat"), d.join("Sam")
    d.do(mia, "turns.config", mode="round_robin")
    size = 0
    for i in range(300):
        if i == 1:
            size = state_size(d)
        d.do(sam, "comment.send", text=f"comment {i} " + "x" * 500, to=pat)
        d.do(mia, "reaction.send", emoji="👏", to=pat)
        d.do(pat, "goal.set", text=f"goal {i}")
        d.do(pat, "goal.check", result="partial", note="n" * 200)
        d.now += 10
        d.do(mia, "turn.next")
    # The state only grew by counters, never by the feedback itself.
    assert state_size(d) < size + 200
    report = d.report()
    fb = {f["member_id"]: f for f in report["feedback"]}
    assert len(fb[pat]["comments"]) == 300
    assert fb[pat]["comments"][299]["text"].startswith("comment 299 ")
    assert fb[pat]["reactions"] == {"👏": 300}
    assert len([g for g in report["goals"] if g["member_id"] == pat]) == 300
    assert len(report["turns"]) == 301  # 300 ended turns and the one being taken
    assert d.room.snapshot("mentor")["feedback"] == {pat: 600}


def test_members_who_left_are_forgotten_beyond_the_limit_but_stay_in_the_report():
    d = RoomDriver(grace_ms=1000, limits=Limits(left_kept=3))
    mia = d.join("Mia", "mentor")
    left = []
    for i in range(10):
        d.now += 1
        member = d.join(f"P{i}")
        d.do(member, "goal.set", text=f"goal of {i}")  # never checked
        d.disconnect(*d.conns(member))
        left.append(member)
    d.advance(2000)
    members = d.room.state.members
    assert set(members) == {mia, *left[-3:]}
    assert not any(key.startswith("direct:m_p0") for key in d.room.state.seqs)
    # A forgotten member's token no longer lets it in; a remembered one's does.
    out = d.room.connect(member_id=left[0], conn_id="back", now=d.now)
    assert out.error is not None and out.error.code == "unauthorized"
    assert d.room.connect(member_id=left[-1], conn_id="back", now=d.now).error is None
    report = d.report()
    assert [a["name"] for a in report["attendance"]] == ["Mia"] + [f"P{i}" for i in range(10)]
    assert sorted(g["text"] for g in report["goals"]) == sorted(f"goal of {i}" for i in range(10))


def test_a_full_room_refuses_one_more_member():
    d = RoomDriver(limits=Limits(max_members=2))
    d.join("Mia", "mentor")
    d.join("Pat")
    out = d.room.join(member_id="m_x", name="X", role="participant", conn_id="cx", now=d.now)
    assert out.error is not None and out.error.code == "conflict"
    assert "full" in out.error.message


def test_a_member_holds_a_bounded_number_of_connections():
    d = RoomDriver(limits=Limits(max_conns=3))
    pat = d.join("Pat")
    d.connect(pat)
    d.connect(pat)
    out = d.room.connect(member_id=pat, conn_id="c-many", now=d.now)
    assert out.error is not None and out.error.code == "conflict"
    assert len(d.conns(pat)) == 3


def test_an_empty_open_room_closes_after_its_idle_time():
    d = RoomDriver(grace_ms=1000, limits=Limits(idle_ms=60_000))
    pat = d.join("Pat")
    d.disconnect(*d.conns(pat))
    d.advance(1000)  # Pat leaves at the end of the grace period
    assert d.room.next_deadline() == d.now + 60_000
    d.advance(59_999)
    assert not d.room.closed
    out = d.advance(1)
    assert d.types(out) == ["room.closed"] and out.events[0].fields == {"reason": "idle"}
    assert d.room.closed and d.room.next_deadline() == d.now + d.room.state.retention_ms


def test_a_room_nobody_joined_closes_when_idle_and_is_deleted_at_once():
    d = RoomDriver(limits=Limits(idle_ms=1000))
    assert d.room.next_deadline() == d.now + 1000
    d.advance(1000)
    assert d.room.closed
    assert d.room.tick(d.now).expired


def test_a_member_coming_back_keeps_the_room_open():
    d = RoomDriver(grace_ms=1000, limits=Limits(idle_ms=5000))
    pat = d.join("Pat")
    d.disconnect(*d.conns(pat))
    d.advance(3000)
    d.connect(pat)  # back after the grace period, within the idle time
    d.advance(10_000)
    assert not d.room.closed and d.room.next_deadline() is None


def test_every_record_counts_against_the_member_it_comes_from():
    """The record log's quota per member (backends) counts each record against
    `record_author`: who wrote it, else the member it is about; never nobody."""
    d = RoomDriver(grace_ms=1000)
    mia, pat, sam = d.join("Mia", "mentor"), d.join("Pat"), d.join("Sam")
    d.do(mia, "turns.config", mode="round_robin")
    d.do(sam, "comment.send", text="hi", to=pat)
    d.do(mia, "reaction.send", emoji="👏", to=sam)
    d.do(mia, "note.mentors", text="note")
    d.do(pat, "goal.set", text="scales")
    d.do(pat, "goal.check", result="done")
    d.now += 10
    d.do(mia, "turn.next")
    d.disconnect(*d.conns(sam))
    d.advance(2000)
    authors = [(r["kind"], record_author(r)) for r in d.records]
    assert {"comment", "reaction", "note", "goal", "turn", "attendance"} <= {k for k, _ in authors}
    assert ("comment", sam) in authors and ("reaction", mia) in authors
    assert ("note", mia) in authors and ("goal", pat) in authors
    assert ("attendance", sam) in authors
    assert all(author in (mia, pat, sam) for _, author in authors)
    assert record_author({"kind": "other"}) is None


def test_the_report_names_whose_records_were_dropped():
    d = RoomDriver()
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    d.do(mia, "comment.send", text="kept", to=pat)
    assert "truncated" not in d.room.report(d.now, d.records)
    report = d.room.report(d.now, d.records, 7, {pat: 6, mia: 1})
    assert report["truncated"] == {"records_dropped": 7, "dropped_by_member": {mia: 1, pat: 6}}
