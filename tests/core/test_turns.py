from tests.core.helpers import RoomDriver


def room_with(n: int):
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    people = [d.join(f"P{i}") for i in range(n)]
    return d, mia, people


def turns(d):
    return d.room.state.turns


def test_raised_hands_are_served_in_order():
    d, mia, (a, b, c) = room_with(3)
    d.do(a, "hand.raise")
    assert turns(d).current == a  # nobody held the turn: the first hand gets it
    d.do(b, "hand.raise")
    d.do(c, "hand.raise")
    assert turns(d).queue == [b, c]
    assert d.refuse(b, "hand.raise") == "conflict"
    d.do(c, "hand.lower")
    d.do(a, "turn.pass")
    assert turns(d).current == b and turns(d).queue == []
    assert d.refuse(a, "turn.pass") == "forbidden"
    d.do(mia, "turn.next")
    assert turns(d).current is None
    assert d.refuse(mia, "turn.next") == "conflict"


def test_round_robin_gives_everyone_a_turn_with_a_limit():
    d, mia, (a, b, c) = room_with(3)
    d.do(mia, "turns.config", mode="round_robin", turn_ms=1000)
    assert turns(d).current == a and turns(d).queue == [b, c]
    assert turns(d).ends_at == d.now + 1000
    d.advance(3500)
    holders = [e.fields["turns"]["current"] for e in d.of_type("turns.changed")]
    assert holders[-4:] == [a, b, c, a]
    assert turns(d).ends_at == d.now - 500 + 1000
    assert d.refuse(a, "hand.raise") == "conflict"


def test_grant_reorder_clear():
    d, mia, (a, b, c) = room_with(3)
    for p in (a, b, c):
        d.do(p, "hand.raise")
    d.do(mia, "turn.grant", member_id=c)
    assert turns(d).current == c and turns(d).queue == [b]
    d.do(a, "hand.raise")
    d.do(mia, "turn.reorder", queue=[a, b])
    assert turns(d).queue == [a, b]
    assert d.refuse(mia, "turn.reorder", queue=[a]) == "bad_request"
    assert d.refuse(mia, "turn.reorder", queue=[a, a]) == "bad_request"
    assert d.refuse(mia, "turn.grant", member_id=mia) == "conflict"
    d.do(mia, "turns.clear")
    assert turns(d).current is None and turns(d).queue == []


def test_observers_never_hold_a_turn():
    d, mia, (a,) = room_with(1)
    obs = d.join("Olly", "observer")
    assert d.refuse(obs, "hand.raise") == "forbidden"
    assert d.refuse(mia, "turn.grant", member_id=obs) == "conflict"
    d.do(mia, "turns.config", mode="round_robin")
    assert obs not in turns(d).queue and turns(d).current == a


def test_leaving_or_demoted_members_leave_the_queue():
    d, mia, (a, b, c) = room_with(3)
    for p in (a, b, c):
        d.do(p, "hand.raise")
    d.do(mia, "member.set_role", member_id=b, role="observer")
    assert turns(d).queue == [c]
    d.disconnect(*d.conns(a))
    d.advance(15_000)
    assert turns(d).current == c and turns(d).queue == []


def test_turn_lengths_are_recorded_for_the_report():
    d, _mia, (a, b) = room_with(2)
    d.do(a, "hand.raise")
    d.do(b, "hand.raise")
    d.now += 4000
    d.do(a, "turn.pass")
    d.now += 1500
    report = d.report()
    assert [(t["member_id"], t["ms"]) for t in report["turns"]] == [(a, 4000), (b, 1500)]
