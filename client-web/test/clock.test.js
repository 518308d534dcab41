import { test } from "node:test";
import assert from "node:assert/strict";
import { ClockEstimator, sampleFrom, bestSample, formatSync } from "../js/clock.js";

test("one sample: offset from the midpoint, error is half the round trip", () => {
  // client sends at 1000, server stamps 5010, client receives at 1020
  const s = sampleFrom(1000, 1020, 5010);
  assert.equal(s.rtt, 20);
  assert.equal(s.offset, 5010 - 1010);
  assert.equal(s.error, 10);
});

test("the estimator picks the sample with the smallest round trip", () => {
  const c = new ClockEstimator(5);
  assert.equal(c.ready, false);
  assert.equal(c.offset, 0);
  assert.equal(c.error, Infinity);
  c.add(0, 100, 4070); // rtt 100, offset 4020
  c.add(200, 204, 4203); // rtt 4, offset 4001
  c.add(300, 340, 4330); // rtt 40, offset 4010
  assert.equal(c.ready, true);
  assert.equal(c.offset, 4001);
  assert.equal(c.error, 2);
  assert.equal(c.serverNow(1000), 5001);
});

test("the estimator keeps only the last N samples", () => {
  const c = new ClockEstimator(2);
  c.add(0, 2, 101); // best, rtt 2, offset 100
  c.add(10, 30, 130); // rtt 20
  c.add(40, 60, 160); // rtt 20 -> first one falls out
  assert.equal(c.samples.length, 2);
  assert.equal(c.best().rtt, 20);
});

test("answers received before they were sent are ignored", () => {
  const c = new ClockEstimator();
  assert.equal(c.add(100, 50, 1000), null);
  assert.equal(c.ready, false);
});

test("bestSample of an empty list is null", () => {
  assert.equal(bestSample([]), null);
  assert.equal(bestSample([sampleFrom(0, 8, 0), sampleFrom(0, 2, 0)]).rtt, 2);
});

test("sync quality reads offset ± error", () => {
  assert.equal(formatSync(12.4, 0.6), "offset +12 ± 1 ms");
  assert.equal(formatSync(-7, 3), "offset −7 ± 3 ms");
  assert.equal(formatSync(0, Infinity), "not synced yet");
});
