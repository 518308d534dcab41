import { test } from "node:test";
import assert from "node:assert/strict";
import { remainingMs, elapsedMs, progress, formatMmss, spokenDuration } from "../js/timer.js";

const running = { state: "running", label: "", duration_ms: 60000, ends_at: 100000, remaining_ms: null };

test("running: remaining counts down from ends_at and never goes negative", () => {
  assert.equal(remainingMs(running, 40000), 60000);
  assert.equal(remainingMs(running, 99999), 1);
  assert.equal(remainingMs(running, 100000), 0);
  assert.equal(remainingMs(running, 250000), 0);
});

test("remaining uses the server offset: same client instant, shifted clocks agree", () => {
  const clientNow = 70000;
  const offsetA = 1234; // client A is 1234 ms behind the server
  const offsetB = -800;
  const a = remainingMs(running, clientNow + offsetA);
  assert.equal(a, 100000 - 71234);
  assert.equal(remainingMs(running, clientNow + offsetB), 30800);
});

test("paused and idle", () => {
  assert.equal(remainingMs({ state: "paused", duration_ms: 60000, remaining_ms: 12345 }, 1e12), 12345);
  assert.equal(remainingMs({ state: "paused", duration_ms: 60000, remaining_ms: -5 }, 0), 0);
  assert.equal(remainingMs({ state: "idle", duration_ms: 300000 }, 0), 300000);
  assert.equal(remainingMs(null, 0), 0);
  assert.equal(remainingMs({ state: "running", ends_at: null }, 0), 0);
});

test("elapsed and progress", () => {
  assert.equal(elapsedMs(running, 70000), 30000);
  assert.equal(elapsedMs({ state: "idle", duration_ms: 5 }, 0), null);
  assert.equal(progress(running, 70000), 0.5);
  assert.equal(progress(running, 200000), 1);
  assert.equal(progress({ state: "idle" }, 0), 0);
});

test("mm:ss rounds seconds up and does not wrap minutes", () => {
  assert.equal(formatMmss(25 * 60000), "25:00");
  assert.equal(formatMmss(25 * 60000 - 1), "25:00");
  assert.equal(formatMmss(24 * 60000 + 59000), "24:59");
  assert.equal(formatMmss(1), "00:01");
  assert.equal(formatMmss(0), "00:00");
  assert.equal(formatMmss(-500), "00:00");
  assert.equal(formatMmss(90 * 60000), "90:00");
  assert.equal(formatMmss(NaN), "00:00");
});

test("spoken durations", () => {
  assert.equal(spokenDuration(61000), "1 minute 1 second");
  assert.equal(spokenDuration(120000), "2 minutes");
  assert.equal(spokenDuration(0), "0 seconds");
});
