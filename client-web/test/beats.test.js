import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BeatSchedule, countInBetween, LOOKAHEAD_MS, MAX_BEATS } from "../js/beats.js";
import { readMapping, contextTimeFor, perfTimeFor, median } from "../js/audio.js";
import { estimateLatency, MIN_TAPS } from "../js/calibration.js";

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL("../../protocol/vectors/vectors.json", import.meta.url)), "utf8"));
const tempoOf = (name) => vectors.find((v) => v.name === name).json.tempo;
const T = 1764000000000;

/** A page whose clock is `offset` ms behind the server, its performance clock at `perf`. */
function page({ offset, timeOrigin = T - 1000000, audio = null, calibrationMs = 0, tempo }) {
  const p = { perf: 0, tempo };
  const clock = { ready: true, offsetAt: () => offset };
  p.schedule = new BeatSchedule({ getTempo: () => p.tempo, getClock: () => clock, audio, calibrationMs: () => calibrationMs, perfNow: () => p.perf, timeOrigin });
  /** Run the schedule's ticks until server time `server`. */
  p.runTo = (server) => {
    const target = server - offset - timeOrigin;
    while (p.perf < target) {
      p.perf = Math.min(target, p.perf + 50);
      p.schedule.tick();
    }
  };
  return p;
}

test("every beat is scheduled once, at the performance time every page shares", () => {
  const tempo = tempoOf("tempo.changed new tempo on the next bar line");
  const a = page({ offset: 0, tempo });
  const b = page({ offset: 3456.5, timeOrigin: T - 777777, tempo });
  for (const p of [a, b]) { p.runTo(T + 653000); p.schedule.beats = []; p.runTo(T + 657000); }
  const ka = a.schedule.record();
  const kb = b.schedule.record();
  assert.deepEqual(ka.map((x) => x.k), [338, 339, 340, 341, 342, 343]);
  assert.deepEqual(kb.map((x) => x.k), ka.map((x) => x.k));
  // The same instant on the shared clock (timeOrigin + perf_at + offset = server_at).
  for (const [x, y] of ka.map((x, i) => [x, kb[i]])) {
    assert.equal(T - 1000000 + x.perf_at, x.server_at);
    assert.equal(T - 777777 + y.perf_at + 3456.5, y.server_at);
  }
});

test("a tempo change that arrives after beats were planned replans them on the new grid", () => {
  const before = tempoOf("tempo.changed started, one bar ahead");
  const after = tempoOf("tempo.changed new tempo on the next bar line");
  const p = page({ offset: 0, tempo: before });
  p.runTo(T + 654900); // 80 bpm planned up to 655200 (beat 340 at 655000 on the old grid)
  assert.equal(p.schedule.record().at(-1).server_at, T + 655000);
  p.tempo = after;
  p.schedule.retune();
  p.runTo(T + 656000);
  const rec = p.schedule.record();
  const ks = rec.map((x) => x.k);
  assert.deepEqual(ks, [...new Set(ks)]); // no beat twice
  const b340 = rec.find((x) => x.k === 340);
  const b341 = rec.find((x) => x.k === 341);
  assert.equal(b341.server_at - b340.server_at, 625); // 96 bpm from beat 340
});

test("the record is bounded and the lookahead short", () => {
  const p = page({ offset: 0, tempo: { bpm: 300, beats_per_bar: 4, running: true, started_at: T, first_beat: 0, effective_at: T, previous: null } });
  p.runTo(T + 200 * 600);
  assert.equal(p.schedule.record().length, MAX_BEATS);
  const last = p.schedule.record().at(-1);
  assert.ok(last.server_at < T + 200 * 600 + LOOKAHEAD_MS);
});

test("with the click on: scheduled earlier by the calibration, heard at the shared time", () => {
  const calls = [];
  const audio = { on: true, read() {}, click(perf) { calls.push(perf); return { perfAt: perf + 0.3, node: {} }; }, cancel() {} };
  const p = page({ offset: 0, audio, calibrationMs: 120, tempo: tempoOf("tempo.changed started, one bar ahead") });
  p.runTo(T + 401000);
  const rec = p.schedule.record();
  assert.ok(rec.length >= 2);
  for (const [i, r] of rec.entries()) {
    const shared = r.server_at - (T - 1000000);
    assert.equal(calls[calls.length - rec.length + i], shared - 120); // asked 120 ms earlier
    assert.ok(Math.abs(r.perf_at - (shared + 0.3)) < 1e-9); // heard when the output says, + 120
  }
});

