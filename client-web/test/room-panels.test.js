import { test } from "node:test";
import assert from "node:assert/strict";
import { goalLine, resultText, RESULT_LABELS } from "../js/goals.js";
import { phaseSentence, sayChanges, sayNow, turnSentence } from "../js/announcements.js";

test("goals read as words: the result with its note, the line under a name", () => {
  assert.equal(resultText(undefined), "—");
  assert.equal(resultText({ text: "scales", result: null }), "—");
  assert.equal(resultText({ text: "scales", result: "partial", note: "the coda" }), "partly done: the coda");
  assert.equal(resultText({ text: "scales", result: "done", note: "" }), "done");
  assert.equal(goalLine(null), null);
  assert.equal(goalLine({ text: "" }), null);
  assert.equal(goalLine({ text: "scales", result: null }), "Goal: scales");
  assert.equal(goalLine({ text: "scales", result: "missed", note: "tired" }), "Goal: scales — missed: tired");
  assert.deepEqual(Object.keys(RESULT_LABELS), ["done", "partial", "missed"]);
});

function room({ sprint = {}, turns = {} } = {}) {
  return {
    me: { member_id: "m1", role: "participant" },
    members: { m1: { id: "m1", name: "Ana" }, m2: { id: "m2", name: "Bo" } }, names: {},
    sprint: { state: "idle", round: 1, rounds: 2, phase_index: 0,
      phases: [{ name: "Focus", kind: "focus", duration_ms: 1500000 }, { name: "Break", kind: "break", duration_ms: 300000 }], ...sprint },
    turns: { current: null, queue: [], ...turns },
  };
}

test("the page says what the sprint and the turn are doing, and only what changed", () => {
  const idle = room();
  assert.equal(sayNow(idle), "");
  const running = room({ sprint: { state: "running" }, turns: { current: "m2" } });
  assert.equal(phaseSentence(running), "Round 1 of 2: Focus, 25 minutes.");
  assert.equal(turnSentence(running), "Bo has the turn.");
  assert.equal(sayNow(running), "Round 1 of 2: Focus, 25 minutes. Bo has the turn.");
  assert.equal(turnSentence(room({ turns: { current: "m1" } })), "It's your turn.");
  assert.equal(sayChanges(running, running), "");
  assert.equal(sayChanges(running, room({ turns: { current: "m2" } })), "Sprint stopped.");
  const brk = room({ sprint: { state: "running", phase_index: 1 }, turns: { current: "m2" } });
  assert.equal(sayChanges(running, brk), "Round 1 of 2: Break, 5 minutes.");
  assert.equal(sayChanges(brk, room({ sprint: { state: "done" }, turns: { current: "m2" } })), "Sprint finished.");
  assert.equal(sayChanges(idle, room({ turns: { current: "m1" } })), "It's your turn.");
});
