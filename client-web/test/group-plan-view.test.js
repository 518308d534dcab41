import { test } from "node:test";
import assert from "node:assert/strict";
import { durationText, phaseLines, roundsText, scheduleText } from "../js/group-plan-view.js";

test("a phase's length reads in minutes and seconds", () => {
  assert.equal(durationText(25 * 60000), "25 min");
  assert.equal(durationText(45000), "45 s");
  assert.equal(durationText(90000), "1 min 30 s");
});

test("a program reads as its phases (kinds in words) and its rounds", () => {
  const program = {
    phases: [{ name: "Tune", kind: "checkin", duration_ms: 120000 }, { name: "<b>Etudes</b>", kind: "focus", duration_ms: 900000 }],
    rounds: 2,
  };
  assert.deepEqual(phaseLines(program), [
    { name: "Tune", kind: "Check-in", duration: "2 min" },
    { name: "<b>Etudes</b>", kind: "Focus", duration: "15 min" },
  ]);
  assert.equal(roundsText(program), "2 rounds · 34 min in all");
  assert.equal(roundsText({ phases: program.phases }), "1 round · 17 min");
});

test("a schedule reads as its days in week order, time and zone", () => {
  assert.equal(scheduleText({ days: ["fri", "tue"], time: "07:15", tz: "America/New_York" }), "Tue, Fri at 07:15 (America/New_York)");
  assert.equal(scheduleText(null), "No weekly schedule.");
});
