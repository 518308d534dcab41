"""The backend contract (backends/base.py), run against memory and Redis alike."""

from __future__ import annotations

import pytest

from ensemble.core import Forbidden, NotFound
from ensemble.wire.codec import EncodeError
from ensemble.wire.packet import Packet

from .collect import Collector
from .rooms import PHASES, T0, join, new_room, request, room_with_mentor, tick

pytestmark = pytest.mark.timeout(30)


async def test_create_and_load(backend_factory):
    backend = await backend_factory()
    room = new_room(title="Scales")
    await backend.create_room(room.state, room.opening())
    loaded = await backend.load_room(room.state.id)
    assert loaded is not None
    assert loaded.state.to_dict() == room.state.to_dict()
    assert await backend.load_room("r_missing") is None


async def test_transact_commits_and_numbers_history(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    outcome = await backend.transact(room_id, request("p", "chat.send", {"text": "hi"}))
    assert outcome.error is None
    assert [e.type for e in outcome.events] == ["chat.message"]

    history = await backend.history(room_id, "room", 0)
    assert history is not None
    assert [p.seq for p in history] == list(range(1, len(history) + 1))
    assert history[-1] == Packet.of(outcome.events[0])
    loaded = await backend.load_room(room_id)
    assert loaded is not None
    assert loaded.state.seqs["room"] == len(history)
    assert set(loaded.state.members) == {"m", "p"}


async def test_transact_on_a_missing_room_raises_not_found(backend_factory):
    backend = await backend_factory()
    with pytest.raises(NotFound):
        await backend.transact("r_missing", tick(T0))


async def test_history_after_and_trimming(backend_factory):
    backend = await backend_factory(history_size=3)
    room_id = await room_with_mentor(backend)  # room seq 1
    for i in range(4):  # room seqs 2..5
        await backend.transact(room_id, request("m", "chat.send", {"text": f"t{i}"}))

    kept = await backend.history(room_id, "room", 2)
    assert kept is not None
    assert [p.seq for p in kept] == [3, 4, 5]
    assert [p.seq for p in await backend.history(room_id, "room", 4)] == [5]
    assert await backend.history(room_id, "room", 5) == []
    assert await backend.history(room_id, "room", 9) == []
    assert await backend.history(room_id, "room", 1) is None  # seq 2 is gone
    assert await backend.history(room_id, "room", 0) is None


async def test_recent_is_oldest_first(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    for i in range(5):
        await backend.transact(room_id, request("m", "chat.send", {"text": f"t{i}"}))
    assert [p.seq for p in await backend.recent(room_id, "room", 3)] == [4, 5, 6]
    assert [p.seq for p in await backend.recent(room_id, "room", 100)] == list(range(1, 7))
    assert await backend.recent(room_id, "room", 0) == []
    assert await backend.recent(room_id, "mentors", 5) == []


async def test_private_streams_have_their_own_history(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    await backend.transact(room_id, request("m", "note.mentors", {"text": "psst"}))
    await backend.transact(
        room_id, request("m", "comment.send", {"text": "nice", "to": "p", "private": True})
    )
    mentors = await backend.history(room_id, "mentors", 0)
    direct = await backend.history(room_id, "direct:p", 0)
    assert [p.type for p in mentors] == ["mentor.note", "comment"]
    assert [(p.type, p.seq, p.member) for p in direct] == [("comment", 1, "p")]
    assert await backend.history(room_id, "direct:m", 0) == []


async def test_listeners_get_packets_in_commit_order(backend_factory):
    backend = await backend_factory()
    room = new_room()
    room_id = room.state.id
    await backend.create_room(room.state, room.opening())
    first, second = Collector(), Collector()
    await backend.subscribe(room_id, first)
    await backend.subscribe(room_id, second)
    await backend.transact(room_id, join("m", "mentor"))
    for i in range(10):
        await backend.transact(room_id, request("m", "chat.send", {"text": f"t{i}"}))

    got = await first.wait_packets(11)
    await second.wait_packets(11)
    assert [p.seq for p in got] == list(range(1, 12))
    assert second.packets == got
    assert got == await backend.history(room_id, "room", 0)
    assert first.gaps == second.gaps == 0


async def test_subscriptions_are_counted(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    first, second, third = Collector(), Collector(), Collector()
    await backend.subscribe(room_id, first)
    await backend.subscribe(room_id, second)
    await backend.unsubscribe(room_id, first)
    await backend.transact(room_id, request("m", "chat.send", {"text": "one"}))
    await second.wait_packets(1)

    await backend.unsubscribe(room_id, second)
    await backend.unsubscribe(room_id, second)  # twice is harmless
    await backend.transact(room_id, request("m", "chat.send", {"text": "two"}))
    await backend.subscribe(room_id, third)
    await backend.transact(room_id, request("m", "chat.send", {"text": "three"}))
    got = await third.wait_packets(1)

    assert first.got == []
    assert [p.seq for p in second.packets] == [2]
    assert [p.seq for p in got] == [4]


async def test_listeners_see_only_their_room(backend_factory):
    backend = await backend_factory()
    a, b = new_room(), new_room()
    await backend.create_room(a.state, a.opening())
    await backend.create_room(b.state, b.opening())
    heard_a, heard_b = Collector(), Collector()
    await backend.subscribe(a.state.id, heard_a)
    await backend.subscribe(b.state.id, heard_b)
    await backend.transact(a.state.id, join("m", "mentor"))
    await backend.transact(b.state.id, join("x", "mentor"))
    await backend.transact(b.state.id, join("y"))
    await heard_a.wait_packets(1)
    await heard_b.wait_packets(2)
    assert [p.type for p in heard_a.packets] == ["member.joined"]
    assert len(heard_b.packets) == 2


async def test_due_rooms_and_next_deadline(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    assert await backend.next_deadline() is None
    await backend.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))

    assert await backend.next_deadline() == T0 + 60_000
    assert await backend.due_rooms(T0 + 59_999) == []
    assert await backend.due_rooms(T0 + 60_000) == [room_id]

    outcome = await backend.transact(room_id, tick(T0 + 60_000))
    assert "sprint.phase" in [e.type for e in outcome.events]
    assert await backend.next_deadline() == T0 + 90_000
    assert await backend.due_rooms(T0 + 60_000) == []

    await backend.transact(room_id, request("m", "sprint.stop", now=T0 + 61_000))
    assert await backend.next_deadline() is None


async def test_idle_tick_commits_nothing(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    before = await backend.load_room(room_id)
    outcome = await backend.transact(room_id, tick(T0 + 1_000))
    assert outcome.events == []
    after = await backend.load_room(room_id)
    assert after.state.to_dict() == before.state.to_dict()


async def test_list_rooms_shows_public_open_rooms(backend_factory):
    backend = await backend_factory()
    public, unlisted, closing = new_room(), new_room(visibility="unlisted"), new_room()
    for room in (public, unlisted, closing):
        await backend.create_room(room.state, room.opening())
        await backend.transact(room.state.id, join("m", "mentor"))
    listed = {r["room_id"]: r for r in await backend.list_rooms()}
    assert set(listed) == {public.state.id, closing.state.id}
    assert listed[public.state.id]["members"] == 1
    assert listed[public.state.id]["title"] == "Practice"

    await backend.transact(closing.state.id, request("m", "room.close"))
    assert [r["room_id"] for r in await backend.list_rooms()] == [public.state.id]


async def test_a_closed_room_is_due_at_its_expiry_and_deleted_without_a_trace(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend, retention_ms=10_000)
    await backend.transact(room_id, join("p"))
    await backend.transact(
        room_id, request("m", "comment.send", {"text": "x", "to": "p", "private": True})
    )
    await backend.transact(room_id, request("m", "room.close", now=T0 + 1_000))
    # Its archive is due at once; once archived, its expiry is what is due.
    assert await backend.next_deadline() == T0 + 1_000
    assert (await backend.transact(room_id, tick(T0 + 1_000))).archive
    await backend.transact(room_id, lambda room: room.mark_archived(T0 + 1_000))
    assert await backend.next_deadline() == T0 + 11_000
    assert (await backend.transact(room_id, tick(T0 + 10_999))).reply == {}
    assert (await backend.transact(room_id, tick(T0 + 11_000))).expired

    await backend.delete_room(room_id)
    assert await backend.load_room(room_id) is None
    for key in ("room", "mentors", "direct:p"):
        assert await backend.recent(room_id, key, 10) == []
    assert await backend.next_deadline() is None
    assert room_id not in {r["room_id"] for r in await backend.list_rooms()}
    assert await backend.records(room_id) == ([], 0, {})
    with pytest.raises(NotFound):
        await backend.transact(room_id, tick(T0 + 12_000))
    await backend.delete_room(room_id)  # idempotent


async def test_a_new_room_is_due_at_its_idle_time(backend_factory):
    backend = await backend_factory()
    room = new_room()
    room.state.limits.idle_ms = 60_000
    await backend.create_room(room.state, room.opening())
    assert await backend.next_deadline() == T0 + 60_000
    assert room.state.id in await backend.due_rooms(T0 + 60_000)


async def test_report_records_are_kept_in_commit_order_and_bounded(backend_factory):
    backend = await backend_factory(record_log_size=5)
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    for i in range(4):
        await backend.transact(
            room_id, request("m", "comment.send", {"text": f"c{i}", "to": "p"})
        )
    await backend.transact(room_id, request("m", "reaction.send", {"emoji": "👏", "to": "p"}))
    records, dropped, dropped_by = await backend.records(room_id)
    assert [r.get("text", r["kind"]) for r in records] == ["c0", "c1", "c2", "c3", "reaction"]
    assert dropped == 0 and dropped_by == {}
    # Past the bound, records are counted, not kept; the state never holds them.
    text = "one comment past the bound"  # (not "c4": random ids may hold that)
    await backend.transact(room_id, request("m", "comment.send", {"text": text, "to": "p"}))
    records, dropped, dropped_by = await backend.records(room_id)
    assert len(records) == 5 and dropped == 1 and dropped_by == {"m": 1}
    room = await backend.load_room(room_id)
    assert room is not None
    assert text not in str(room.state.to_dict())
    report = room.report(T0, records, dropped, dropped_by)
    assert report["truncated"] == {"records_dropped": 1, "dropped_by_member": {"m": 1}}


async def test_a_member_past_their_record_quota_loses_only_their_own_records(backend_factory):
    backend = await backend_factory(record_log_size=20, record_quota_per_member=3)
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    await backend.transact(room_id, join("q"))
    await backend.transact(room_id, request("q", "goal.set", {"text": "scales"}))
    # "p" floods: three comments kept, the rest (and a reaction) dropped and counted.
    for i in range(6):
        await backend.transact(room_id, request("p", "comment.send", {"text": f"p{i}", "to": "q"}))
    await backend.transact(room_id, request("p", "reaction.send", {"emoji": "👏", "to": "q"}))
    # The others' records after the flood are all kept: a check-out ("member_id"),
    # a comment, a mentor's comment and note ("by"), also several in one commit.
    await backend.transact(room_id, request("q", "goal.check", {"result": "done"}))
    await backend.transact(room_id, request("q", "comment.send", {"text": "q0", "to": "p"}))
    await backend.transact(room_id, request("m", "comment.send", {"text": "m0", "to": "p"}))
    await backend.transact(room_id, request("m", "note.mentors", {"text": "m1"}))
    records, dropped, dropped_by = await backend.records(room_id)
    assert [(r["kind"], r.get("text")) for r in records] == [
        ("comment", "p0"), ("comment", "p1"), ("comment", "p2"),
        ("goal", "scales"), ("comment", "q0"), ("comment", "m0"), ("note", "m1"),
    ]
    assert dropped == 4 and dropped_by == {"p": 4}
    # The quota holds across commits and for every kind of record.
    await backend.transact(room_id, request("p", "goal.set", {"text": "flood"}))
    await backend.transact(room_id, request("p", "goal.check", {"result": "missed"}))
    assert (await backend.records(room_id))[1:] == (5, {"p": 5})

    room = await backend.load_room(room_id)
    assert room is not None
    log = await backend.records(room_id)
    report = room.report(T0, log.records, log.dropped, log.dropped_by_member)
    assert report["truncated"] == {"records_dropped": 5, "dropped_by_member": {"p": 5}}
    assert [g["member_id"] for g in report["goals"] if g["result"]] == ["q", "p"]  # p's: state
    received = {f["member_id"]: [c["text"] for c in f["comments"]] for f in report["feedback"]}
    assert received == {"m": [], "p": ["q0", "m0"], "q": ["p0", "p1", "p2"]}
    assert [n["text"] for n in report["notes"]] == ["m1"]

    await backend.delete_room(room_id)
    assert await backend.records(room_id) == ([], 0, {})
    # A room made again under the same id starts with every quota whole.
    room = new_room(room_id=room_id)
    await backend.create_room(room.state, room.opening())
    await backend.transact(room_id, join("p"))
    await backend.transact(room_id, join("q"))
    for i in range(3):
        await backend.transact(room_id, request("p", "comment.send", {"text": f"p{i}", "to": "q"}))
    assert [r["text"] for r in (await backend.records(room_id)).records] == ["p0", "p1", "p2"]


async def test_the_room_wide_bound_holds_under_the_quota_and_counts_per_author(backend_factory):
    backend = await backend_factory(record_log_size=4, record_quota_per_member=3)
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    for who, to in (("p", "m"), ("m", "p")):
        for i in range(3):
            await backend.transact(room_id, request(who, "comment.send",
                                                    {"text": f"{who}{i}", "to": to}))
    records, dropped, dropped_by = await backend.records(room_id)
    assert [r["text"] for r in records] == ["p0", "p1", "p2", "m0"]
    assert dropped == 2 and dropped_by == {"m": 2}


async def test_refused_command_still_commits_catch_up_events(backend_factory):
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, join("p"))
    await backend.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))
    heard = Collector()
    await backend.subscribe(room_id, heard)

    late = T0 + 60_500
    outcome = await backend.transact(
        room_id, request("p", "timer.start", {"duration_ms": 1000}, now=late)
    )
    assert isinstance(outcome.error, Forbidden)
    assert "sprint.phase" in [e.type for e in outcome.events]
    loaded = await backend.load_room(room_id)
    assert loaded.state.sprint.phase_index == 1
    history = await backend.history(room_id, "room", 0)
    assert history[-len(outcome.events) :] == [Packet.of(e) for e in outcome.events]
    await heard.wait_packets(len(outcome.events))
    assert await backend.next_deadline() == T0 + 90_000


async def test_presence_with_live_leases_reports_nothing(backend_factory):
    backend = await backend_factory(presence_ttl_ms=60_000)
    room = new_room()
    await backend.create_room(room.state, room.opening())
    await backend.refresh_presence("node1", {room.state.id: ["c1", "c2"]})
    assert await backend.orphaned_connections() == {}


async def test_events_that_cannot_be_encoded_commit_nothing(backend_factory):
    """Encode before commit: a command whose event cannot be encoded (a lone
    surrogate that slipped past the input checks) raises EncodeError, and the
    room's state, seqs and histories are as before; the room goes on."""
    backend = await backend_factory()
    room_id = await room_with_mentor(backend)
    await backend.transact(room_id, request("m", "chat.send", {"text": "before"}))
    before = await backend.load_room(room_id)
    assert before is not None
    history_before = await backend.history(room_id, "room", 0)

    with pytest.raises(EncodeError):
        await backend.transact(room_id, request("m", "chat.send", {"text": "bad \ud800"}))
    with pytest.raises(EncodeError):  # the same when the title that changes has it
        await backend.transact(room_id, join("p\udfff"))

    after = await backend.load_room(room_id)
    assert after is not None
    assert after.state.to_dict() == before.state.to_dict()
    assert await backend.history(room_id, "room", 0) == history_before
    outcome = await backend.transact(room_id, request("m", "chat.send", {"text": "after"}))
    assert outcome.error is None
    history = await backend.history(room_id, "room", 0)
    assert history is not None
    assert [p.seq for p in history] == list(range(1, len(history) + 1))
    assert history[-1].message()["text"] == "after"


async def test_a_due_room_is_claimed_once_per_deadline(backend_factory):
    one, two = await backend_factory(), await backend_factory()
    room_id = await room_with_mentor(one)
    await one.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))
    assert not await one.claim(room_id, T0 + 59_999, 5_000)  # not due yet
    claims = [await b.claim(room_id, T0 + 60_000, 5_000) for b in (one, two, one)]
    assert claims == [True, False, False]
    assert room_id not in await two.due_rooms(T0 + 64_999)
    assert await two.claim(room_id, T0 + 65_000, 5_000)  # the claimer died: due again

    await two.transact(room_id, tick(T0 + 65_000))  # the tick stores the real deadline
    assert await one.next_deadline() == T0 + 90_000
    assert not await one.claim(room_id, T0 + 65_000, 5_000)
    assert not await one.claim("r_missing", T0, 5_000)


async def test_listening_processes_hear_each_commits_deadline(backend_factory):
    writer, reader = await backend_factory(), await backend_factory()
    room_id = await room_with_mentor(writer)
    told: list[tuple[str, int | None]] = []
    reader.watch_deadlines(lambda room, deadline: told.append((room, deadline)))
    heard = Collector()
    await reader.subscribe(room_id, heard)

    started = await writer.transact(room_id, request("m", "sprint.start", {"phases": PHASES}))
    stopped = await writer.transact(room_id, request("m", "sprint.stop", now=T0 + 1_000))
    await heard.wait_packets(len(started.events) + len(stopped.events))
    assert told == [(room_id, T0 + 60_000), (room_id, None)]
    assert (started.deadline, stopped.deadline) == (T0 + 60_000, None)
