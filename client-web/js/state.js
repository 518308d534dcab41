// Pure room state: built from a `welcome`, advanced by events.
//
// applyEvent never mutates its input; it returns {state, result} where
// result is one of
//   "applied"   — the event was the next one in its stream,
//   "duplicate" — already seen (seq <= last seen); state unchanged,
//   "gap"       — events are missing before it; state unchanged, and the
//                 caller must resync (reconnect with resume).

export const FEED_LIMIT = 300;
export const FEED_TYPES = new Set(["chat.message", "reaction", "comment", "mentor.note"]);
export const STREAMS = ["room", "mentors", "direct"];

function emptyTimer() {
  return { state: "idle", label: "", duration_ms: 0, ends_at: null, remaining_ms: null };
}
function emptySprint() {
  return { state: "idle", phases: [], rounds: 0, round: 0, phase_index: 0 };
}
function emptyTurns() {
  return { mode: "queue", queue: [], current: null, turn_ms: null, ends_at: null };
}
function emptyTempo() {
  return { bpm: 60, beats_per_bar: 4, running: false, started_at: null };
}

/** A fresh state from a `welcome` frame (ignores `resumed`: the caller decides). */
export function fromWelcome(welcome) {
  const snap = welcome.snapshot || {};
  const members = {};
  const names = {};
  for (const m of snap.members || []) {
    members[m.id] = { ...m };
    names[m.id] = m.name;
  }
  const seqs = {};
  for (const [stream, seq] of Object.entries(welcome.seqs || {})) seqs[stream] = seq;
  let state = {
    me: { member_id: welcome.member_id, role: welcome.role },
    epoch: welcome.epoch ?? null,
    room: { ...(snap.room || {}) },
    closed: (snap.room && snap.room.state === "closed") || false,
    members,
    names,
    timer: snap.timer ? { ...snap.timer } : emptyTimer(),
    sprint: snap.sprint ? { ...snap.sprint } : emptySprint(),
    turns: snap.turns ? { ...snap.turns, queue: [...(snap.turns.queue || [])] } : emptyTurns(),
    tempo: snap.tempo ? { ...snap.tempo } : emptyTempo(),
    goals: { ...(snap.goals || {}) },
    feed: [],
    activity: {},
    feedback: {},
    seqs,
    removed: false,
  };
  // `recent` holds events already counted in `seqs`: fold them in without seq checks.
  for (const ev of snap.recent || []) state = reduce(state, ev);
  // Mentors get the full counts (recent holds only the latest events).
  if (snap.feedback) state = { ...state, feedback: { ...snap.feedback } };
  return state;
}

/** Apply one event with seq tracking. */
export function applyEvent(state, ev) {
  const stream = ev.stream;
  if (typeof stream === "string" && typeof ev.seq === "number") {
    const last = state.seqs[stream];
    if (last !== undefined) {
      if (ev.seq <= last) return { state, result: "duplicate" };
      if (ev.seq > last + 1) return { state, result: "gap" };
    }
    // A stream we had no position for (e.g. just became a mentor) starts here.
    const next = reduce(state, ev);
    return { state: { ...next, seqs: { ...next.seqs, [stream]: ev.seq } }, result: "applied" };
  }
  return { state: reduce(state, ev), result: "applied" };
}

/** Apply many events in order; stops at the first gap. */
export function applyEvents(state, events) {
  let s = state;
  const results = [];
  for (const ev of events) {
    const r = applyEvent(s, ev);
    results.push(r.result);
    s = r.state;
    if (r.result === "gap") break;
  }
  return { state: s, results };
}

function touch(state, ev) {
  if (ev.actor == null || typeof ev.at !== "number") return state.activity;
  const prev = state.activity[ev.actor];
  if (prev !== undefined && prev >= ev.at) return state.activity;
  return { ...state.activity, [ev.actor]: ev.at };
}

