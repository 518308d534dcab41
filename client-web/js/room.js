// The room page: join form, then the live room for participants, observers
// and mentors (mentors also get controls, the dashboard and notes).
//
// Data flow: Connection -> welcome/events -> pure state (state.js) ->
// render(). The clock, turn countdown and beat are drawn every animation
// frame from state + the estimated server offset, never from ticks.

import { ensurePerson, loadPerson } from "./person.js";
import * as msgpack from "./msgpack.js";
import { makeCodec } from "./codec.js";
import { Connection, CLOSE, STATUS } from "./connection.js";
import { fromWelcome, applyEvent, currentPhase, nameOf, sortedMembers, participants, aimedAt } from "./state.js";
import { formatMmss, spokenDuration } from "./timer.js";
import { turnRemainingMs, queuePosition, moveInQueue } from "./turns.js";
import { ClockPanel } from "./clock-panel.js";
import { TempoPanel } from "./tempo-panel.js";
import { $, el, fill, setText, replaceKeepingFocus, clockTime, ago, copyText, announcer } from "./dom.js";
import { getRoom } from "./api.js";
import { PRESETS, presetById, KIND_LABELS } from "./presets.js";
import { programEditor } from "./program-editor.js";
import { addressOf, pageSecrets, secretLink } from "./links.js";
import {
  loadSession, saveSession, updateSession, clearSession, saveHostKey, loadHostKey, loadInvite, rememberName,
  rememberedName,
} from "./storage.js";

const REACTIONS = ["👏", "👍", "🔥", "❤️", "🎉", "🙌", "🎵", "🤔"];
const RESULT_LABELS = { done: "done", partial: "partly done", missed: "missed" };

const codec = makeCodec(msgpack);
const roomId = decodeURIComponent(location.pathname.split("/")[2] || "");
// Secrets come in the fragment (#invite=…, #host_key=…); see links.js.
const params = pageSecrets();
let invite = params.get("invite");
// The host key arrives in the mentor link; once saved for this tab it leaves
// the address bar (mentors share their screens). An invite link wins over a
// host key remembered from earlier in the same tab.
const hostKey = params.get("host_key") || (invite ? null : loadHostKey(roomId));
if (params.get("host_key")) saveHostKey(roomId, hostKey);

const announce = announcer($("#announcer"));
let conn = null;
let state = null;
let renderQueued = false;
let pendingRemove = null;
let pendingClose = false;
const dashCards = new Map();

// ---- small helpers -----------------------------------------------------------

let toastTimer = null;
function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ""; }, 5000);
}

function notice(text, bad = false) {
  const n = $("#notice");
  n.textContent = text;
  n.classList.toggle("bad", bad);
  n.hidden = !text;
}

const me = () => state?.me.member_id;
const myRole = () => state?.me.role;
const isMentor = () => myRole() === "mentor";

/** Send a request; on failure tell the person why. Disables `button` meanwhile. */
async function act(type, payload = {}, button = null) {
  if (!conn) return null;
  if (button) button.disabled = true;
  try {
    return await conn.request(type, payload);
  } catch (err) {
    toast(`${type}: ${err.message}`);
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

// ---- join ---------------------------------------------------------------------

async function loadRoomTitle() {
  try {
    const info = await getRoom(roomId);
    setText($("#room-title"), info.title);
    setText($("#join-title"), info.title);
    document.title = `${info.title} — Ensemble`;
    if (info.state === "closed") notice("This room is closed.", true);
  } catch (err) {
    if (err.status === 404) notice("There is no such room. Check the link.", true);
  }
}

function showJoin(error = "") {
  $("#room").hidden = true;
  $("#join").hidden = false;
  const name = $("#join-name");
  if (!name.value) name.value = rememberedName();
  $("#join-role-field").hidden = !!(hostKey || groupRoom);
  $("#join-mentor-note").hidden = !hostKey;
  $("#join-invite-field").hidden = !!(hostKey || invite || groupRoom);
  $("#join-error").textContent = error;
  name.focus();
}

// v2: a room of a group (#group=… from the group page) is joined with the
// person key alone; in any room the member is this browser's person.
const groupRoom = params.has("group");
function withPerson(credential) {
  const person = loadPerson();
  return person ? { ...credential, person_key: person.person_key } : credential;
}

function setupJoin() {
  $("#join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#join-name").value.trim();
    if (!name) {
      $("#join-error").textContent = "Type your name.";
      $("#join-name").focus();
      return;
    }
    if (!hostKey && !invite && !groupRoom) {
      invite = $("#join-invite").value.trim();
      if (!invite) {
        $("#join-error").textContent = "Type the invite code.";
        $("#join-invite").focus();
        return;
      }
    }
    rememberName(name);
    const role = hostKey ? undefined : new FormData(e.target).get("role") || "participant";
    clearSession(roomId);
    saveSession(roomId, { name, role });
    await ensurePerson(name).catch(() => null); // a guest when the log cannot be made
    connect(name, withPerson(hostKey ? { host_key: hostKey } : invite ? { invite, role } : {}), null);
  });
}

