from tests.core.helpers import PROGRAM, RoomDriver


def test_goal_set_and_check():
    d = RoomDriver()
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    assert d.refuse(pat, "goal.check", result="done") == "conflict"
    d.do(pat, "goal.set", text="Chapter 3 draft")
    d.do(pat, "goal.check", result="partial", note="half of it")
    assert d.events[-1].fields == {"member_id": pat, "result": "partial", "note": "half of it"}
    assert d.refuse(mia, "goal.set", text="x") == "forbidden"
    assert d.room.snapshot("participant")["goals"][pat] == {
        "text": "Chapter 3 draft", "result": "partial", "note": "half of it"}


def test_chat_and_reactions():
    d = RoomDriver()
    mia, pat, obs = d.join("Mia", "mentor"), d.join("Pat"), d.join("Olly", "observer")
    d.do(obs, "chat.send", text="<b>hi</b>")
    assert d.events[-1].fields == {"text": "<b>hi</b>"} and d.events[-1].actor == obs
    d.do(obs, "reaction.send", emoji="👏", to=pat)
    d.do(mia, "reaction.send", emoji="👏", to=pat)
    d.do(pat, "reaction.send", emoji="🔥")
    assert d.events[-1].fields == {"emoji": "🔥", "to": None}
    assert [f["reactions"] for f in d.report()["feedback"] if f["member_id"] == pat] == [
        {"👏": 2}
    ]
    assert d.refuse(pat, "reaction.send", emoji="👏", to="m_nobody") == "not_found"


def test_private_comment_goes_to_its_target_and_the_mentors_only():
    d = RoomDriver()
    mia, pat, sam = d.join("Mia", "mentor"), d.join("Pat"), d.join("Sam")
    d.events.clear()
    d.do(sam, "comment.send", text="try slower", to=pat, private=True)
    assert {(e.stream, e.to) for e in d.events} == {("mentors", None), ("direct", pat)}
    d.events.clear()
    d.do(pat, "comment.send", text="can you listen?", to=mia, private=True)
    assert [(e.stream, e.to) for e in d.events] == [("mentors", None)]
    assert d.refuse(pat, "comment.send", text="x", private=True) == "bad_request"
    obs = d.join("Olly", "observer")
    assert d.refuse(obs, "comment.send", text="x") == "forbidden"


def test_comment_anchor_is_the_moment_in_the_session():
    d = RoomDriver()
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    d.do(mia, "sprint.start", **PROGRAM)
    d.advance(1000 + 2500)  # 2.5 s into the focus phase
    d.do(pat, "hand.raise")
    out = d.do(mia, "comment.send", text="lovely tone", to=pat)
    anchor = {"round": 1, "phase": "Focus", "timer_ms": 2500, "turn_of": pat}
    assert out.events[0].fields["anchor"] == anchor
    assert out.reply == {"anchor": anchor}
    d.do(mia, "sprint.stop")
    out = d.do(mia, "comment.send", text="public", to=None)
    assert out.events[0].fields["anchor"] == {
        "round": None, "phase": None, "timer_ms": None, "turn_of": pat}


def test_mentor_notes_stay_with_mentors():
    d = RoomDriver()
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    out = d.do(mia, "note.mentors", text="Pat rushes the bridge")
    assert [(e.type, e.stream) for e in out.events] == [("mentor.note", "mentors")]
    assert d.refuse(pat, "note.mentors", text="x") == "forbidden"


def test_report_has_attendance_goals_turns_feedback():
    d = RoomDriver(grace_ms=1000)
    mia, pat = d.join("Mia", "mentor"), d.join("Pat")
    obs = d.join("Olly", "observer")
    d.do(pat, "goal.set", text="scales")
    d.do(pat, "hand.raise")
    d.now += 3000
    d.do(mia, "comment.send", text="steady", to=pat, private=True)
    d.do(obs, "reaction.send", emoji="🎵", to=pat)
    d.do(pat, "goal.check", result="done")
    d.disconnect(*d.conns(pat))
    d.advance(5000)
    report = d.report()
    attendance = {a["member_id"]: a for a in report["attendance"]}
    assert set(attendance) == {mia, pat}  # observers are not counted as attending
    assert attendance[pat]["present_ms"] == 3000
    assert attendance[pat]["left_at"] == d.now - 5000 + 1000
    assert attendance[mia]["present_ms"] == 8000
    assert report["goals"][0]["result"] == "done"
    # the turn ended when Pat left, at the end of the grace period
    assert report["turns"][0]["member_id"] == pat and report["turns"][0]["ms"] == 4000
    fb = {f["member_id"]: f for f in report["feedback"]}
    assert fb[pat]["comments"][0]["text"] == "steady" and fb[pat]["comments"][0]["private"]
    assert fb[pat]["reactions"] == {"🎵": 1}


def test_mentors_snapshot_counts_the_feedback_each_member_received():
    d = RoomDriver()
    mia, pat, sam = d.join("Mia", "mentor"), d.join("Pat"), d.join("Sam")
    d.do(mia, "comment.send", text="quiet word", to=pat, private=True)
    d.do(sam, "comment.send", text="nice", to=pat)
    d.do(sam, "reaction.send", emoji="👏", to=pat)
    d.do(pat, "reaction.send", emoji="👏", to=sam)
    d.do(pat, "comment.send", text="to the room")
    assert d.room.snapshot("mentor")["feedback"] == {pat: 3, sam: 1}
    assert "feedback" not in d.room.snapshot("participant")  # private ones stay private
