import { test, mock } from "node:test";
import assert from "node:assert/strict";
import * as msgpack from "@msgpack/msgpack";
import { makeCodec } from "../js/codec.js";
import {
  Connection, backoffDelay, BACKOFF_MAX_MS, CLOSE, STATUS, INITIAL_PINGS, PING_INTERVAL_MS,
  FAST_PING_MS, FAST_PINGS_FOR_MS,
} from "../js/connection.js";

const codec = makeCodec(msgpack);

class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.protocol = protocols[0];
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(bytes) {
    this.sent.push(codec.decode(bytes));
  }
  serverSends(frame) {
    this.onmessage?.({ data: codec.encode(frame).slice().buffer });
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  last(type) {
    return this.sent.filter((f) => f.type === type).at(-1);
  }
}

function welcomeFrame(extra = {}) {
  return { type: "welcome", member_id: "m1", role: "participant", token: "tok-1", server_time: 5000, epoch: "e1", resumed: false, seqs: { room: 3, direct: 0 }, snapshot: {}, ...extra };
}

function setup(opts = {}) {
  FakeSocket.all = [];
  let t = 1000;
  const log = { status: [], welcomes: [], events: [], tokens: [], fatal: [], errors: [] };
  const conn = new Connection({
    url: "ws://x/ws",
    room: "r1",
    name: "Ann",
    credential: { invite: "INV", role: "participant" },
    codec,
    WebSocketImpl: FakeSocket,
    now: () => t,
    handlers: {
      onStatus: (s, info) => log.status.push([s, info]),
      onWelcome: (w) => log.welcomes.push(w),
      onEvent: (e) => log.events.push(e),
      onToken: (tok) => log.tokens.push(tok),
      onFatal: (f) => log.fatal.push(f),
      onError: (e) => log.errors.push(e),
    },
    ...opts,
  });
  return { conn, log, advance: (ms) => { t += ms; }, sock: () => FakeSocket.all.at(-1) };
}

test("backoff grows exponentially, is capped, and jitters within half a step", () => {
  assert.equal(backoffDelay(0, () => 0), 250);
  assert.equal(backoffDelay(0, () => 1), 500);
  assert.equal(backoffDelay(3, () => 1), 4000);
  assert.equal(backoffDelay(30, () => 1), BACKOFF_MAX_MS);
  assert.equal(backoffDelay(30, () => 0), BACKOFF_MAX_MS / 2);
});

test("hello carries the invite and role, the msgpack subprotocol is offered", () => {
  const { conn, sock, log } = setup();
  conn.start();
  assert.deepEqual(sock().protocols, ["ensemble.v1.msgpack"]);
  sock().open();
  assert.deepEqual(sock().sent[0], { type: "hello", room: "r1", name: "Ann", invite: "INV", role: "participant" });
  assert.equal(log.status[0][0], STATUS.CONNECTING);
});

test("welcome opens, stores the token, and starts clock sync with a burst of pings", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { conn, sock, log, advance } = setup();
  conn.start();
  sock().open();
  sock().serverSends(welcomeFrame());
  assert.equal(conn.status, STATUS.OPEN);
  assert.deepEqual(log.tokens, ["tok-1"]);
  for (let i = 0; i < INITIAL_PINGS; i++) {
    const ping = sock().last("ping");
    assert.ok(ping, `ping ${i}`);
    advance(4 + i); // rtt grows: the first sample stays best
    sock().serverSends({ type: "pong", t0: ping.t0, server_time: ping.t0 + 2 + 100 });
    t.mock.timers.tick(0);
  }
  assert.equal(sock().sent.filter((f) => f.type === "ping").length, INITIAL_PINGS);
  assert.equal(conn.clock.samples.length, INITIAL_PINGS);
  // Fastest trip up 2 ms (3 with the stamp's whole ms), fastest down 4:
  // offset in [98, 103] (+ what an unknown drift could add).
  assert.ok(Math.abs(conn.clock.error - 2.5) < 0.01, conn.clock.error);
  assert.equal(conn.clock.offset, 100.5);
  const pings = () => sock().sent.filter((f) => f.type === "ping").length;
  const answer = (rtt) => {
    const ping = sock().last("ping");
    advance(rtt);
    sock().serverSends({ type: "pong", t0: ping.t0, server_time: ping.t0 + rtt / 2 + 100 });
  };
  // Then a ping every FAST_PING_MS while the first FAST_PINGS_FOR_MS last ...
  t.mock.timers.tick(FAST_PING_MS - 1);
  assert.equal(pings(), INITIAL_PINGS);
  t.mock.timers.tick(1);
  assert.equal(pings(), INITIAL_PINGS + 1);
  advance(FAST_PINGS_FOR_MS);
  answer(4);
  // ... and every PING_INTERVAL_MS after.
  t.mock.timers.tick(PING_INTERVAL_MS - 1);
  assert.equal(pings(), INITIAL_PINGS + 1);
  t.mock.timers.tick(1);
  assert.equal(pings(), INITIAL_PINGS + 2);
  answer(4);
  // Waking up (tab visible again, back online): a burst at once.
  conn.wake();
  assert.equal(pings(), INITIAL_PINGS + 3);
  answer(4);
  t.mock.timers.tick(0);
  assert.equal(pings(), INITIAL_PINGS + 4);
  conn.stop();
});