// ---- connection ---------------------------------------------------------------

// The clock and tempo panels (their own modules): what they need of the page.
const page = { act: (...a) => act(...a), toast: (t) => toast(t), state: () => state, clock: () => conn?.clock ?? null };
const clockPanel = new ClockPanel(page);
const tempoPanel = new TempoPanel(page);

/** For debugging from the console and the browser tests (PRODUCT.md §6). */
window.ensemble = {
  get conn() { return conn; },
  get state() { return state; },
  get audio() { return tempoPanel.audio; },
  get schedule() { return tempoPanel.schedule; },
  /** {offset_ms, error_ms}: server minus this page's clock, and the bound on its error. */
  sync() {
    if (!conn) return { offset_ms: 0, error_ms: Infinity };
    const now = conn.now();
    return { offset_ms: conn.clock.offsetAt(now), error_ms: conn.clock.errorAt(now) };
  },
  /** The beats this page has scheduled, newest last: [{k, server_at, perf_at}]. */
  beats() { return tempoPanel.beats(); },
};

function connect(name, credential, token) {
  if (conn) conn.stop();
  $("#join-submit").disabled = true;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  conn = new Connection({
    url, room: roomId, name, credential, token, codec,
    handlers: { onStatus, onWelcome, onEvent, onSync, onToken, onFatal, onError },
  });
  conn.start();
}

let reconnectAt = null; // when the next attempt is due, while reconnecting

function onStatus(status, info) {
  const box = $("#conn");
  box.dataset.status = status;
  if (info.code != null) box.dataset.closeCode = String(info.code); // the last close, for support
  if (status === STATUS.OPEN) box.dataset.resumed = String(!!info.resumed);
  reconnectAt = status === STATUS.RECONNECTING ? info.retryAt || null : null;
  let text = "Not connected";
  if (status === STATUS.CONNECTING) text = "Connecting…";
  else if (status === STATUS.OPEN) text = "Connected";
  else if (status === STATUS.RECONNECTING) text = reconnectLabel();
  else if (status === STATUS.CLOSED) text = "Disconnected";
  setText($("#conn-label"), text);
}

function reconnectLabel() {
  const secs = reconnectAt ? Math.max(0, Math.ceil((reconnectAt - conn.now()) / 1000)) : 0;
  return secs > 0 ? `Reconnecting in ${secs} s…` : "Reconnecting…";
}

function onSync(clock) {
  clockPanel.showSync(clock, conn.now());
}

function onToken(token) {
  if (token === null) updateSession(roomId, { token: null });
}

function persist() {
  if (!state) return;
  updateSession(roomId, {
    token: conn.token, member_id: state.me.member_id, role: state.me.role, epoch: state.epoch, seqs: state.seqs,
    name: conn.name,
  });
}

