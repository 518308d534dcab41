"""Invariants of the room under any sequence of requests, connections and time."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ensemble.core.state import MENTOR, OBSERVER
from tests.core.helpers import RoomDriver

NAMES = ["Mia", "Pat", "Sam", "Ola", "Kai"]
ROLES = ["mentor", "participant", "participant", "observer", "participant"]
member_index = st.integers(0, len(NAMES) - 1)

phase = st.fixed_dictionaries({
    "name": st.sampled_from(["In", "Focus", "Break", "Out"]),
    "kind": st.sampled_from(["checkin", "focus", "break", "checkout"]),
    "duration_ms": st.integers(1, 5000),
})

PAYLOADS: dict[str, Any] = {
    "status.set": st.fixed_dictionaries({"status": st.sampled_from(["active", "focus", "away"])}),
    "timer.start": st.fixed_dictionaries({"duration_ms": st.integers(1, 10_000)}),
    "timer.pause": st.just({}),
    "timer.resume": st.just({}),
    "timer.reset": st.just({}),
    "timer.adjust": st.fixed_dictionaries({"delta_ms": st.integers(-20_000, 20_000)}),
    "sprint.start": st.fixed_dictionaries({
        "phases": st.lists(phase, min_size=1, max_size=4), "rounds": st.integers(1, 3)}),
    "sprint.skip": st.just({}),
    "sprint.stop": st.just({}),
    "goal.set": st.fixed_dictionaries({"text": st.just("goal")}),
    "goal.check": st.fixed_dictionaries({"result": st.sampled_from(["done", "missed"])}),
    "hand.raise": st.just({}),
    "hand.lower": st.just({}),
    "turn.pass": st.just({}),
    "turn.next": st.just({}),
    "turns.config": st.fixed_dictionaries({
        "mode": st.sampled_from(["queue", "round_robin"]),
        "turn_ms": st.one_of(st.none(), st.integers(1000, 4000))}),
    "turns.clear": st.just({}),
    "chat.send": st.fixed_dictionaries({"text": st.just("hi")}),
    "note.mentors": st.fixed_dictionaries({"text": st.just("note")}),
    "tempo.start": st.just({}),
}
TARGETED = ["turn.grant", "comment.send", "reaction.send", "member.set_role", "member.remove"]

request = st.one_of(
    st.tuples(st.just("req"), member_index, st.sampled_from(sorted(PAYLOADS)))
    .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.just(t[2]), PAYLOADS[t[2]])),
    st.tuples(st.just("target"), member_index, st.sampled_from(TARGETED), member_index,
              st.booleans(), st.sampled_from(["mentor", "participant", "observer"])),
    st.tuples(st.just("wait"), st.integers(0, 6000)),
    st.tuples(st.just("drop"), member_index),
    st.tuples(st.just("back"), member_index),
)


def run(actions: list[tuple]) -> RoomDriver:
    d = RoomDriver(grace_ms=3000)
    ids = [d.join(n, r) for n, r in zip(NAMES, ROLES, strict=True)]
    for action in actions:
        kind = action[0]
        if kind == "wait":
            d.advance(action[1])
        elif kind == "drop":
            d.disconnect(*d.conns(ids[action[1]]))
        elif kind == "back":
            m = d.room.state.members[ids[action[1]]]
            if not m.removed:
                d.connect(m.id)
        else:
            actor = ids[action[1]]
            if not d.room.state.members[actor].present:
                continue
            if kind == "req":
                type_, payload = action[2], dict(action[3])
            else:
                type_, target, private, role = action[2], ids[action[3]], action[4], action[5]
                payload = {"member_id": target}
                if type_ == "comment.send":
                    payload = {"text": "c", "to": target, "private": private}
                elif type_ == "reaction.send":
                    payload = {"emoji": "👍", "to": target}
                elif type_ == "member.set_role":
                    payload["role"] = role
            d.record(d.room.tick(d.now))
            before = d.room.state.to_dict()
            out = d.record(d.room.request(actor, type_, payload, d.now))
            if out.error is not None:
                # A refused request changes nothing.
                assert d.room.state.to_dict() == before, type_
        check_state(d)
    return d


def check_state(d: RoomDriver) -> None:
    state = d.room.state
    turns = state.turns
    waiting = turns.queue + ([turns.current] if turns.current else [])
    assert len(waiting) == len(set(waiting)), "a member waits twice"
    for member_id in waiting:
        member = state.members[member_id]
        assert member.present and member.role not in (OBSERVER, MENTOR), "non-participant turn"
    timer = state.timer
    assert timer.remaining(d.now) >= 0
    assert timer.remaining_ms is None or timer.remaining_ms >= 0
    assert timer.duration_ms >= 0


actions = st.lists(request, max_size=60)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(actions)
def test_seqs_are_gapless_per_stream(acts):
    d = run(acts)
    by_stream: dict[str, list[int]] = defaultdict(list)
    for event in d.events:
        by_stream[event.history_key].append(event.seq)
    for seqs in by_stream.values():
        assert seqs == list(range(1, len(seqs) + 1))


@SETTINGS
@given(actions)
def test_private_events_only_reach_their_audience(acts):
    d = run(acts)
    for event in d.events:
        if event.stream == "direct":
            assert event.to is not None
            if event.type == "comment":
                assert event.fields["to"] == event.to
        if event.type == "comment" and event.fields["private"]:
            assert event.stream in ("mentors", "direct")
        if event.type == "mentor.note":
            assert event.stream == "mentors"


@SETTINGS
@given(actions)
def test_each_sprint_phase_is_entered_exactly_once(acts):
    d = run(acts)
    entered: list[tuple[int, int]] = []
    for event in d.events:
        if event.type == "sprint.changed" and event.fields["sprint"]["state"] == "running":
            entered = []
        if event.type == "sprint.phase":
            spot = (event.fields["sprint"]["round"], event.fields["sprint"]["phase_index"])
            assert spot not in entered, f"phase {spot} entered twice"
            assert not entered or spot > entered[-1], "phases went backwards"
            entered.append(spot)
