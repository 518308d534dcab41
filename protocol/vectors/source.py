"""Messages behind the test vectors (read by generate.py; edit here, then regenerate).

All messages belong to one story so they read as a real session: room r_8d2k1q
("Evening scales"), mentor Mira (m_3fa9c2), participants Jonas (m_7b1e04) and
Aiko (m_c52d9a), observer Priya (m_0e6f31). Times are server epoch ms.

Keys appear in the order the server writes them (see PROTOCOL.md, "Key order").
Only integers, strings, booleans, null, lists and maps appear, except the
float `t0` of one ping/pong pair: a ping's t0 may be any number.
"""

ROOM = "r_8d2k1q"
EPOCH = "ep_5h2k9w"
MIRA, JONAS, AIKO, PRIYA = "m_3fa9c2", "m_7b1e04", "m_c52d9a", "m_0e6f31"
T = 1764000000000  # the session starts here
INVITE = "k7Qm2xPz"
HOST_KEY = "hk_V2c9LwQe8rTy4uNb"
TOKEN_JONAS = "m_7b1e04.r_8d2k1q.MTc2NDAwMDAwMA.q3ZkV8pWm1sXc0Lr9TbY2g"
TOKEN_MIRA = "m_3fa9c2.r_8d2k1q.MTc2NDAwMDAwMA.Hc4nR8yQe0dLwP7sK2mJ5a"


def ev(type_, stream, seq, at, actor, **fields):
    """An event frame: the envelope first, then the event's fields."""
    return {"type": type_, "stream": stream, "seq": seq, "at": at, "actor": actor, **fields}


def req(type_, ref=None, **fields):
    msg = {"type": type_}
    if ref is not None:
        msg["ref"] = ref
    msg.update(fields)
    return msg


PROGRAM = [
    {"name": "Check-in", "kind": "checkin", "duration_ms": 180000},
    {"name": "Focus", "kind": "focus", "duration_ms": 1500000},
    {"name": "Break", "kind": "break", "duration_ms": 300000},
    {"name": "Check-out", "kind": "checkout", "duration_ms": 300000},
]


def member(id_, name, role, status="active", connected=True, text=""):
    return {"id": id_, "name": name, "role": role, "status": status,
            "connected": connected, "text": text}


def timer(state, label, duration_ms, ends_at=None, remaining_ms=None):
    return {"state": state, "label": label, "duration_ms": duration_ms,
            "ends_at": ends_at, "remaining_ms": remaining_ms}


def sprint(state, round_, phase_index, phases=PROGRAM, rounds=4):
    return {"state": state, "phases": phases, "rounds": rounds,
            "round": round_, "phase_index": phase_index}


def turns(mode, queue, current, turn_ms=None, ends_at=None):
    return {"mode": mode, "queue": queue, "current": current,
            "turn_ms": turn_ms, "ends_at": ends_at}


def grid(bpm, beats_per_bar, started_at, first_beat=0):
    return {"bpm": bpm, "beats_per_bar": beats_per_bar, "started_at": started_at,
            "first_beat": first_beat}


def tempo(bpm, beats_per_bar, running, started_at=None, first_beat=0, effective_at=None,
          previous=None):
    return {"bpm": bpm, "beats_per_bar": beats_per_bar, "running": running,
            "started_at": started_at, "first_beat": first_beat,
            "effective_at": effective_at, "previous": previous}


# Mira starts the metronome at T + 397000: 80 bpm in 4 (a bar is 3000 ms), so
# beat 0 sounds one bar later. At T + 650000 she asks for 96 bpm in 3: the
# first bar line at least one bar ahead is beat 340 at T + 655000. At
# T + 700000 she stops it: the 96-in-3 grid (bar 1875 ms) ends on its bar
# line at T + 701875 (beat 415 would have been next).
TEMPO_80 = tempo(80, 4, True, started_at=T + 400000, effective_at=T + 400000)
TEMPO_96 = tempo(96, 3, True, started_at=T + 655000, first_beat=340, effective_at=T + 655000,
                 previous=grid(80, 4, T + 400000))