function onWelcome(w) {
  const prev = state;
  if (w.resumed && state && state.epoch === w.epoch) {
    // Keep our state: the missed events follow and are merged by seq.
    state = { ...state, me: { member_id: w.member_id, role: w.role } };
  } else {
    state = fromWelcome(w);
  }
  conn.setPosition(state.epoch, state.seqs);
  persist();
  if (params.has("host_key")) {
    params.delete("host_key");
    history.replaceState(null, "", addressOf(location.pathname, new URLSearchParams(location.search), params));
  }
  $("#join").hidden = true;
  $("#room").hidden = false;
  $("#join-submit").disabled = false;
  if (!state.closed) notice("");
  if (state.room.title) {
    setText($("#room-title"), state.room.title);
  }
  if (!prev) announceNow();
  syncControls(null, state);
  render();
}

function onEvent(ev) {
  if (!state) return;
  const { state: next, result } = applyEvent(state, ev);
  if (result === "gap") {
    conn.resync();
    return;
  }
  if (result === "duplicate") return;
  const prev = state;
  state = next;
  conn.setPosition(state.epoch, state.seqs);
  persist();
  announceChanges(prev, state);
  syncControls(prev, state);
  if (ev.type === "tempo.changed") tempoPanel.tempoChanged();
  if (ev.type === "member.role" && ev.member_id === me() && prev.me.role !== state.me.role) {
    // The server closes this socket with 4001 next; the reconnect resumes, or
    // brings a fresh snapshot when the new role reads other streams.
    toast(`You are now ${state.me.role === "observer" ? "an observer" : `a ${state.me.role}`}.`);
  }
  if (ev.type === "room.closed") {
    notice(ev.reason === "idle" ? "This room closed: nobody was in it for a while."
      : "This room has been closed by a mentor.", true);
  }
  scheduleRender();
}

function onFatal({ code, error }) {
  $("#join-submit").disabled = false;
  if (code === CLOSE.REMOVED) {
    clearSession(roomId);
    notice("A mentor removed you from the room.", true);
  } else if (code === CLOSE.ROOM_CLOSED) {
    clearSession(roomId);
    notice("This room is closed.", true);
  } else if (code === CLOSE.ROOM_GONE) {
    clearSession(roomId);
    notice("This room no longer exists.", true);
  } else if (code === CLOSE.POLICY) {
    clearSession(roomId);
    state = null;
    showJoin(`Could not join: ${error?.message || "the server refused"}`);
  } else {
    notice(`Disconnected (${code}). Reload the page to try again.`, true);
  }
}

function onError(frame) {
  toast(`Server: ${frame.message || frame.code}`);
}

// ---- announcements (aria-live) ---------------------------------------------------

function phaseSentence(s) {
  const sp = s.sprint;
  if (sp.state === "done") return "Sprint finished.";
  const ph = currentPhase(s);
  if (!ph) return "No sprint running.";
  return `Round ${sp.round} of ${sp.rounds}: ${ph.name}, ${spokenDuration(ph.duration_ms)}.`;
}

function turnSentence(s) {
  const cur = s.turns.current;
  if (cur == null) return "Nobody has the turn.";
  if (cur === s.me.member_id) return "It's your turn.";
  return `${nameOf(s, cur)} has the turn.`;
}

function announceNow() {
  const parts = [];
  if (state.sprint.state === "running") parts.push(phaseSentence(state));
  if (state.turns.current != null) parts.push(turnSentence(state));
  if (parts.length) announce(parts.join(" "));
}

function announceChanges(a, b) {
  const parts = [];
  if (a.sprint.state !== b.sprint.state || a.sprint.round !== b.sprint.round || a.sprint.phase_index !== b.sprint.phase_index) {
    parts.push(b.sprint.state === "idle" && a.sprint.state === "running" ? "Sprint stopped." : phaseSentence(b));
  }
  if (a.turns.current !== b.turns.current) parts.push(turnSentence(b));
  if (parts.length) announce(parts.join(" "));
}

// ---- rendering -------------------------------------------------------------------

