"""What an outcome tells the adapters: deadline, listing, expiry and effects.

The backends store and the transport acts on exactly these fields, never asking
the room again, so each is checked here against the room it describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ensemble.core.events import DROPPED, REMOVED, ROLE_CHANGED, ROOM_CLOSED, Effect

from .helpers import PROGRAM, RoomDriver

CORE = Path(__file__).parents[2] / "server" / "ensemble" / "core"


def test_every_outcome_carries_the_rooms_next_deadline():
    d = RoomDriver(program=PROGRAM)
    opening = d.room.opening()
    assert opening.events == [] and opening.deadline == d.room.next_deadline()
    mentor = d.join("Mia", "mentor")
    out = d.do(mentor, "sprint.start")
    assert out.deadline == d.now + 1000  # the check-in phase ends
    assert d.advance(1000).deadline == d.now + 5000  # then the focus phase
    refused = d.room.request(mentor, "sprint.start", {}, d.now)
    assert refused.error is not None and refused.deadline == d.now + 5000
    out = d.do(mentor, "sprint.stop")
    assert out.deadline is None  # members present, nothing running: no tick needed


def test_the_listing_says_public_open_title_and_connected_members():
    d = RoomDriver()
    assert d.room.opening().listing is not None
    listing = d.room.opening().listing
    assert listing.listed and listing.summary["members"] == 0
    mia = d.join("Mia", "mentor")
    out = d.do(mia, "status.set", status="focus")
    assert out.listing.listed
    assert out.listing.summary == {
        "room_id": "r_test", "title": "Practice", "visibility": "public", "members": 1,
        "state": "open", "invite": "invite-code",
    }
    closed = d.do(mia, "room.close")
    assert not closed.listing.listed and closed.listing.summary["state"] == "closed"


def test_an_unlisted_room_is_never_listed_and_shows_no_invite():
    d = RoomDriver()
    d.room.state.visibility = "unlisted"
    listing = d.room.opening().listing
    assert not listing.listed and "invite" not in listing.summary


def test_expired_only_once_a_closed_room_is_past_its_retention():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    closed = d.do(mia, "room.close")
    assert closed.deadline == d.now  # the session is archived first
    assert d.advance(0).archive
    archived = d.room.mark_archived(d.now)
    assert not archived.expired and archived.deadline == d.now + d.room.state.retention_ms
    assert not d.advance(d.room.state.retention_ms - 1).expired
    assert d.advance(1).expired


def test_effects_name_the_connections_an_event_ends():
    d = RoomDriver(grace_ms=1000)
    mia, pat, sam, olly = (d.join(n) for n in ("Mia", "Pat", "Sam", "Olly"))
    d.room.state.members[mia].role = "mentor"
    assert d.do(mia, "chat.send", text="hi").effects == []

    role = d.do(mia, "member.set_role", member_id=pat, role="observer")
    assert [(e.type, fx) for e, fx in role.effects] == [("member.role", Effect(ROLE_CHANGED, pat))]
    removed = d.do(mia, "member.remove", member_id=sam)
    assert [(e.type, fx) for e, fx in removed.effects] == [("member.left", Effect(REMOVED, sam))]

    (conn,) = d.conns(olly)
    gone = d.disconnect(conn)  # the room counts Olly's sockets as gone
    assert [(e.type, fx) for e, fx in gone.effects] == [("member.status", Effect(DROPPED, olly))]
    left = d.advance(1000)
    assert [(e.type, fx) for e, fx in left.effects] == [("member.left", Effect(DROPPED, olly))]

    closed = d.do(mia, "room.close")
    assert [(e.type, fx) for e, fx in closed.effects] == [("room.closed", Effect(ROOM_CLOSED))]


def test_effects_travel_with_packets_but_never_reach_clients():
    from ensemble.wire.packet import Packet

    d = RoomDriver()
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    (event,) = d.do(mia, "member.remove", member_id=pat).events
    packet = Packet.from_bytes(Packet.of(event).to_bytes())
    assert packet.effect == Effect(REMOVED, pat)
    assert "effect" not in packet.message() and "effect" not in packet.json


def test_the_rule_modules_never_import_the_room():
    for name in ("clock", "feedback", "focus", "presence", "turns", "context", "events"):
        tree = ast.parse((CORE / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "ensemble.core.room" not in imported, name