test("a start from silence has a count-in bar on the shared beat, kept out of the record", () => {
  const tempo = tempoOf("tempo.changed started, one bar ahead");
  const ins = countInBetween(tempo, T + 397000, T + 397000, T + 400000);
  assert.deepEqual(ins.map((b) => [b.k, b.at - T]), [[-4, 397000], [-3, 397750], [-2, 398500], [-1, 399250]]);
  assert.ok(ins[0].downbeat);
  assert.deepEqual(countInBetween(tempo, T + 400000, T + 397000, T + 400000), []); // not once started
  const p = page({ offset: 0, tempo });
  p.runTo(T + 399300);
  assert.equal(p.schedule.record().length, 0);
  assert.equal(p.schedule.current().k, -1);
});

test("audio mapping: output timestamp when there is one, latencies otherwise", () => {
  const m = readMapping({ contextTime: 2, performanceTime: 5000, currentTime: 2.05, perfNow: 5060 });
  assert.deepEqual(m, { base: 3000, source: "output-timestamp" });
  assert.equal(contextTimeFor(m.base, 5500), 2.5);
  assert.equal(perfTimeFor(m.base, 2.5), 5500);
  const f = readMapping({ contextTime: 0, performanceTime: 0, currentTime: 1, perfNow: 4000, baseLatency: 0.01, outputLatency: 0.04 });
  assert.equal(f.source, "latency");
  assert.ok(Math.abs(f.base - 3050) < 1e-9); // heard 50 ms after it is rendered
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test("calibration: the median lateness of taps, misses left out", () => {
  const interval = 600;
  const clicks = Array.from({ length: 40 }, (_, i) => 1000 + i * interval);
  const taps = clicks.slice(2, 30).map((c, i) => c + 150 + ((i % 5) - 2) * 10); // 130..170
  taps.push(1000 + 10 * interval + 400); // a stray tap between two clicks
  const est = estimateLatency(clicks, taps, interval);
  assert.equal(est.latencyMs, 150);
  assert.equal(est.taps, 28);
  assert.ok(est.spreadMs <= 20);
  // Anticipation: taps a little before the click count as early, not as a beat late.
  assert.equal(estimateLatency(clicks, clicks.slice(0, 10).map((c) => c - 20), interval).latencyMs, -20);
  assert.equal(estimateLatency(clicks, taps.slice(0, MIN_TAPS - 1), interval), null);
});

test("a count-in bar before a phase or a turn, on the shared clock, only while the metronome is silent", async () => {
  const { countInBefore } = await import("../js/beats.js");
  const { nextStarts } = await import("../js/tempo-panel.js");
  const tempo = { bpm: 120, beats_per_bar: 3, running: false, started_at: null, first_beat: 0, effective_at: null, previous: null };
  const phaseAt = T + 60000;
  assert.deepEqual(countInBefore(phaseAt, tempo, T, T + 120000).map((b) => [b.k, b.at - T]), [[-3, 58500], [-2, 59000], [-1, 59500]]);
  assert.deepEqual(countInBefore(phaseAt, tempo, T + 59000, T + 59400).map((b) => b.k), [-2]);
  // Scheduled by the page when asked for, and identical on every page.
  const clicks = [];
  const audio = { on: true, read() {}, click(perf, o) { clicks.push([perf, o.soft]); return { perfAt: perf, node: {} }; }, cancel() {} };
  const p = page({ offset: 0, audio, tempo });
  p.schedule.boundaries = () => [phaseAt];
  p.runTo(T + 60000);
  assert.deepEqual(clicks.map(([perf, soft]) => [perf + (T - 1000000) - T, soft]), [[58500, true], [59000, true], [59500, true]]);
  assert.equal(p.schedule.record().length, 0); // not beats of the metronome
  // With the metronome sounding then, its own beat is the count.
  const running = { bpm: 120, beats_per_bar: 3, running: true, started_at: T - 2000000, first_beat: 0, effective_at: T - 2000000, previous: null };
  const q = page({ offset: 0, tempo: running });
  q.schedule.boundaries = () => [phaseAt];
  q.runTo(T + 60000);
  assert.equal(q.schedule.countIn.length, 0);
  // Which starts are known: the next phase (not after the last), a next turn when one waits.
  const st = {
    sprint: { state: "running", round: 1, rounds: 2, phases: [{}, {}], phase_index: 1 },
    timer: { state: "running", ends_at: phaseAt },
    turns: { ends_at: T + 30000, queue: ["m2"] },
  };
  assert.deepEqual(nextStarts(st), [phaseAt, T + 30000]);
  assert.deepEqual(nextStarts({ ...st, sprint: { ...st.sprint, round: 2 }, turns: { ends_at: null, queue: [] } }), []);
});