function render() {
  if (!state) return;
  const mentor = isMentor();
  const role = myRole();
  $("#mentor-controls").hidden = !mentor;
  $("#notes-panel").hidden = !mentor;
  $("#dashboard").hidden = !mentor;
  $("#goal-panel").hidden = role !== "participant";
  $("#comment-form").hidden = !(role === "participant" || mentor);
  clockPanel.render(state);
  tempoPanel.render(state, mentor);
  renderPeople();
  renderTurns();
  renderGoal();
  renderMemberSelects();
  renderFeed();
  if (mentor) {
    renderNotes();
    renderDashboard();
    renderMentorBits();
  }
}

function statusBadges(m) {
  const out = [el("span", { class: `badge ${m.role}` }, m.role), el("span", { class: "badge" }, m.status)];
  if (!m.connected) out.push(el("span", { class: "badge off" }, "disconnected"));
  const pos = queuePosition(state.turns, m.id);
  if (pos === 0) out.push(el("span", { class: "badge turn" }, "has the turn"));
  else if (pos > 0) out.push(el("span", { class: "badge turn" }, `hand up #${pos}`));
  return out;
}

function goalLine(id) {
  const g = state.goals[id];
  if (!g || !g.text) return null;
  const result = g.result ? ` — ${RESULT_LABELS[g.result] || g.result}${g.note ? `: ${g.note}` : ""}` : "";
  return `Goal: ${g.text}${result}`;
}

function renderPeople() {
  const mentor = isMentor();
  const items = sortedMembers(state).map((m) => {
    const li = el("li", { dataset: { memberId: m.id } },
      el("span", { class: "name" }, m.name, m.id === me() ? " (you)" : ""),
      statusBadges(m),
      m.text ? el("span", { class: "muted" }, `“${m.text}”`) : null,
    );
    const goal = goalLine(m.id);
    if (goal) li.append(el("span", { class: "goal-text" }, goal));
    if (mentor && m.id !== me()) li.append(memberAdmin(m));
    return li;
  });
  replaceKeepingFocus($("#people"), items);
  const mine = state.members[me()];
  const sel = $("#my-status");
  if (mine && document.activeElement !== sel) sel.value = mine.status;
}

function memberAdmin(m) {
  const id = `role-${m.id}`;
  const select = el("select", { id, "data-focus-key": `role-${m.id}`, onchange: (e) => act("member.set_role", { member_id: m.id, role: e.target.value }) },
    ["mentor", "participant", "observer"].map((r) => el("option", { value: r, selected: r === m.role }, r)));
  const confirming = pendingRemove === m.id;
  const remove = el("button", {
    type: "button", class: "small danger", "data-focus-key": `remove-${m.id}`,
    "aria-label": confirming ? `Confirm removing ${m.name}` : `Remove ${m.name}`,
    onclick: () => {
      if (pendingRemove === m.id) {
        pendingRemove = null;
        act("member.remove", { member_id: m.id });
      } else {
        pendingRemove = m.id;
        setTimeout(() => { if (pendingRemove === m.id) { pendingRemove = null; scheduleRender(); } }, 4000);
      }
      scheduleRender();
    },
  }, confirming ? "Confirm remove" : "Remove");
  return el("span", { class: "row" }, el("label", { for: id, class: "sr-only" }, `Role of ${m.name}`), select, remove);
}

