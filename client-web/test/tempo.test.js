import { test } from "node:test";
import assert from "node:assert/strict";
import { beatIntervalMs, beatTime, isDownbeat, currentBeat, beatsBetween, nextBeats } from "../js/tempo.js";

const t = { bpm: 120, beats_per_bar: 4, running: true, started_at: 10000 };

test("beat k sounds at started_at + k * 60000 / bpm", () => {
  assert.equal(beatIntervalMs(t), 500);
  assert.equal(beatTime(t, 0), 10000);
  assert.equal(beatTime(t, 7), 13500);
  assert.ok(isDownbeat(t, 0));
  assert.ok(isDownbeat(t, 8));
  assert.ok(!isDownbeat(t, 3));
});

test("current beat: index, place in bar, phase", () => {
  assert.equal(currentBeat(t, 9999), null);
  assert.deepEqual(currentBeat(t, 10000), { k: 0, at: 10000, beatInBar: 0, downbeat: true, phase: 0 });
  const b = currentBeat(t, 11750);
  assert.equal(b.k, 3);
  assert.equal(b.beatInBar, 3);
  assert.equal(b.downbeat, false);
  assert.equal(b.phase, 0.5);
  assert.equal(currentBeat({ ...t, running: false }, 11750), null);
});

test("beats between two server times, half-open", () => {
  const beats = beatsBetween(t, 10500, 12000);
  assert.deepEqual(beats.map((b) => b.k), [1, 2, 3]);
  assert.deepEqual(beats.map((b) => b.at), [10500, 11000, 11500]);
  assert.deepEqual(beatsBetween(t, 0, 10001).map((b) => b.k), [0]);
  assert.deepEqual(beatsBetween(t, 12000, 12000), []);
});

test("next beats mark the downbeats", () => {
  const beats = nextBeats(t, 11600, 4);
  assert.deepEqual(beats.map((b) => b.k), [4, 5, 6, 7]);
  assert.deepEqual(beats.map((b) => b.downbeat), [true, false, false, false]);
  assert.deepEqual(nextBeats({ ...t, running: false }, 0, 4), []);
});

test("odd tempos do not lose or repeat beats to rounding", () => {
  const odd = { bpm: 97, beats_per_bar: 3, running: true, started_at: 1_763_980_000_000 };
  const ks = [];
  let from = odd.started_at;
  for (let i = 0; i < 200; i++) {
    const to = from + 37;
    for (const b of beatsBetween(odd, from, to)) ks.push(b.k);
    from = to;
  }
  assert.deepEqual(ks, [...Array(ks.length).keys()]);
  assert.ok(ks.length >= 11);
});
