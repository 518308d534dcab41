"""Focus time with drops and rejoins, the archive request, and what the history keeps."""

from __future__ import annotations

from ensemble.core.focus import overlap_ms
from ensemble.core.history import archive_records
from ensemble.core.room import ARCHIVE_RETRY_MS
from tests.core.helpers import PROGRAM, RoomDriver

# PROGRAM: check-in 1 s, focus 5 s, break 2 s, check-out 1 s; two rounds.
FOCUS_1 = (1000, 6000)  # the first focus phase, from the sprint's start
FOCUS_2 = (10_000, 15_000)


def attendance(d: RoomDriver, member_id: str) -> dict:
    return next(a for a in d.report()["attendance"] if a["member_id"] == member_id)


def test_overlap_of_a_stretch_with_focus_spans():
    spans = [[0, 10], [20, 30], [40, None]]
    assert overlap_ms(5, 25, spans, 100) == 5 + 5
    assert overlap_ms(0, 100, spans, 50) == 10 + 10 + 10
    assert overlap_ms(10, 20, spans, 100) == 0
    assert overlap_ms(45, 60, spans, 60) == 15


def test_focus_counts_only_focus_phases_while_connected():
    d = RoomDriver(program=PROGRAM)
    mia = d.join("Mia", "mentor")
    ana = d.join("Ana", person_id="p_ana")
    d.do(mia, "sprint.start")
    d.advance(20_000)  # both rounds done
    assert attendance(d, ana)["focus_ms"] == 10_000
    assert attendance(d, ana)["person_id"] == "p_ana"
    assert attendance(d, mia)["person_id"] is None


def test_focus_with_a_drop_and_a_rejoin():
    d = RoomDriver(program=PROGRAM, grace_ms=60_000)
    mia = d.join("Mia", "mentor")
    ana = d.join("Ana", person_id="p_ana")
    d.do(mia, "sprint.start")
    d.advance(2000)  # 1 s into the first focus
    d.disconnect(*d.conns(ana))
    d.advance(2000)  # away for 2 s of focus
    d.connect(ana)
    d.advance(16_000)  # to the end
    # First focus: 1 s + 2 s (back at 4 s, until 6 s); second focus: all 5 s.
    assert attendance(d, ana)["focus_ms"] == 1000 + 2000 + 5000
    assert attendance(d, ana)["present_ms"] == 20_000 - 2000


def test_focus_of_someone_who_left_is_in_their_departure_record():
    d = RoomDriver(program=PROGRAM, grace_ms=1000)
    mia = d.join("Mia", "mentor")
    ana = d.join("Ana", person_id="p_ana")
    d.do(mia, "sprint.start")
    d.advance(3000)  # 2 s of focus
    d.disconnect(*d.conns(ana))
    d.advance(1000)  # grace over: Ana leaves
    departure = [r for r in d.records if r["kind"] == "attendance"][-1]
    assert departure["person_id"] == "p_ana" and departure["focus_ms"] == 2000
    assert attendance(d, ana)["focus_ms"] == 2000


def test_focus_spans_stay_short():
    d = RoomDriver(program=PROGRAM, grace_ms=60_000)
    mia = d.join("Mia", "mentor")
    ana = None
    for i in range(30):
        if i == 10:  # everyone connected now came after the first ten sprints
            d.disconnect(*d.conns(mia))
            d.connect(mia)
            ana = d.join("Ana")
        d.do(mia, "sprint.start")
        d.advance(20_000)  # two rounds, two focus phases
    assert len(d.room.state.focus_spans) <= 2 * 20 + 1
    assert ana is not None and attendance(d, ana)["focus_ms"] == 20 * 2 * 5000


