// The room page: join form, then the live room for participants, observers
// and mentors (mentors also get controls, the dashboard and notes).
//
// Data flow: Connection -> welcome/events -> pure state (state.js) ->
// render(). The clock, turn countdown and beat are drawn every animation
// frame from state + the estimated server offset, never from ticks.

import * as msgpack from "./msgpack.js";
import { makeCodec } from "./codec.js";
import { Connection, CLOSE, STATUS } from "./connection.js";
import { fromWelcome, applyEvent, currentPhase } from "./state.js";
import { sayChanges, sayNow } from "./announcements.js";
import { ClockPanel } from "./clock-panel.js";
import { TempoPanel } from "./tempo-panel.js";
import { PeoplePanel } from "./people-panel.js";
import { TurnsPanel } from "./turns-panel.js";
import { FeedPanel } from "./feed-panel.js";
import { GoalPanel } from "./goal-panel.js";
import { MentorPanel } from "./mentor-panel.js";
import { JoinPanel } from "./join-panel.js";
import { $, setText, announcer } from "./dom.js";
import { getRoom } from "./api.js";
import { addressOf, pageSecrets } from "./links.js";
import { loadSession, updateSession, clearSession } from "./storage.js";

const codec = makeCodec(msgpack);
const roomId = decodeURIComponent(location.pathname.split("/")[2] || "");
// Secrets come in the fragment (#invite=…, #host_key=…); see links.js.
const params = pageSecrets();
const join = new JoinPanel({ roomId, params, onJoin: (name, credential) => connect(name, credential, null) });

const announce = announcer($("#announcer"));
let conn = null;
let state = null;
let renderQueued = false;

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

// ---- connection ---------------------------------------------------------------

// One module per panel; what they need of the page. Each draws from the
// state it is handed, and asks for the current one (page.state()) only in
// its event handlers.
const page = {
  act: (...a) => act(...a),
  toast: (t) => toast(t),
  state: () => state,
  clock: () => conn?.clock ?? null,
  serverNow: () => conn.serverNow(),
  scheduleRender: () => scheduleRender(),
  roomId,
};
const clockPanel = new ClockPanel(page);
const tempoPanel = new TempoPanel(page);
const turnsPanel = new TurnsPanel(page);
const panels = [
  clockPanel, tempoPanel, new PeoplePanel(page), turnsPanel, new FeedPanel(page), new GoalPanel(page), new MentorPanel(page),
];

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
    join.show(`Could not join: ${error?.message || "the server refused"}`);
  } else {
    notice(`Disconnected (${code}). Reload the page to try again.`, true);
  }
}

function onError(frame) {
  toast(`Server: ${frame.message || frame.code}`);
}

// ---- announcements (aria-live) ---------------------------------------------------

function announceNow() {
  const text = sayNow(state);
  if (text) announce(text);
}

function announceChanges(a, b) {
  const text = sayChanges(a, b);
  if (text) announce(text);
}

// ---- rendering -------------------------------------------------------------------

function render() {
  if (!state) return;
  for (const panel of panels) panel.render(state);
}

/** Mirror server state into the mentor inputs when it changes (not while typing). */
function syncControls(a, b) {
  turnsPanel.syncInputs(a, b);
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
  turnsPanel.frame(state, now);
  tempoPanel.frame(now);
  const ph = currentPhase(state);
  const title = `${state.timer.state === "idle" ? "" : `${mmss} · `}${ph ? `${ph.name} · ` : ""}${state.room.title || "Room"} — Ensemble`;
  if (title !== lastTitle) { lastTitle = title; document.title = title; }
}

// ---- controls ----------------------------------------------------------------------

function setupControls() {
  for (const panel of panels) panel.setup();
  // waking up: reconnect now / re-sync the clock; the frame loop redraws at once.
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && conn) conn.wake(); });
  window.addEventListener("online", () => conn && conn.wake());
}

// ---- start -----------------------------------------------------------------------

function main() {
  if (!roomId) { notice("No room in this address.", true); return; }
  join.setup();
  setupControls();
  loadRoomTitle();
  requestAnimationFrame(frame);
  const saved = loadSession(roomId);
  if (saved.token && saved.name) {
    // A reload: come back as the same member, from a fresh snapshot.
    connect(saved.name, join.credential(saved.role || "participant"), saved.token);
  } else {
    join.show();
  }
}

main();
