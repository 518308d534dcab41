// The live connection to a room: one WebSocket at /ws speaking
// `ensemble.v1.msgpack`, hello with a credential, clock sync by ping/pong,
// requests matched to their ack/error by `ref`, and reconnection with
// exponential backoff and resume.
//
// The connection knows nothing of room rules: it hands `welcome` frames and
// events to its owner, who merges them (state.js) and tells the connection
// the position reached (setPosition) so a reconnect can resume from it.

import { SyncFilter } from "./clock.js";
import { SUBPROTOCOL } from "./codec.js";

export const JSON_SUBPROTOCOL = "ensemble.v1.json";

/** Close codes (see protocol/): which ones end the session for good. */
export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TRY_AGAIN: 1013,
  SLOW_CONSUMER: 4000,
  RESYNC: 4001,
  ABUSIVE: 4008,
  REMOVED: 4100,
  ROOM_CLOSED: 4101,
  HELLO_TIMEOUT: 4102,
  ROOM_GONE: 4103,
});
export const TERMINAL_CLOSES = new Set([
  CLOSE.POLICY, CLOSE.TOO_BIG, CLOSE.REMOVED, CLOSE.ROOM_CLOSED, CLOSE.HELLO_TIMEOUT,
  CLOSE.ROOM_GONE,
]);

export const STATUS = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 15000;
export const ABUSIVE_MIN_MS = 10000;
// Clock sync: a burst at once, then pings every FAST_PING_MS for the first
// FAST_PINGS_FOR_MS (enough samples to find the fastest trips through a
// jittery path), then one every PING_INTERVAL_MS to follow the drift. Waking
// up (tab visible again, network back) starts over with a burst.
export const INITIAL_PINGS = 5;
export const FAST_PING_MS = 150;
export const FAST_PINGS_FOR_MS = 20000;
export const PING_INTERVAL_MS = 1000;
export const PONG_TIMEOUT_MS = 10000;
export const REQUEST_TIMEOUT_MS = 10000;

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped,
 * with "equal jitter" (between half and all of the step) so a room full of
 * clients dropped at once does not come back at once.
 */
export function backoffDelay(attempt, random = Math.random) {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(step / 2 + (random() * step) / 2);
}

export class RequestError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "RequestError";
    this.code = code;
  }
}

/** Client wall-clock ms, monotonic within the page. */
export function clientNow() {
  return performance.timeOrigin + performance.now();
}

export class Connection {
  /**
   * @param {object} o
   * @param {string} o.url            ws(s)://host/ws
   * @param {string} o.room           room id
   * @param {string} o.name           display name
   * @param {object} o.credential     {invite, role} or {host_key}, each with an optional person_key, or {person_key}
   * @param {string|null} o.token     a token from an earlier welcome, tried first
   * @param {object} o.codec          from makeCodec()
   * @param {object} o.handlers       onStatus, onWelcome, onEvent, onSync, onToken, onFatal, onError
   */
  constructor({ url, room, name, credential, token = null, codec, handlers = {}, WebSocketImpl = globalThis.WebSocket, now = clientNow }) {
    this.url = url;
    this.room = room;
    this.name = name;
    this.credential = credential || {};
    this.token = token;
    this.codec = codec;
    this.h = handlers;
    this.WebSocketImpl = WebSocketImpl;
    this.now = now;
    this.clock = new SyncFilter();
    this.status = STATUS.IDLE;
    this.ws = null;
    this.attempt = 0;
    this.position = null; // {epoch, seqs} of the state the owner holds
    this.pending = new Map();
    this.nextRef = 1;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.pingsLeft = 0;
    this.pingT0 = null;
    this.fastUntil = 0;
    this.stopped = false;
    this.usedToken = false;
    this.helloError = null;
  }

  // ---- lifecycle -----------------------------------------------------------

  start() {
    if (this.status !== STATUS.IDLE) throw new Error(`start() expects an idle connection, not ${this.status}`);
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.clearPing();
    if (this.ws) this.ws.close(CLOSE.NORMAL, "bye");
    this.setStatus(STATUS.CLOSED, { reason: "stopped" });
  }

  /** The position the owner's state has reached; a reconnect resumes from it. */
  setPosition(epoch, seqs) {
    this.position = { epoch, seqs: { ...seqs } };
  }

  /** Drop the socket and reconnect at once, resuming (after a seq gap). */
  resync() {
    if (this.ws && this.status === STATUS.OPEN) this.ws.close(CLOSE.NORMAL, "resync");
  }

  /** Reconnect with a fresh snapshot (no resume), e.g. after a role change. */
  refresh() {
    this.position = null;
    this.resync();
  }

  /** The page is visible again / back online: retry now or re-sync the clock. */
  wake() {
    if (this.stopped) return;
    if (this.status === STATUS.RECONNECTING && this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.connect();
    } else if (this.status === STATUS.OPEN) {
      this.resyncClock();
    }
  }

  setStatus(status, info = {}) {
    this.status = status;
    this.h.onStatus?.(status, info);
  }

