import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fromWelcome, applyEvent, applyEvents, reduce, currentPhase, nameOf, sortedMembers, participants, aimedAt, FEED_LIMIT,
} from "../js/state.js";

function welcome(overrides = {}) {
  return {
    type: "welcome",
    member_id: "m2",
    role: "participant",
    token: "tok",
    server_time: 1000,
    epoch: "e1",
    resumed: false,
    seqs: { room: 5, direct: 1 },
    snapshot: {
      room: { id: "r1", title: "Morning scales", visibility: "public", state: "open" },
      members: [
        { id: "m1", name: "Mia", role: "mentor", status: "active", connected: true, text: "" },
        { id: "m2", name: "Ann", role: "participant", status: "active", connected: true, text: "" },
        { id: "m3", name: "Bo", role: "participant", status: "focus", connected: false, text: "" },
      ],
      timer: { state: "running", label: "Focus", duration_ms: 60000, ends_at: 61000, remaining_ms: null },
      sprint: { state: "running", phases: [{ name: "Check-in", kind: "checkin", duration_ms: 60000 }], rounds: 1, round: 1, phase_index: 0 },
      turns: { mode: "queue", queue: ["m3"], current: "m2", turn_ms: null, ends_at: null },
      tempo: { bpm: 90, beats_per_bar: 3, running: false, started_at: null },
      goals: { m3: { text: "scales", result: null, note: null } },
      recent: [
        { type: "chat.message", stream: "room", seq: 4, at: 900, actor: "m1", text: "hi" },
        { type: "comment", stream: "direct", seq: 1, at: 950, actor: "m1", text: "watch your wrist", to: "m2", private: true, anchor: {} },
      ],
    },
    ...overrides,
  };
}

const ev = (seq, type, fields = {}, stream = "room") => ({ type, stream, seq, at: 2000 + seq, actor: "m1", ...fields });

test("welcome builds the state: members, timer, sprint, turns, tempo, goals, feed, seqs", () => {
  const s = fromWelcome(welcome());
  assert.deepEqual(s.me, { member_id: "m2", role: "participant" });
  assert.equal(s.epoch, "e1");
  assert.equal(Object.keys(s.members).length, 3);
  assert.equal(s.timer.ends_at, 61000);
  assert.equal(currentPhase(s).kind, "checkin");
  assert.equal(s.turns.current, "m2");
  assert.equal(s.tempo.bpm, 90);
  assert.equal(s.goals.m3.text, "scales");
  assert.deepEqual(s.feed.map((e) => e.type), ["chat.message", "comment"]);
  assert.deepEqual(s.seqs, { room: 5, direct: 1 });
  assert.equal(s.feedback.m2, 1);
  assert.equal(s.closed, false);
});

test("a mentor's welcome carries the full feedback counts, not just what recent shows", () => {
  const w = welcome({ role: "mentor", member_id: "m1" });
  w.snapshot.feedback = { m2: 7, m3: 2 };
  const s = fromWelcome(w);
  assert.deepEqual(s.feedback, { m2: 7, m3: 2 });  // recent's comment is among the 7
  const { state } = applyEvent(s, ev(6, "reaction", { emoji: "👏", to: "m3" }));
  assert.equal(state.feedback.m3, 3);
});

test("a missing snapshot part falls back to an idle default", () => {
  const s = fromWelcome({ member_id: "x", role: "observer", seqs: {}, snapshot: {} });
  assert.equal(s.timer.state, "idle");
  assert.equal(s.sprint.state, "idle");
  assert.deepEqual(s.turns.queue, []);
  assert.equal(s.tempo.running, false);
  assert.equal(currentPhase(s), null);
});

test("seq tracking: next applies, old is a duplicate, a jump is a gap", () => {
  const s0 = fromWelcome(welcome());
  const r1 = applyEvent(s0, ev(6, "chat.message", { text: "one" }));
  assert.equal(r1.result, "applied");
  assert.equal(r1.state.seqs.room, 6);
  const r2 = applyEvent(r1.state, ev(6, "chat.message", { text: "one" }));
  assert.equal(r2.result, "duplicate");
  assert.equal(r2.state, r1.state);
  const r3 = applyEvent(r1.state, ev(3, "chat.message", { text: "old" }));
  assert.equal(r3.result, "duplicate");
  const r4 = applyEvent(r1.state, ev(8, "chat.message", { text: "three" }));
  assert.equal(r4.result, "gap");
  assert.equal(r4.state, r1.state);
  // streams are independent
  const r5 = applyEvent(r1.state, ev(2, "comment", { text: "p", to: "m2", private: true }, "direct"));
  assert.equal(r5.result, "applied");
  assert.deepEqual(r5.state.seqs, { room: 6, direct: 2 });
});

test("applying never mutates the previous state", () => {
  const s0 = fromWelcome(welcome());
  const frozen = JSON.stringify(s0);
  applyEvent(s0, ev(6, "member.status", { member_id: "m3", status: "away", connected: true }));
  applyEvent(s0, ev(6, "turns.changed", { turns: { mode: "queue", queue: [], current: null, turn_ms: null, ends_at: null } }));
  applyEvent(s0, ev(6, "goal.set", { member_id: "m2", text: "x" }));
  assert.equal(JSON.stringify(s0), frozen);
});

test("a stream first seen mid-session starts at its first event", () => {
  const s0 = fromWelcome(welcome());
  const r = applyEvent(s0, ev(17, "mentor.note", { text: "n" }, "mentors"));
  assert.equal(r.result, "applied");
  assert.equal(r.state.seqs.mentors, 17);
});