function pushFeed(feed, ev) {
  const out = feed.length >= FEED_LIMIT ? feed.slice(feed.length - FEED_LIMIT + 1) : feed.slice();
  out.push(ev);
  return out;
}

function countFeedback(feedback, to) {
  if (to == null) return feedback;
  return { ...feedback, [to]: (feedback[to] || 0) + 1 };
}

/** The state change an event makes, without seq bookkeeping. */
export function reduce(state, ev) {
  let s = { ...state, activity: touch(state, ev) };
  switch (ev.type) {
    case "member.joined": {
      const m = ev.member;
      if (!m) return s;
      s.members = { ...s.members, [m.id]: { ...(s.members[m.id] || {}), ...m } };
      s.names = { ...s.names, [m.id]: m.name };
      return s;
    }
    case "member.left": {
      const members = { ...s.members };
      delete members[ev.member_id];
      s.members = members;
      if (ev.member_id === s.me.member_id && ev.reason === "removed") s.removed = true;
      return s;
    }
    case "member.status": {
      const m = s.members[ev.member_id];
      if (!m) return s;
      const next = { ...m, status: ev.status, connected: ev.connected };
      if ("text" in ev) next.text = ev.text;
      s.members = { ...s.members, [ev.member_id]: next };
      return s;
    }
    case "member.role": {
      const m = s.members[ev.member_id];
      if (m) s.members = { ...s.members, [ev.member_id]: { ...m, role: ev.role } };
      if (ev.member_id === s.me.member_id) s.me = { ...s.me, role: ev.role };
      return s;
    }
    case "timer.changed":
      s.timer = { ...ev.timer };
      return s;
    case "sprint.changed":
      s.sprint = { ...ev.sprint };
      return s;
    case "sprint.phase":
      s.sprint = { ...ev.sprint };
      if (ev.timer) s.timer = { ...ev.timer };
      return s;
    case "goal.set":
      s.goals = {
        ...s.goals,
        [ev.member_id]: { text: ev.text, result: null, note: null, set_at: ev.at },
      };
      return s;
    case "goal.checked": {
      const g = s.goals[ev.member_id] || { text: "" };
      s.goals = {
        ...s.goals,
        [ev.member_id]: { ...g, result: ev.result, note: ev.note ?? null, checked_at: ev.at },
      };
      return s;
    }
    case "turns.changed":
      s.turns = { ...ev.turns, queue: [...(ev.turns.queue || [])] };
      return s;
    case "chat.message":
    case "mentor.note":
      s.feed = pushFeed(s.feed, ev);
      return s;
    case "reaction":
    case "comment":
      s.feed = pushFeed(s.feed, ev);
      s.feedback = countFeedback(s.feedback, ev.to);
      return s;
    case "tempo.changed":
      s.tempo = { ...ev.tempo };
      return s;
    case "room.closed":
      s.closed = true;
      s.room = { ...s.room, state: "closed" };
      return s;
    default:
      // Unknown events are allowed by the contract ("messages may be added").
      return s;
  }
}

// ---- selectors -------------------------------------------------------------

/** The current sprint phase object, or null. */
export function currentPhase(state) {
  const sp = state.sprint;
  if (!sp || sp.state !== "running") return null;
  return (sp.phases || [])[sp.phase_index] || null;
}

/** Display name for a member id (also for members who left). */
export function nameOf(state, id) {
  if (id == null) return "server";
  return state.names[id] || state.members[id]?.name || "someone";
}

/** Members sorted: mentors, participants, observers; then by name. */
export function sortedMembers(state) {
  const order = { mentor: 0, participant: 1, observer: 2 };
  return Object.values(state.members).sort(
    (a, b) => (order[a.role] ?? 3) - (order[b.role] ?? 3) || a.name.localeCompare(b.name),
  );
}

export function participants(state) {
  return sortedMembers(state).filter((m) => m.role === "participant");
}

/** Whether a feed item is aimed at `me`. */
export function aimedAt(ev, me) {
  return ev.to != null && ev.to === me;
}