  connect() {
    this.setStatus(this.attempt === 0 && !this.everOpen ? STATUS.CONNECTING : STATUS.RECONNECTING, { attempt: this.attempt });
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url, [SUBPROTOCOL]);
    } catch (err) {
      this.scheduleReconnect(null, String(err));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.helloError = null;
    ws.onopen = () => this.sendHello();
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onerror = () => {}; // a close event always follows
    ws.onclose = (e) => this.closed(ws, e.code, e.reason);
  }

  sendHello() {
    const hello = { type: "hello", room: this.room, name: this.name };
    if (this.token) {
      hello.token = this.token;
      this.usedToken = true;
    } else {
      this.usedToken = false;
      if (this.credential.host_key) hello.host_key = this.credential.host_key;
      else if (this.credential.invite) {
        hello.invite = this.credential.invite;
        if (this.credential.role) hello.role = this.credential.role;
      }
      // v2: the member is this person (alone: a room of one of their groups).
      if (this.credential.person_key) hello.person_key = this.credential.person_key;
    }
    if (this.position) hello.resume = { epoch: this.position.epoch, ...this.position.seqs };
    this.send(hello);
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearPing();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RequestError("unavailable", "connection lost"));
    }
    this.pending.clear();
    if (this.stopped) return;
    if (code === CLOSE.POLICY && this.usedToken && (this.credential.invite || this.credential.host_key || this.credential.person_key)) {
      // The stored session is no longer valid: join again with the credential.
      this.token = null;
      this.position = null;
      this.h.onToken?.(null);
      this.connect();
      return;
    }
    if (TERMINAL_CLOSES.has(code)) {
      this.setStatus(STATUS.CLOSED, { code, reason: this.helloError?.message || reason });
      this.h.onFatal?.({ code, reason: reason || "", error: this.helloError });
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  scheduleReconnect(code, reason) {
    let delay = backoffDelay(this.attempt);
    if (code === CLOSE.ABUSIVE) delay = Math.max(delay, ABUSIVE_MIN_MS);
    // A deliberate resync reconnects immediately the first time.
    if (code === CLOSE.NORMAL && reason === "resync" && this.attempt === 0) delay = 0;
    this.attempt += 1;
    this.setStatus(STATUS.RECONNECTING, { attempt: this.attempt, retryAt: this.now() + delay, code, reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  // ---- frames --------------------------------------------------------------

  send(frame) {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    if (ws.protocol === JSON_SUBPROTOCOL || ws.protocol === "") {
      // The server chose JSON (or no subprotocol): speak what it speaks.
      ws.send(JSON.stringify(frame));
    } else {
      ws.send(this.codec.encode(frame));
    }
    return true;
  }

  receive(data) {
    let frame;
    try {
      frame = typeof data === "string" ? JSON.parse(data) : this.codec.decode(data);
    } catch (err) {
      this.h.onError?.({ code: "bad_frame", message: `undecodable frame: ${err.message}` });
      return;
    }
    switch (frame.type) {
      case "welcome":
        return this.welcomed(frame);
      case "pong":
        return this.ponged(frame);
      case "ack":
        return this.settle(frame, null);
      case "error":
        if (this.status !== STATUS.OPEN && frame.code === "rate_limited") {
          // A rate-limited hello is not a refusal: say hello again shortly.
          setTimeout(() => { if (this.ws && this.status !== STATUS.OPEN) this.sendHello(); }, 1000);
          return;
        }
        if (this.status !== STATUS.OPEN && frame.ref == null) this.helloError = frame;
        return this.settle(frame, new RequestError(frame.code, frame.message));
      default:
        if (typeof frame.stream === "string") this.h.onEvent?.(frame);
    }
  }

  welcomed(frame) {
    this.attempt = 0;
    this.everOpen = true;
    this.token = frame.token;
    this.h.onToken?.(frame.token, frame);
    this.setStatus(STATUS.OPEN, { resumed: !!frame.resumed });
    this.h.onWelcome?.(frame);
    this.startPings();
  }

  settle(frame, error) {
    const p = frame.ref != null ? this.pending.get(frame.ref) : undefined;
    if (!p) {
      if (error) this.h.onError?.(frame);
      return;
    }
    this.pending.delete(frame.ref);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(frame);
  }

  /** Send a request; resolves with its ack, rejects with a RequestError. */
  request(type, payload = {}) {
    if (this.status !== STATUS.OPEN) {
      return Promise.reject(new RequestError("unavailable", "not connected — reconnecting"));
    }
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new RequestError("unavailable", "no answer from the server"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      if (!this.send({ ...payload, type, ref })) {
        this.pending.delete(ref);
        clearTimeout(timer);
        reject(new RequestError("unavailable", "not connected"));
      }
    });
  }

  // ---- clock sync ----------------------------------------------------------

  startPings() {
    this.clearPing();
    this.pingsLeft = INITIAL_PINGS;
    this.fastUntil = this.now() + FAST_PINGS_FOR_MS;
    this.ping();
  }

  /** Back from sleep or offline: the clock may have jumped; sample it again, fast. */
  resyncClock() {
    this.pingsLeft = INITIAL_PINGS;
    this.fastUntil = this.now() + FAST_PINGS_FOR_MS;
    clearTimeout(this.pingTimer);
    this.ping();
  }

  ping() {
    if (this.pingT0 !== null) return; // one in flight at a time
    const t0 = this.now();
    if (!this.send({ type: "ping", t0 })) return;
    this.pingT0 = t0;
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => {
      // No pong: the link is dead even if the socket has not noticed.
      this.pingT0 = null;
      if (this.ws) this.ws.close(CLOSE.NORMAL, "pong timeout");
    }, PONG_TIMEOUT_MS);
  }

  ponged(frame) {
    const t1 = this.now();
    clearTimeout(this.pongTimer);
    if (this.pingT0 === null || frame.t0 !== this.pingT0) return;
    this.pingT0 = null;
    this.clock.add(frame.t0, t1, frame.server_time);
    this.h.onSync?.(this.clock);
    this.pingsLeft -= 1;
    clearTimeout(this.pingTimer);
    const delay = this.pingsLeft > 0 ? 0 : t1 < this.fastUntil ? FAST_PING_MS : PING_INTERVAL_MS;
    this.pingTimer = setTimeout(() => this.ping(), delay);
  }

  clearPing() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
    this.pingT0 = null;
  }

  /** Estimated server time now. */
  serverNow() {
    return this.clock.serverNow(this.now());
  }
}