function renderTurns() {
  const t = state.turns;
  const now = $("#turn-now");
  if (t.current != null) {
    fill(now,
      el("span", {}, t.current === me() ? "Your turn" : `${nameOf(state, t.current)} has the turn`),
      t.ends_at != null ? el("span", {}, " — ", el("span", { class: "countdown", id: "turn-countdown" }, "")) : null,
    );
  } else {
    fill(now, "Nobody has the turn.");
  }
  now.classList.toggle("my-turn", t.current === me());
  setText($("#turn-mode"), `Mode: ${t.mode === "round_robin" ? "round robin" : "queue"}${t.turn_ms ? ` · ${Math.round(t.turn_ms / 1000)} s per turn` : ""}`);
  const role = myRole();
  const pos = queuePosition(t, me());
  $("#turn-actions").hidden = role === "observer" || (role === "mentor" && t.current !== me());
  $("#hand-raise").hidden = role !== "participant" || pos >= 0;
  $("#hand-lower").hidden = role !== "participant" || pos <= 0;
  $("#turn-pass").hidden = t.current !== me();
  const mentor = isMentor();
  replaceKeepingFocus($("#queue"), t.queue.map((id, i) => el("li", {},
    el("span", { class: "name" }, `${i + 1}. ${nameOf(state, id)}${id === me() ? " (you)" : ""}`),
    mentor ? [
      el("button", { type: "button", class: "small", "data-focus-key": `up-${id}`, disabled: i === 0, "aria-label": `Move ${nameOf(state, id)} up`, onclick: () => act("turn.reorder", { queue: moveInQueue(t.queue, id, -1) }) }, "Up"),
      el("button", { type: "button", class: "small", "data-focus-key": `down-${id}`, disabled: i === t.queue.length - 1, "aria-label": `Move ${nameOf(state, id)} down`, onclick: () => act("turn.reorder", { queue: moveInQueue(t.queue, id, 1) }) }, "Down"),
      el("button", { type: "button", class: "small", "data-focus-key": `grant-${id}`, "aria-label": `Give the turn to ${nameOf(state, id)}`, onclick: () => act("turn.grant", { member_id: id }) }, "Give turn"),
    ] : null)));
}

function renderGoal() {
  if (myRole() !== "participant") return;
  const g = state.goals[me()];
  const ph = currentPhase(state);
  const current = $("#goal-current");
  if (g && g.text) {
    current.hidden = false;
    current.textContent = "";
    current.append(el("strong", {}, "Your goal: "), g.text);
    if (g.result) current.append(el("span", { class: `result-${g.result}` }, ` — ${RESULT_LABELS[g.result]}`));
  } else {
    current.hidden = true;
  }
  const checkin = ph?.kind === "checkin";
  $("#goal-panel").classList.toggle("my-turn", checkin && !(g && g.text));
  setText($("#goal-hint"), checkin ? "Check-in: say what you will do in this sprint." : "Say what you will do in this sprint; the room sees it.");
  const checkoutTime = ph?.kind === "checkout" || state.sprint.state === "done" || state.sprint.state === "idle";
  $("#checkout-form").hidden = !(g && g.text && !g.result && checkoutTime);
}

let memberSelectKey = "";
function renderMemberSelects() {
  const others = sortedMembers(state).filter((m) => m.id !== me());
  const key = others.map((m) => `${m.id}:${m.name}`).join("|");
  if (key === memberSelectKey) return;
  memberSelectKey = key;
  for (const [sel, first] of [[$("#react-to"), "everyone"], [$("#comment-to"), "the room"]]) {
    const value = sel.value;
    fill(sel, el("option", { value: "" }, first), others.map((m) => el("option", { value: m.id }, m.name)));
    sel.value = others.some((m) => m.id === value) ? value : "";
  }
}

function anchorText(a) {
  if (!a) return "";
  const parts = [];
  if (a.round != null && a.phase != null) parts.push(`round ${a.round} · ${a.phase}`);
  if (a.timer_ms != null) parts.push(`at ${formatMmss(a.timer_ms)} in`);
  if (a.turn_of != null) parts.push(`${nameOf(state, a.turn_of)}'s turn`);
  return parts.join(" · ");
}