TEMPO_STOPPED = tempo(96, 3, False, effective_at=T + 701875,
                      previous=grid(96, 3, T + 655000, 340))


def anchor(round_, phase, timer_ms, turn_of):
    return {"round": round_, "phase": phase, "timer_ms": timer_ms, "turn_of": turn_of}


# Round 1, focus phase, started at T + 180000, 25 min long.
FOCUS_START = T + 180000
FOCUS_TIMER = timer("running", "Focus", 1500000, ends_at=FOCUS_START + 1500000)
FOCUS_SPRINT = sprint("running", 1, 1)
TURNS_NOW = turns("queue", [AIKO], JONAS, turn_ms=120000, ends_at=T + 450000)
ANCHOR_NOW = anchor(1, "Focus", 240000, JONAS)

CHAT_1 = ev("chat.message", "room", 55, T + 402000, AIKO,
            text="Ready when you are — starting at 80 bpm")
COMMENT_PUBLIC = ev("comment", "room", 56, T + 420000, MIRA,
                    text="Lovely even tone on the way up, Jonas.", to=JONAS,
                    private=False, anchor=ANCHOR_NOW)
PRIVATE_TEXT = "Relax the left wrist on the descent; it's tensing at the thumb-under."
COMMENT_PRIVATE_DIRECT = ev("comment", "direct", 3, T + 421500, MIRA, text=PRIVATE_TEXT,
                            to=JONAS, private=True, anchor=anchor(1, "Focus", 241500, JONAS))
COMMENT_PRIVATE_MENTORS = dict(COMMENT_PRIVATE_DIRECT, stream="mentors", seq=12)
REACTION_AIMED = ev("reaction", "room", 57, T + 423000, AIKO, emoji="👏", to=JONAS)
REACTION_ROOM = ev("reaction", "room", 58, T + 424000, PRIYA, emoji="🔥", to=None)
NOTE = ev("mentor.note", "mentors", 13, T + 425000, MIRA,
          text="Jonas ready for 100 bpm next week; Aiko needs a slower target.")

GOALS = {
    JONAS: {"text": "C major scale, two octaves, at 90 bpm without a slip",
            "result": None, "note": ""},
    AIKO: {"text": "Learn the A minor arpeggio fingering", "result": None, "note": ""},
}

SNAPSHOT_COMMON = {
    "room": {"id": ROOM, "title": "Evening scales", "visibility": "public", "state": "open"},
    "members": [
        member(MIRA, "Mira", "mentor"),
        member(AIKO, "Aiko", "participant", status="focus", text="arpeggios"),
        member(PRIYA, "Priya", "observer", connected=False),
        member(JONAS, "Jonas", "participant", status="focus"),
    ],
    "timer": FOCUS_TIMER,
    "sprint": FOCUS_SPRINT,
    "turns": TURNS_NOW,
    "tempo": TEMPO_80,
    "goals": GOALS,
}

SNAPSHOT_JONAS = dict(SNAPSHOT_COMMON, recent=[CHAT_1, COMMENT_PUBLIC, COMMENT_PRIVATE_DIRECT,
                                              REACTION_AIMED, REACTION_ROOM])