def test_closing_asks_for_the_archive_once_then_again_if_not_confirmed():
    d = RoomDriver()
    mia = d.join("Mia", "mentor")
    d.do(mia, "room.close")
    assert d.room.needs_archive() and d.room.next_deadline() == d.now
    first = d.room.tick(d.now)
    assert first.archive
    # Another process ticking meanwhile is not asked: the request is leased.
    assert d.room.tick(d.now + 1).reply == {}
    assert d.room.next_deadline() == d.now + ARCHIVE_RETRY_MS
    # The archiver died: asked again when the lease runs out.
    assert d.room.tick(d.now + ARCHIVE_RETRY_MS).archive
    d.room.mark_archived(d.now + ARCHIVE_RETRY_MS)
    assert not d.room.needs_archive()
    assert d.room.tick(d.now + 3 * ARCHIVE_RETRY_MS).reply == {}


def test_the_last_member_leaving_asks_for_the_archive():
    d = RoomDriver(grace_ms=1000)
    ana = d.join("Ana")
    d.disconnect(*d.conns(ana))
    assert not d.room.needs_archive()  # within the grace period Ana may come back
    out = d.advance(1000)
    assert "member.left" in d.types(out) and out.archive


def test_a_session_someone_came_back_to_is_archived_again_when_it_ends():
    d = RoomDriver(grace_ms=1000)
    ana = d.join("Ana")
    d.disconnect(*d.conns(ana))
    assert d.advance(1000).archive  # kept (the driver confirms it, as the archiver does)
    assert not d.room.needs_archive()
    d.connect(ana)  # back in the room, after it was kept
    d.do(ana, "goal.set", text="one more round")
    assert not d.room.needs_archive()  # going on
    d.disconnect(*d.conns(ana))
    out = d.advance(1000)
    assert "member.left" in d.types(out) and out.archive  # kept again, with the goal


def test_a_room_nobody_joined_is_never_archived():
    d = RoomDriver()
    assert not d.room.needs_archive()


def test_archive_records_keep_people_only_and_merge_a_persons_two_members():
    d = RoomDriver(program=PROGRAM)
    mia = d.join("Mia", "mentor", person_id="p_mia")
    ana = d.join("Ana", person_id="p_ana")
    ana2 = d.join("Ana2", person_id="p_ana")  # the same person in a second tab
    guest = d.join("Guest")
    d.do(ana, "goal.set", text="scales at 80")
    d.do(mia, "sprint.start")
    d.advance(2000)
    d.do(mia, "comment.send", to=ana, text="wrist", private=True)
    d.do(guest, "comment.send", to=ana2, text="nice")
    d.do(guest, "reaction.send", to=ana, emoji="👏")
    d.do(ana, "goal.check", result="partial", note="to bar 15")
    d.do(mia, "comment.send", to=guest, text="for the guest", private=True)
    d.do(mia, "note.mentors", text="Ana rushes the shifts")
    d.do(mia, "room.close")
    session, people = archive_records(d.report())
    assert session["room_id"] == "r_test" and session["present"] == 4
    assert session["ended_at"] == d.now and session["group_id"] is None
    by_person = {p["person_id"]: p for p in people}
    assert set(by_person) == {"p_mia", "p_ana"}  # the guest is not kept
    kept = by_person["p_ana"]
    assert kept["role"] == "participant"
    assert kept["goals"] == [{"text": "scales at 80", "result": "partial", "note": "to bar 15"}]
    assert [(c["text"], c["private"], c["from_name"]) for c in kept["feedback"]] == [
        ("wrist", True, "Mia"), ("nice", False, "Guest")]
    assert kept["feedback"][0]["anchor"]["phase"] == "Focus"
    assert kept["reactions"] == {"👏": 1}
    assert kept["focus_ms"] == 2 * 1000  # both members, 1 s of focus each
    assert by_person["p_mia"]["role"] == "mentor" and by_person["p_mia"]["feedback"] == []
    assert all("for the guest" not in str(p) for p in people)
    # Mentors-only notes belong to the session (read by its group's mentors), not to anyone.
    assert [(n["from_name"], n["text"]) for n in session["notes"]] == [
        ("Mia", "Ana rushes the shifts")]
    assert all("rushes" not in str(p) for p in people)