test("requests resolve on their ack and reject on their error, by ref", async () => {
  const { conn, sock } = setup();
  conn.start();
  sock().open();
  sock().serverSends(welcomeFrame());
  const p1 = conn.request("chat.send", { text: "hi" });
  const p2 = conn.request("timer.pause");
  const [r1, r2] = sock().sent.filter((f) => f.type === "chat.send" || f.type === "timer.pause");
  assert.equal(r1.text, "hi");
  sock().serverSends({ type: "error", ref: r2.ref, code: "forbidden", message: "mentors only" });
  sock().serverSends({ type: "ack", ref: r1.ref });
  assert.equal((await p1).type, "ack");
  await assert.rejects(p2, (e) => e.code === "forbidden");
  conn.stop();
});

test("events are handed over; requests fail fast while disconnected", async () => {
  const { conn, sock, log } = setup();
  await assert.rejects(conn.request("chat.send", { text: "x" }), (e) => e.code === "unavailable");
  conn.start();
  sock().open();
  sock().serverSends(welcomeFrame());
  sock().serverSends({ type: "chat.message", stream: "room", seq: 4, at: 1, actor: "m2", text: "yo" });
  assert.equal(log.events.length, 1);
  conn.stop();
});

test("a dropped connection reconnects with the token and resumes from the position", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { conn, sock, log } = setup();
  conn.start();
  sock().open();
  sock().serverSends(welcomeFrame());
  conn.setPosition("e1", { room: 7, direct: 2 });
  const pending = conn.request("chat.send", { text: "lost" });
  sock().close(CLOSE.GOING_AWAY, "restart");
  assert.equal(conn.status, STATUS.RECONNECTING);
  t.mock.timers.tick(BACKOFF_MAX_MS);
  assert.equal(FakeSocket.all.length, 2);
  sock().open();
  assert.deepEqual(sock().sent[0], { type: "hello", room: "r1", name: "Ann", token: "tok-1", resume: { epoch: "e1", room: 7, direct: 2 } });
  sock().serverSends(welcomeFrame({ resumed: true }));
  assert.equal(conn.status, STATUS.OPEN);
  assert.equal(log.welcomes.at(-1).resumed, true);
  conn.stop();
  return assert.rejects(pending, (e) => e.code === "unavailable");
});

test("a refused token falls back to the invite; a refused invite is final", () => {
  const { conn, sock, log } = setup({ token: "old" });
  conn.start();
  sock().open();
  assert.equal(sock().sent[0].token, "old");
  sock().serverSends({ type: "error", ref: null, code: "unauthorized", message: "unknown token" });
  sock().close(CLOSE.POLICY, "");
  assert.equal(FakeSocket.all.length, 2);
  assert.deepEqual(log.tokens, [null]);
  sock().open();
  assert.equal(sock().sent[0].invite, "INV");
  sock().serverSends({ type: "error", ref: null, code: "unauthorized", message: "bad invite" });
  sock().close(CLOSE.POLICY, "");
  assert.equal(conn.status, STATUS.CLOSED);
  assert.equal(log.fatal.length, 1);
  assert.equal(log.fatal[0].error.message, "bad invite");
});

test("removal, room close and a room that is gone are terminal", () => {
  for (const code of [CLOSE.REMOVED, CLOSE.ROOM_CLOSED, CLOSE.ROOM_GONE]) {
    const { conn, sock, log } = setup();
    conn.start();
    sock().open();
    sock().serverSends(welcomeFrame());
    sock().close(code, "");
    assert.equal(conn.status, STATUS.CLOSED);
    assert.equal(log.fatal[0].code, code);
    assert.equal(FakeSocket.all.length, 1);
  }
});

test("resync reconnects at once with resume", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { conn, sock } = setup();
  conn.start();
  sock().open();
  sock().serverSends(welcomeFrame());
  conn.setPosition("e1", { room: 3 });
  conn.resync();
  t.mock.timers.tick(0);
  assert.equal(FakeSocket.all.length, 2);
  sock().open();
  assert.deepEqual(sock().sent[0].resume, { epoch: "e1", room: 3 });
  conn.stop();
});

test("hello carries the person key beside the invite, or alone for a group's room", () => {
  const withInvite = setup({ credential: { invite: "INV", role: "participant", person_key: "PK" } });
  withInvite.conn.start();
  withInvite.sock().open();
  assert.deepEqual(withInvite.sock().sent[0],
    { type: "hello", room: "r1", name: "Ann", invite: "INV", role: "participant", person_key: "PK" });
  const alone = setup({ credential: { person_key: "PK" } });
  alone.conn.start();
  alone.sock().open();
  assert.deepEqual(alone.sock().sent[0], { type: "hello", room: "r1", name: "Ann", person_key: "PK" });
});