# (name, kind, message)
VECTORS = [
    # --- requests ---------------------------------------------------------
    ("hello invite participant", "request",
     req("hello", 1, room=ROOM, name="Jonas", invite=INVITE, role="participant")),
    ("hello invite observer, no ref", "request",
     req("hello", room=ROOM, name="Priya", invite=INVITE, role="observer")),
    ("hello invite with person_key (v2)", "request",
     req("hello", 1, room=ROOM, name="Jonas", invite=INVITE, person_key="pk_Jn4s9QwLz2Xc7VbA")),
    ("hello person_key alone: a group's room (v2)", "request",
     req("hello", 1, room=ROOM, name="Jonas", person_key="pk_Jn4s9QwLz2Xc7VbA")),
    ("hello host_key (mentor)", "request",
     req("hello", "hello-1", room=ROOM, name="Mira", host_key=HOST_KEY)),
    ("hello token with resume (participant)", "request",
     req("hello", 1, room=ROOM, name="Jonas", token=TOKEN_JONAS,
         resume={"epoch": EPOCH, "room": 56, "direct": 2})),
    ("hello token with resume (mentor)", "request",
     req("hello", 1, room=ROOM, name="Mira", token=TOKEN_MIRA,
         resume={"epoch": EPOCH, "room": 56, "mentors": 11, "direct": 0})),
    ("ping integer t0", "request", req("ping", t0=1764000401337)),
    ("ping float t0", "request", req("ping", t0=51234.5625)),
    ("status.set with text", "request",
     req("status.set", 2, status="focus", text="bars 12-16, slowly")),
    ("status.set", "request", req("status.set", 3, status="away")),
    ("timer.start", "request", req("timer.start", 4, duration_ms=1500000, label="Focus")),
    ("timer.start without label", "request", req("timer.start", 5, duration_ms=300000)),
    ("timer.pause", "request", req("timer.pause", 6)),
    ("timer.resume", "request", req("timer.resume", 7)),
    ("timer.reset", "request", req("timer.reset", 8)),
    ("timer.adjust add a minute", "request", req("timer.adjust", 9, delta_ms=60000)),
    ("timer.adjust take 30 s", "request", req("timer.adjust", 10, delta_ms=-30000)),
    ("sprint.start with program", "request",
     req("sprint.start", 11, phases=PROGRAM, rounds=4)),
    ("sprint.start with the room's program", "request", req("sprint.start", 12)),
    ("sprint.skip", "request", req("sprint.skip", 13)),
    ("sprint.stop", "request", req("sprint.stop", 14)),
    ("goal.set request", "request", req("goal.set", 15, text=GOALS[JONAS]["text"])),
    ("goal.check with note", "request",
     req("goal.check", 16, result="partial", note="clean at 80, slips at 90")),
    ("goal.check", "request", req("goal.check", 17, result="done")),
    ("hand.raise", "request", req("hand.raise", 18)),
    ("hand.lower", "request", req("hand.lower", 19)),
    ("turn.pass", "request", req("turn.pass", 20)),
    ("turn.next", "request", req("turn.next", 21)),
    ("turn.grant", "request", req("turn.grant", 22, member_id=AIKO)),
    ("turn.reorder", "request", req("turn.reorder", 23, queue=[AIKO, JONAS])),
    ("turns.config round robin with limit", "request",
     req("turns.config", 24, mode="round_robin", turn_ms=120000)),
    ("turns.config queue without limit", "request",
     req("turns.config", 25, mode="queue", turn_ms=None)),
    ("turns.clear", "request", req("turns.clear", 26)),
    ("chat.send", "request", req("chat.send", 27, text="Ready when you are — starting at 80 bpm")),
    ("reaction.send aimed", "request", req("reaction.send", 28, emoji="👏", to=JONAS)),
    ("reaction.send to the room", "request", req("reaction.send", 29, emoji="🔥")),
    ("comment.send public to a member", "request",
     req("comment.send", 30, text="Lovely even tone on the way up, Jonas.", to=JONAS)),
    ("comment.send private", "request",
     req("comment.send", 31,
         text=PRIVATE_TEXT, to=JONAS, private=True)),
    ("comment.send to the room", "request",
     req("comment.send", 32, text="Everyone: breathe before the top note.", private=False)),
    ("note.mentors", "request", req("note.mentors", 33, text=NOTE["text"])),
    ("tempo.set", "request", req("tempo.set", 34, bpm=80, beats_per_bar=4)),
    ("tempo.start", "request", req("tempo.start", 35)),
    ("tempo.stop", "request", req("tempo.stop", 36)),
    ("member.set_role", "request", req("member.set_role", 37, member_id=PRIYA, role="participant")),
    ("member.remove", "request", req("member.remove", 38, member_id=PRIYA)),
    ("room.close", "request", req("room.close", "close-room")),

    # --- events -----------------------------------------------------------
    ("member.joined", "event",
     ev("member.joined", "room", 4, T - 100000, JONAS,
        member=member(JONAS, "Jonas", "participant"))),
    ("member.left after grace", "event",
     ev("member.left", "room", 70, T + 1900000, None, member_id=PRIYA, reason="left")),
    ("member.left removed", "event",
     ev("member.left", "room", 71, T + 1905000, MIRA, member_id=AIKO, reason="removed")),
    ("member.status", "event",
     ev("member.status", "room", 12, T + 185000, AIKO, member_id=AIKO, status="focus",
        connected=True, text="arpeggios")),
    ("member.status disconnected", "event",
     ev("member.status", "room", 30, T + 290000, PRIYA, member_id=PRIYA, status="active",
        connected=False, text="")),
    ("member.role", "event",
     ev("member.role", "room", 59, T + 600000, MIRA, member_id=PRIYA, role="participant")),
    ("timer.changed running", "event",
     ev("timer.changed", "room", 5, T - 90000, MIRA,
        timer=timer("running", "Warm-up", 120000, ends_at=T + 30000))),
    ("timer.changed paused", "event",
     ev("timer.changed", "room", 6, T - 60000, MIRA,
        timer=timer("paused", "Warm-up", 120000, remaining_ms=90000))),
    ("timer.changed idle after reset", "event",
     ev("timer.changed", "room", 7, T - 30000, MIRA, timer=timer("idle", "", 0))),
    ("sprint.changed started", "event",
     ev("sprint.changed", "room", 8, T, MIRA, sprint=sprint("running", 1, 0))),
    ("sprint.phase first phase", "event",
     ev("sprint.phase", "room", 9, T, MIRA, sprint=sprint("running", 1, 0),
        timer=timer("running", "Check-in", 180000, ends_at=T + 180000))),
    ("sprint.phase automatic advance", "event",
     ev("sprint.phase", "room", 11, FOCUS_START, None, sprint=FOCUS_SPRINT, timer=FOCUS_TIMER)),
    ("sprint.changed stopped", "event",
     ev("sprint.changed", "room", 80, T + 7000000, MIRA, sprint=sprint("done", 4, 2))),
    ("goal.set event", "event",
     ev("goal.set", "room", 10, T + 30000, JONAS, member_id=JONAS, text=GOALS[JONAS]["text"])),
    ("timer.changed idle after the sprint", "event",
     ev("timer.changed", "room", 81, T + 7000000, MIRA, timer=timer("idle", "", 0))),
    ("goal.checked", "event",
     ev("goal.checked", "room", 82, T + 7050000, JONAS, member_id=JONAS, result="partial",
        note="clean at 80, slips at 90")),
    ("turns.changed", "event", ev("turns.changed", "room", 32, T + 330000, MIRA, turns=TURNS_NOW)),
    ("turns.changed empty", "event",
     ev("turns.changed", "room", 83, T + 7060000, MIRA, turns=turns("queue", [], None))),
    ("chat.message", "event", CHAT_1),
    ("reaction aimed", "event", REACTION_AIMED),
    ("reaction to the room", "event", REACTION_ROOM),
    ("comment public", "event", COMMENT_PUBLIC),
    ("comment private, target's direct stream", "event", COMMENT_PRIVATE_DIRECT),
    ("comment private, mentors stream", "event", COMMENT_PRIVATE_MENTORS),
    ("comment without sprint, timer or turn", "event",
     ev("comment", "room", 2, T - 200000, MIRA, text="Welcome, everyone.", to=None,
        private=False, anchor=anchor(None, None, None, None))),
    ("mentor.note", "event", NOTE),
    ("tempo.changed started, one bar ahead", "event",
     ev("tempo.changed", "room", 54, T + 397000, MIRA, tempo=TEMPO_80)),
    ("tempo.changed new tempo on the next bar line", "event",
     ev("tempo.changed", "room", 60, T + 650000, MIRA, tempo=TEMPO_96)),
    ("tempo.changed stopping at a bar line", "event",
     ev("tempo.changed", "room", 61, T + 700000, MIRA, tempo=TEMPO_STOPPED)),
    ("room.closed", "event", ev("room.closed", "room", 84, T + 7200000, MIRA, reason="closed")),
    ("room.closed when idle", "event",
     ev("room.closed", "room", 3, T + 1800000, None, reason="idle")),

    # --- replies ----------------------------------------------------------
    ("ack", "reply", {"type": "ack", "ref": 27}),
    ("ack for comment.send, with its anchor", "reply",
     {"type": "ack", "ref": 30, "anchor": ANCHOR_NOW}),
    ("ack with string ref", "reply", {"type": "ack", "ref": "close-room"}),
    ("ack without ref", "reply", {"type": "ack", "ref": None}),
    ("error forbidden", "reply",
     {"type": "error", "ref": 4, "code": "forbidden",
      "message": "timer.start needs role mentor"}),
    ("error bad_request unreadable frame", "reply",
     {"type": "error", "ref": None, "code": "bad_request", "message": "frame is not a map"}),
    ("error conflict", "reply",
     {"type": "error", "ref": 6, "code": "conflict", "message": "timer is not running"}),
    ("error rate_limited", "reply",
     {"type": "error", "ref": 90, "code": "rate_limited", "message": "too many requests"}),
    ("error too_large", "reply",
     {"type": "error", "ref": None, "code": "too_large",
      "message": "frame of 70000 bytes exceeds 65536"}),
    ("error unauthorized before hello", "reply",
     {"type": "error", "ref": 2, "code": "unauthorized", "message": "send hello first"}),
    ("pong", "reply", {"type": "pong", "t0": 1764000401337, "server_time": 1764000401342}),
    ("pong float t0", "reply", {"type": "pong", "t0": 51234.5625, "server_time": 1764000401342}),
    ("welcome participant, fresh", "reply",
     {"type": "welcome", "member_id": JONAS, "role": "participant", "token": TOKEN_JONAS,
      "server_time": T + 430000, "epoch": EPOCH, "resumed": False,
      "seqs": {"room": 58, "direct": 3},
      "snapshot": SNAPSHOT_JONAS}),
    ("welcome mentor, fresh", "reply",
     {"type": "welcome", "member_id": MIRA, "role": "mentor", "token": TOKEN_MIRA,
      "server_time": T + 430000, "epoch": EPOCH, "resumed": False,
      "seqs": {"room": 58, "mentors": 13, "direct": 0},
      "snapshot": dict(SNAPSHOT_COMMON, recent=[CHAT_1, COMMENT_PUBLIC, COMMENT_PRIVATE_MENTORS,
                                                REACTION_AIMED, REACTION_ROOM, NOTE])}),
    ("welcome resumed", "reply",
     {"type": "welcome", "member_id": JONAS, "role": "participant", "token": TOKEN_JONAS,
      "server_time": T + 430000, "epoch": EPOCH, "resumed": True,
      "seqs": {"room": 58, "direct": 3}, "snapshot": SNAPSHOT_JONAS}),
]

