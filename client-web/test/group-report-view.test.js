import { test } from "node:test";
import assert from "node:assert/strict";
import { anchorText, reactionsText, summary, summaryText } from "../js/group-report-view.js";

const report = {
  room: { id: "r_1", title: "Thursday strings", started_at: 0, ended_at: 45 * 60000, present: 3 },
  attendance: [{ name: "Mira" }, { name: "Ana" }],
  goals: [{ result: "done" }, { result: "partial" }, { result: null }],
  feedback: [{ comments: [{ text: "a" }] }, { comments: [{ text: "b" }, { text: "c" }] }, { comments: [] }],
};

test("the summary counts people present (guests too), minutes, goals done and comments", () => {
  assert.deepEqual(summary(report), { present: 3, minutes: 45, goals: 3, done: 1, comments: 3 });
  assert.equal(summaryText(report), "3 present · 45 min · 1/3 goals done · 3 comments");
  assert.equal(summaryText({ room: { started_at: 0, ended_at: 0, present: 1 }, feedback: [{ comments: [{}] }] }),
    "1 present · 0 min · 0/0 goals done · 1 comment");
});

test("reactions and anchors read as words", () => {
  assert.equal(reactionsText({ "👏": 3, "🎵": 1 }), "👏 × 3  🎵 × 1");
  assert.equal(reactionsText({}), "");
  assert.equal(anchorText({ round: 1, phase: "Focus", timer_ms: 600000, turn_of: null }), "round 1 · Focus · 10:00 in");
  assert.equal(anchorText({ round: null, phase: null, timer_ms: null, turn_of: null }), "");
  assert.equal(anchorText(undefined), "");
});