test("applyEvents stops at a gap", () => {
  const s0 = fromWelcome(welcome());
  const { state, results } = applyEvents(s0, [ev(6, "chat.message"), ev(6, "chat.message"), ev(9, "chat.message"), ev(7, "chat.message")]);
  assert.deepEqual(results, ["applied", "duplicate", "gap"]);
  assert.equal(state.seqs.room, 6);
});

test("members: join, status, role, leave (name kept for the feed)", () => {
  let s = fromWelcome(welcome());
  s = reduce(s, ev(6, "member.joined", { member: { id: "m4", name: "Cy", role: "observer", status: "active", connected: true } }));
  assert.equal(s.members.m4.name, "Cy");
  s = reduce(s, ev(7, "member.status", { member_id: "m4", status: "away", connected: false, text: "brb" }));
  assert.equal(s.members.m4.status, "away");
  assert.equal(s.members.m4.connected, false);
  assert.equal(s.members.m4.text, "brb");
  s = reduce(s, ev(8, "member.role", { member_id: "m4", role: "participant" }));
  assert.equal(s.members.m4.role, "participant");
  s = reduce(s, ev(9, "member.left", { member_id: "m4", reason: "left" }));
  assert.equal(s.members.m4, undefined);
  assert.equal(nameOf(s, "m4"), "Cy");
  assert.equal(nameOf(s, null), "server");
  assert.equal(s.removed, false);
  // status of an unknown member is ignored
  assert.equal(reduce(s, ev(10, "member.status", { member_id: "zz", status: "away" })).members.zz, undefined);
});

test("my own role change and removal", () => {
  let s = fromWelcome(welcome());
  s = reduce(s, ev(6, "member.role", { member_id: "m2", role: "mentor" }));
  assert.equal(s.me.role, "mentor");
  s = reduce(s, ev(7, "member.left", { member_id: "m2", reason: "removed" }));
  assert.equal(s.removed, true);
});

test("timer, sprint phase (with its timer), turns, tempo, room closed", () => {
  let s = fromWelcome(welcome());
  const timer = { state: "paused", label: "Focus", duration_ms: 60000, ends_at: null, remaining_ms: 4000 };
  s = reduce(s, ev(6, "timer.changed", { timer }));
  assert.deepEqual(s.timer, timer);
  const sprint = { state: "running", phases: [{ name: "Check-in", kind: "checkin", duration_ms: 1 }, { name: "Focus", kind: "focus", duration_ms: 2 }], rounds: 2, round: 1, phase_index: 1 };
  const t2 = { state: "running", label: "Focus", duration_ms: 2, ends_at: 9, remaining_ms: null };
  s = reduce(s, ev(7, "sprint.phase", { sprint, timer: t2 }));
  assert.equal(currentPhase(s).name, "Focus");
  assert.equal(s.timer.ends_at, 9);
  s = reduce(s, ev(8, "sprint.changed", { sprint: { ...sprint, state: "done" } }));
  assert.equal(currentPhase(s), null);
  s = reduce(s, ev(9, "turns.changed", { turns: { mode: "round_robin", queue: ["m2"], current: "m3", turn_ms: 30000, ends_at: 40000 } }));
  assert.equal(s.turns.current, "m3");
  s = reduce(s, ev(10, "tempo.changed", { tempo: { bpm: 120, beats_per_bar: 4, running: true, started_at: 5 } }));
  assert.equal(s.tempo.running, true);
  s = reduce(s, ev(11, "room.closed"));
  assert.equal(s.closed, true);
  assert.equal(s.room.state, "closed");
});

test("goals: set then checked", () => {
  let s = fromWelcome(welcome());
  s = reduce(s, { ...ev(6, "goal.set", { member_id: "m2", text: "two octaves" }), actor: "m2" });
  assert.equal(s.goals.m2.text, "two octaves");
  assert.equal(s.goals.m2.result, null);
  s = reduce(s, { ...ev(7, "goal.checked", { member_id: "m2", result: "partial", note: "one and a half" }), actor: "m2" });
  assert.deepEqual([s.goals.m2.text, s.goals.m2.result, s.goals.m2.note], ["two octaves", "partial", "one and a half"]);
  assert.equal(s.activity.m2, 2007);
});

test("feed: chat, reactions, comments, notes; feedback counted per target; bounded", () => {
  let s = fromWelcome(welcome());
  s = reduce(s, ev(6, "reaction", { emoji: "👏", to: "m3" }));
  s = reduce(s, ev(7, "comment", { text: "nice", to: "m3", private: false, anchor: {} }));
  s = reduce(s, ev(8, "reaction", { emoji: "🔥", to: null }));
  s = reduce(s, ev(1, "mentor.note", { text: "n" }, "mentors"));
  assert.equal(s.feedback.m3, 2);
  assert.equal(s.feed.length, 6);
  assert.ok(aimedAt(s.feed[1], "m2"));
  assert.ok(!aimedAt(s.feed[4], "m2"));
  for (let i = 0; i < FEED_LIMIT + 20; i++) s = reduce(s, ev(100 + i, "chat.message", { text: String(i) }));
  assert.equal(s.feed.length, FEED_LIMIT);
  assert.equal(s.feed.at(-1).text, String(FEED_LIMIT + 19));
});

test("unknown events are tolerated", () => {
  const s0 = fromWelcome(welcome());
  const r = applyEvent(s0, ev(6, "something.new", { x: 1 }));
  assert.equal(r.result, "applied");
  assert.equal(r.state.seqs.room, 6);
});

test("member ordering", () => {
  const s = fromWelcome(welcome());
  assert.deepEqual(sortedMembers(s).map((m) => m.name), ["Mia", "Ann", "Bo"]);
  assert.deepEqual(participants(s).map((m) => m.id), ["m2", "m3"]);
});