# Requests that must be refused with `bad_request` (schema violations).
INVALID_REQUESTS = [
    ("hello without credential", req("hello", 1, room=ROOM, name="Jonas")),
    ("hello with two credentials", req("hello", 1, room=ROOM, name="Jonas", invite=INVITE,
                                       token=TOKEN_JONAS)),
    ("hello person_key with two credentials (v2)",
     req("hello", 1, room=ROOM, name="Jonas", invite=INVITE, host_key=HOST_KEY,
         person_key="pk_Jn4s9QwLz2Xc7VbA")),
    ("hello empty person_key (v2)", req("hello", 1, room=ROOM, name="Jonas", person_key="")),
    ("hello role with host_key", req("hello", 1, room=ROOM, name="Mira", host_key=HOST_KEY,
                                     role="observer")),
    ("hello role mentor", req("hello", 1, room=ROOM, name="Mira", invite=INVITE, role="mentor")),
    ("hello name too long", req("hello", 1, room=ROOM, name="J" * 41, invite=INVITE)),
    ("hello blank name", req("hello", 1, room=ROOM, name="   ", invite=INVITE)),
    ("hello name with a control character",
     req("hello", 1, room=ROOM, name="Jo\x07nas", invite=INVITE)),
    ("hello name with a newline", req("hello", 1, room=ROOM, name="Jonas\n", invite=INVITE)),
    ("hello name with a bidi override",
     req("hello", 1, room=ROOM, name="Jonas\u202egnp.exe", invite=INVITE)),
    ("hello name with a bidi isolate",
     req("hello", 1, room=ROOM, name="\u2067Jonas\u2069", invite=INVITE)),
    ("hello name of invisible characters only",
     req("hello", 1, room=ROOM, name="\u200b\u2060\ufeff", invite=INVITE)),
    ("ping without t0", req("ping")),
    ("ping t0 a string", req("ping", t0="now")),
    ("ping t0 beyond a JavaScript number's exact range", req("ping", t0=2**53)),
    ("ref too long", req("timer.pause", "r" * 65)),
    ("ref a float", req("timer.pause", 1.5)),
    ("ref a map", req("timer.pause", {"id": 1})),
    ("status.set wrong enum", req("status.set", 1, status="busy")),
    ("status.set text too long", req("status.set", 1, status="focus", text="x" * 141)),
    ("timer.start missing duration", req("timer.start", 1, label="Focus")),
    ("timer.start zero duration", req("timer.start", 1, duration_ms=0)),
    ("timer.start over a day", req("timer.start", 1, duration_ms=86400001)),
    ("timer.start duration a string", req("timer.start", 1, duration_ms="1500000")),
    ("timer.start label too long", req("timer.start", 1, duration_ms=1000, label="L" * 61)),
    ("timer.pause extra field", req("timer.pause", 1, force=True)),
    ("timer.adjust zero", req("timer.adjust", 1, delta_ms=0)),
    ("sprint.start phase kind unknown",
     req("sprint.start", 1, phases=[{"name": "Play", "kind": "play", "duration_ms": 1000}],
         rounds=1)),
    ("sprint.start no phases", req("sprint.start", 1, phases=[], rounds=1)),
    ("sprint.start too many rounds", req("sprint.start", 1, phases=PROGRAM, rounds=21)),
    ("sprint.start phase extra field",
     req("sprint.start", 1,
         phases=[{"name": "Focus", "kind": "focus", "duration_ms": 1000, "color": "red"}])),
    ("goal.set empty", req("goal.set", 1, text="")),
    ("goal.set too long", req("goal.set", 1, text="g" * 281)),
    ("goal.check wrong result", req("goal.check", 1, result="finished")),
    ("turn.grant missing member", req("turn.grant", 1)),
    ("turn.reorder duplicates", req("turn.reorder", 1, queue=[AIKO, AIKO])),
    ("turns.config turn_ms too short", req("turns.config", 1, mode="queue", turn_ms=999)),
    ("turns.config wrong mode", req("turns.config", 1, mode="random")),
    ("chat.send too long", req("chat.send", 1, text="c" * 2001)),
    ("chat.send with to", req("chat.send", 1, text="hi", to=JONAS)),
    ("reaction.send emoji too long", req("reaction.send", 1, emoji="x" * 17)),
    ("comment.send private without to", req("comment.send", 1, text="psst", private=True)),
    ("comment.send private not a bool", req("comment.send", 1, text="psst", to=JONAS,
                                            private="yes")),
    ("note.mentors missing text", req("note.mentors", 1)),
    ("tempo.set bpm too fast", req("tempo.set", 1, bpm=301, beats_per_bar=4)),
    ("tempo.set fractional bpm", req("tempo.set", 1, bpm=92.5, beats_per_bar=4)),
    ("member.set_role wrong role", req("member.set_role", 1, member_id=PRIYA, role="host")),
    ("member.remove extra field", req("member.remove", 1, member_id=PRIYA, reason="spam")),
    ("room.close extra field", req("room.close", 1, now=True)),
]