function feedItem(ev) {
  const mine = me();
  const who = ev.actor === mine ? "You" : nameOf(state, ev.actor);
  const target = ev.to != null ? (ev.to === mine ? "you" : nameOf(state, ev.to)) : null;
  const cls = [aimedAt(ev, mine) ? "aimed-at-me" : "", ev.private ? "is-private" : ""].filter(Boolean).join(" ");
  const meta = el("div", { class: "meta" }, el("span", { class: "who" }, who), el("time", {}, clockTime(ev.at)));
  let body;
  if (ev.type === "chat.message") {
    body = el("div", { class: "text" }, ev.text);
  } else if (ev.type === "reaction") {
    meta.append(el("span", {}, target ? `reacted to ${target}` : "reacted"));
    body = el("div", { class: "text", "aria-label": `reaction ${ev.emoji}` }, ev.emoji);
  } else if (ev.type === "comment") {
    meta.append(el("span", { class: "badge" }, target ? `comment to ${target}` : "comment"));
    if (ev.private) meta.append(el("span", { class: "badge private" }, "private"));
    body = [el("div", { class: "text" }, ev.text), el("div", { class: "anchor" }, anchorText(ev.anchor))];
  } else {
    body = el("div", { class: "text" }, ev.text ?? "");
  }
  return el("li", { class: cls, dataset: { type: ev.type, stream: ev.stream ?? "", seq: String(ev.seq ?? "") } }, meta, body);
}

let feedRendered = null;
function renderFeed() {
  if (feedRendered === state.feed) return;
  feedRendered = state.feed;
  const items = state.feed.filter((ev) => ev.type !== "mentor.note").slice().reverse();
  $("#feed").replaceChildren(...items.map(feedItem));
}

let notesRendered = null;
function renderNotes() {
  if (notesRendered === state.feed) return;
  notesRendered = state.feed;
  const notes = state.feed.filter((ev) => ev.type === "mentor.note").slice().reverse();
  $("#notes").replaceChildren(...notes.map(feedItem));
}

function dashCard(id) {
  const inputId = `pc-${id}`;
  const input = el("input", { type: "text", id: inputId, maxlength: 2000, placeholder: "Private comment", autocomplete: "off" });
  const send = el("button", { type: "button", class: "small primary" }, "Send privately");
  const submit = async () => {
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    const ok = await act("comment.send", { text, to: id, private: true }, send);
    if (ok) { input.value = ""; toast(`Private comment sent to ${nameOf(state, id)}.`); }
  };
  send.addEventListener("click", submit);
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); submit(); } });
  const refs = {
    name: el("span", {}), badges: el("span", { class: "row" }),
    status: el("dd"), goal: el("dd"), result: el("dd"), turn: el("dd"), feedback: el("dd"), last: el("dd"),
  };
  const grant = el("button", { type: "button", class: "small", onclick: () => act("turn.grant", { member_id: id }) }, "Give turn");
  const label = el("label", { for: inputId, class: "sr-only" }, "");
  const node = el("article", { class: "card", dataset: { memberId: id } },
    el("h3", {}, refs.name, refs.badges),
    el("dl", {},
      el("dt", {}, "Status"), refs.status,
      el("dt", {}, "Goal"), refs.goal,
      el("dt", {}, "Result"), refs.result,
      el("dt", {}, "Turn"), refs.turn,
      el("dt", {}, "Feedback"), refs.feedback,
      el("dt", {}, "Last active"), refs.last),
    label,
    el("div", { class: "copy-row" }, input, send),
    el("div", { class: "row" }, grant));
  return { node, refs, label, grant };
}

function renderDashboard() {
  const list = participants(state);
  setText($("#dash-empty"), list.length ? "" : "No participants yet.");
  $("#dash-empty").hidden = list.length > 0;
  const grid = $("#dash");
  const keep = new Set(list.map((m) => m.id));
  for (const [id, card] of dashCards) if (!keep.has(id)) { card.node.remove(); dashCards.delete(id); }
  const now = conn.serverNow();
  list.forEach((m, i) => {
    let card = dashCards.get(m.id);
    if (!card) { card = dashCard(m.id); dashCards.set(m.id, card); }
    if (grid.children[i] !== card.node) grid.insertBefore(card.node, grid.children[i] || null);
    const g = state.goals[m.id];
    const pos = queuePosition(state.turns, m.id);
    setText(card.refs.name, m.name);
    setText(card.label, `Private comment to ${m.name}`);
    card.grant.setAttribute("aria-label", `Give the turn to ${m.name}`);
    fill(card.refs.badges, m.connected ? el("span", { class: "badge" }, "connected") : el("span", { class: "badge off" }, "disconnected"));
    setText(card.refs.status, m.text ? `${m.status} — ${m.text}` : m.status);
    setText(card.refs.goal, g?.text || "—");
    setText(card.refs.result, g?.result ? `${RESULT_LABELS[g.result]}${g.note ? `: ${g.note}` : ""}` : "—");
    setText(card.refs.turn, pos === 0 ? "has the turn" : pos > 0 ? `hand up, #${pos}` : "—");
    setText(card.refs.feedback, String(state.feedback[m.id] || 0));
    setText(card.refs.last, ago(state.activity[m.id], now));
  });
}

