from ensemble.core import Room
from ensemble.core.state import RoomState
from tests.core.helpers import RoomDriver


def test_join_announces_the_member_connected():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    (event,) = d.events
    assert event.type == "member.joined"
    assert event.stream == "room" and event.seq == 1 and event.actor == mia
    assert event.fields["member"] == {
        "id": mia, "name": "Mia", "role": "mentor", "status": "active",
        "connected": True, "text": "",
    }


def test_several_tabs_count_once():
    d = RoomDriver()
    pat = d.join("Pat")
    d.connect(pat)
    (first, second) = d.conns(pat)
    d.events.clear()
    d.disconnect(first)
    assert d.events == []  # still connected through the other tab
    d.disconnect(second)
    (status,) = d.events
    assert status.type == "member.status" and status.fields["connected"] is False
    assert d.room.summary()["members"] == 0


def test_disconnected_member_leaves_after_grace_unless_back():
    d = RoomDriver(grace_ms=15_000)
    pat = d.join("Pat")
    d.disconnect(*d.conns(pat))
    assert d.room.next_deadline() == d.now + 15_000
    d.advance(14_999)
    assert "member.left" not in d.types()
    d.connect(pat)
    assert d.events[-1].type == "member.status" and d.events[-1].fields["connected"]
    d.disconnect(*d.conns(pat))
    out = d.advance(15_000)
    assert d.types(out) == ["member.left"]
    assert out.events[0].fields == {"member_id": pat, "reason": "left"}
    assert out.events[0].actor is None
    assert all(m["id"] != pat for m in d.room.snapshot("participant")["members"])


def test_member_back_after_leaving_joins_again_with_same_id():
    d = RoomDriver(grace_ms=1000)
    pat = d.join("Pat")
    d.disconnect(*d.conns(pat))
    d.advance(1000)
    d.connect(pat)
    assert d.events[-1].type == "member.joined"
    assert d.events[-1].fields["member"]["id"] == pat


def test_status_set_reaches_the_room():
    d = RoomDriver()
    pat = d.join("Pat")
    out = d.do(pat, "status.set", status="focus", text="scales in D")
    assert out.events[0].fields == {
        "member_id": pat, "status": "focus", "connected": True, "text": "scales in D",
    }


def test_roles_change_and_the_last_mentor_stays():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    pat = d.join("Pat")
    assert d.refuse(mia, "member.set_role", member_id=mia, role="participant") == "conflict"
    d.do(mia, "member.set_role", member_id=pat, role="mentor")
    assert d.events[-1].type == "member.role"
    d.do(pat, "member.set_role", member_id=mia, role="observer")
    assert d.room.state.members[mia].role == "observer"
    assert d.refuse(mia, "member.set_role", member_id=pat, role="observer") == "forbidden"


def test_removed_member_cannot_come_back():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    pat = d.join("Pat")
    d.do(mia, "member.remove", member_id=pat)
    assert d.events[-1].fields == {"member_id": pat, "reason": "removed"}
    out = d.room.connect(member_id=pat, conn_id="again", now=d.now)
    assert out.error is not None and out.error.code == "unauthorized"
    assert d.refuse(mia, "member.remove", member_id=pat) == "not_found"


def test_close_room_refuses_everything_after():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    d.do(mia, "timer.start", duration_ms=60_000)
    d.do(mia, "room.close")
    assert d.events[-1].type == "room.closed"
    # Its archive falls due at once; once archived, nothing more falls due but
    # the end of its retention (its report is kept till then).
    assert d.room.next_deadline() == d.now
    assert d.advance(0).reply == {"archive": True}
    assert d.room.next_deadline() == d.now + d.room.state.retention_ms
    assert d.room.tick(d.now + 60_000).events == []
    assert d.refuse(mia, "chat.send", text="hello?") == "conflict"
    assert d.room.summary()["state"] == "closed"


def test_credentials_are_checked():
    d = RoomDriver()
    assert d.room.check_invite("invite-code")
    assert not d.room.check_invite("invite-codf")
    assert d.room.check_host_key("host-key")
    assert not d.room.check_host_key("invite-code")
    assert "host-key" not in str(d.room.state.to_dict())  # only its hash is kept


def test_mentors_see_the_invite_and_so_does_everyone_in_a_public_room():
    d = RoomDriver()
    assert d.room.snapshot("mentor")["room"]["invite"] == "invite-code"
    assert d.room.snapshot("participant")["room"]["invite"] == "invite-code"  # public
    d.room.state.visibility = "unlisted"
    assert "invite" not in d.room.snapshot("participant")["room"]
    assert "invite" not in d.room.summary()
    assert d.room.snapshot("mentor")["room"]["invite"] == "invite-code"


def test_state_round_trips_through_a_dict():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    pat = d.join("Pat")
    d.do(mia, "sprint.start", phases=[{"name": "F", "kind": "focus", "duration_ms": 100}],
         rounds=1)
    d.do(pat, "goal.set", text="scales")
    d.do(pat, "hand.raise")
    d.do(mia, "comment.send", text="nice", to=pat)
    copy = Room(RoomState.from_dict(d.room.state.to_dict()))
    assert copy.state == d.room.state
    assert copy.snapshot("mentor") == d.room.snapshot("mentor")


def test_a_closed_room_expires_after_its_retention():
    d = RoomDriver()
    d.room.state.retention_ms = 5_000
    mia = d.join("Mia", "mentor")
    assert d.room.next_deadline() is None and not d.room.expired(d.now + 10**9)  # open: never
    d.do(mia, "room.close")
    d.room.mark_archived(d.now)  # kept in the history database
    assert d.room.tick(d.now + 4_999).reply == {}
    assert d.room.tick(d.now + 5_000).reply == {"expired": True}
    assert d.report()["room"]["closed_at"] == d.now  # readable until then
