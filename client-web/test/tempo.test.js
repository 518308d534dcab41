import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beatIntervalMs, beatTime, isDownbeat, currentBeat, beatsBetween, nextBeats, gridAt, pendingChange } from "../js/tempo.js";

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
  assert.deepEqual(currentBeat(t, 10000), { k: 0, at: 10000, beatInBar: 0, downbeat: true, bpm: 120, beats_per_bar: 4, phase: 0 });
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

// The protocol's own story (protocol/vectors/source.py): 80 bpm in 4 from
// T + 400000, then 96 in 3 announced at T + 650000 for the bar line of beat
// 340 at T + 655000, then stopped at T + 700000 from T + 701875.
const vectors = JSON.parse(readFileSync(fileURLToPath(new URL("../../protocol/vectors/vectors.json", import.meta.url)), "utf8"));
const tempoOf = (name) => vectors.find((v) => v.name === name).json.tempo;
const T = 1764000000000;

test("an announced change keeps the old grid to its bar line, then the same k goes on", () => {
  const tempo = tempoOf("tempo.changed new tempo on the next bar line");
  const beats = beatsBetween(tempo, T + 653000, T + 657000);
  assert.deepEqual(beats.map((b) => b.k), [338, 339, 340, 341, 342, 343]);
  assert.deepEqual(beats.map((b) => b.at - T), [653500, 654250, 655000, 655625, 656250, 656875]);
  assert.deepEqual(beats.map((b) => b.bpm), [80, 80, 96, 96, 96, 96]);
  assert.deepEqual(beats.map((b) => b.beatInBar), [2, 3, 0, 1, 2, 0]);
  assert.equal(gridAt(tempo, T + 654999).bpm, 80);
  assert.equal(gridAt(tempo, T + 655000).bpm, 96);
  assert.deepEqual(pendingChange(tempo, T + 650000), { at: T + 655000, running: true, bpm: 96, beats_per_bar: 3, first_beat: 340 });
  assert.equal(pendingChange(tempo, T + 655000), null);
  assert.equal(currentBeat(tempo, T + 655700).k, 341);
});

test("a stop lets the last bar finish; a start is silent until its first beat", () => {
  const stopped = tempoOf("tempo.changed stopping at a bar line");
  const beats = beatsBetween(stopped, T + 700000, T + 710000);
  assert.deepEqual(beats.map((b) => b.k), [412, 413, 414]);
  assert.equal(beats.at(-1).at, T + 701250);
  assert.equal(currentBeat(stopped, T + 701875), null);
  const started = tempoOf("tempo.changed started, one bar ahead");
  assert.equal(currentBeat(started, T + 399999), null);
  assert.deepEqual(nextBeats(started, T + 397000, 2).map((b) => [b.k, b.at - T]), [[0, 400000], [1, 400750]]);
});

test("beat indices never repeat or skip across a change, scheduled in small slices", () => {
  const tempo = tempoOf("tempo.changed new tempo on the next bar line");
  const ks = [];
  for (let from = T + 640000; from < T + 670000; from += 37) {
    for (const b of beatsBetween(tempo, from, from + 37)) ks.push(b.k);
  }
  assert.equal(ks[0], 320);
  assert.deepEqual(ks, ks.map((_, i) => 320 + i));
});