function renderMentorBits() {
  const code = state.room.invite || loadInvite(roomId);
  $("#invite-line").hidden = !code;
  if (code) $("#invite-link").value = new URL(secretLink(`/r/${encodeURIComponent(roomId)}`, { invite: code }), location.href).href;
  $("#sprint-skip").disabled = state.sprint.state !== "running";
  $("#sprint-stop").disabled = state.sprint.state !== "running";
  setText($("#room-close"), pendingClose ? "Confirm: close the room" : "Close room");
}

/** Mirror server state into the mentor inputs when it changes (not while typing). */
function syncControls(a, b) {
  const set = (sel, value) => { const n = $(sel); if (document.activeElement !== n) n.value = value; };
  if (!a || a.turns.mode !== b.turns.mode || a.turns.turn_ms !== b.turns.turn_ms) {
    set("#turns-mode", b.turns.mode);
    set("#turns-limit", b.turns.turn_ms ? String(Math.round(b.turns.turn_ms / 1000)) : "");
  }
  tempoPanel.syncInputs(a, b);
}

// ---- the frame loop: clock, turn countdown, beat ---------------------------------

let lastTitle = "";
function frame() {
  requestAnimationFrame(frame);
  if (reconnectAt && conn) setText($("#conn-label"), reconnectLabel()); // counts down
  if (!state || !conn) return;
  const client = conn.now();
  const now = conn.clock.serverNow(client);
  const mmss = clockPanel.frame(state, now, client);
  const tc = document.getElementById("turn-countdown");
  if (tc) {
    const tr = turnRemainingMs(state.turns, now);
    setText(tc, tr == null ? "" : formatMmss(tr));
    tc.dataset.remainingMs = tr == null ? "" : String(Math.round(tr));
  }
  tempoPanel.frame(now);
  const ph = currentPhase(state);
  const title = `${state.timer.state === "idle" ? "" : `${mmss} · `}${ph ? `${ph.name} · ` : ""}${state.room.title || "Room"} — Ensemble`;
  if (title !== lastTitle) { lastTitle = title; document.title = title; }
}

// ---- controls ----------------------------------------------------------------------

