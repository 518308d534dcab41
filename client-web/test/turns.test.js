import { test } from "node:test";
import assert from "node:assert/strict";
import { turnRemainingMs, queuePosition, moveInQueue } from "../js/turns.js";

test("turn countdown from ends_at, never negative, null without a limit", () => {
  const turns = { mode: "queue", queue: ["b"], current: "a", turn_ms: 30000, ends_at: 50000 };
  assert.equal(turnRemainingMs(turns, 20000), 30000);
  assert.equal(turnRemainingMs(turns, 60000), 0);
  assert.equal(turnRemainingMs({ ...turns, ends_at: null }, 0), null);
  assert.equal(turnRemainingMs({ ...turns, current: null }, 0), null);
  assert.equal(turnRemainingMs(null, 0), null);
});

test("queue positions", () => {
  const turns = { queue: ["b", "c"], current: "a" };
  assert.equal(queuePosition(turns, "a"), 0);
  assert.equal(queuePosition(turns, "c"), 2);
  assert.equal(queuePosition(turns, "z"), -1);
});

test("moving in the queue", () => {
  assert.deepEqual(moveInQueue(["a", "b", "c"], "c", -1), ["a", "c", "b"]);
  assert.deepEqual(moveInQueue(["a", "b", "c"], "a", 1), ["b", "a", "c"]);
  assert.deepEqual(moveInQueue(["a", "b", "c"], "a", -1), ["a", "b", "c"]);
  assert.deepEqual(moveInQueue(["a"], "z", 1), ["a"]);
});