function setupControls() {
  // everyone
  $("#my-status").addEventListener("change", (e) => act("status.set", { status: e.target.value }));
  const bar = $("#reaction-bar");
  for (const emoji of REACTIONS) {
    bar.append(el("button", { type: "button", "aria-label": `React ${emoji}`, onclick: (e) => {
      const to = $("#react-to").value;
      act("reaction.send", to ? { emoji, to } : { emoji }, e.currentTarget);
    } }, emoji));
  }
  $("#chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#chat-text");
    const text = input.value.trim();
    if (!text) return;
    if (await act("chat.send", { text })) input.value = "";
  });
  $("#comment-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#comment-text");
    const text = input.value.trim();
    if (!text) return;
    const to = $("#comment-to").value;
    const priv = $("#comment-private").checked;
    if (priv && !to) { toast("A private comment needs someone to go to."); $("#comment-to").focus(); return; }
    const payload = { text };
    if (to) payload.to = to;
    if (priv) payload.private = true;
    if (await act("comment.send", payload)) input.value = "";
  });

  // participants
  $("#goal-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#goal-text");
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    if (await act("goal.set", { text })) input.value = "";
  });
  $("#checkout-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const result = new FormData(e.target).get("result");
    if (!result) { toast("Choose done, partly or missed."); return; }
    const note = $("#checkout-note").value.trim();
    if (await act("goal.check", note ? { result, note } : { result })) $("#checkout-note").value = "";
  });
  $("#hand-raise").addEventListener("click", (e) => act("hand.raise", {}, e.currentTarget));
  $("#hand-lower").addEventListener("click", (e) => act("hand.lower", {}, e.currentTarget));
  $("#turn-pass").addEventListener("click", (e) => act("turn.pass", {}, e.currentTarget));

  // the clock and tempo panels (mentor controls included)
  clockPanel.setup();
  tempoPanel.setup();

  // mentors: sprint
  const preset = $("#sprint-preset");
  preset.append(el("option", { value: "room" }, "The room's program"));
  for (const p of PRESETS) preset.append(el("option", { value: p.id }, p.label));
  preset.append(el("option", { value: "custom" }, "Custom…"));
  const editor = programEditor({ idPrefix: "sprint" });
  $("#sprint-custom").append(editor.element);
  preset.addEventListener("change", () => { $("#sprint-custom").hidden = preset.value !== "custom"; });
  $("#sprint-start").addEventListener("click", (e) => {
    let payload = {};
    try {
      if (preset.value === "custom") payload = editor.getProgram();
      else if (preset.value !== "room") payload = presetById(preset.value).program;
    } catch (err) { toast(`Program: ${err.message}`); return; }
    act("sprint.start", payload, e.currentTarget);
  });
  $("#sprint-skip").addEventListener("click", (e) => act("sprint.skip", {}, e.currentTarget));
  $("#sprint-stop").addEventListener("click", (e) => act("sprint.stop", {}, e.currentTarget));

  // mentors: turns
  $("#turns-apply").addEventListener("click", (e) => {
    const limit = $("#turns-limit").value.trim();
    const secs = limit ? Number(limit) : null;
    if (secs !== null && !(secs >= 1 && secs <= 3600)) { toast("The limit is 1 to 3600 seconds, or empty for none."); return; }
    act("turns.config", { mode: $("#turns-mode").value, turn_ms: secs === null ? null : Math.round(secs * 1000) }, e.currentTarget);
  });
  $("#turn-next").addEventListener("click", (e) => act("turn.next", {}, e.currentTarget));
  $("#turns-clear").addEventListener("click", (e) => act("turns.clear", {}, e.currentTarget));

  // mentors: room
  $("#report-link").href = `/r/${encodeURIComponent(roomId)}/report`;
  $("#room-close").addEventListener("click", (e) => {
    if (!pendingClose) {
      pendingClose = true;
      setTimeout(() => { pendingClose = false; scheduleRender(); }, 4000);
      scheduleRender();
      return;
    }
    pendingClose = false;
    act("room.close", {}, e.currentTarget);
  });
  $("#invite-copy").addEventListener("click", async () => {
    const ok = await copyText($("#invite-link").value, $("#invite-link"));
    toast(ok ? "Invite link copied." : "Select the link and copy it.");
  });
  $("#note-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#note-text");
    const text = input.value.trim();
    if (!text) return;
    if (await act("note.mentors", { text })) input.value = "";
  });

  // waking up: reconnect now / re-sync the clock; the frame loop redraws at once.
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && conn) conn.wake(); });
  window.addEventListener("online", () => conn && conn.wake());
  setInterval(() => { if (state && isMentor()) renderDashboard(); }, 5000);
}

// ---- start -----------------------------------------------------------------------

function main() {
  if (!roomId) { notice("No room in this address.", true); return; }
  setupJoin();
  setupControls();
  loadRoomTitle();
  requestAnimationFrame(frame);
  const saved = loadSession(roomId);
  if (saved.token && saved.name) {
    // A reload: come back as the same member, from a fresh snapshot.
    const credential = withPerson(hostKey ? { host_key: hostKey } : invite ? { invite, role: saved.role || "participant" } : {});
    connect(saved.name, credential, saved.token);
  } else {
    showJoin();
  }
}

main();
