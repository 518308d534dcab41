import { test } from "node:test";
import assert from "node:assert/strict";
import { groupRequest } from "../js/group-form.js";
import { groupLine } from "../js/public-groups.js";
import { choiceFor, presetById } from "../js/presets.js";

test("a group without program or schedule sends its trimmed name and visibility", () => {
  assert.deepEqual(groupRequest({ name: "  Thursday strings ", visibility: "invite", days: [], time: "", tz: "Europe/Paris" }),
    { name: "Thursday strings", visibility: "invite" });
});

test("a program and a schedule go as the API wants them; days in week order", () => {
  const program = presetById("15-3x3").program;
  const body = groupRequest({ name: "Scales", visibility: "public", program, days: ["thu", "mon"], time: "18:30", tz: " America/New_York " });
  assert.deepEqual(body, {
    name: "Scales", visibility: "public", program,
    schedule: { days: ["mon", "thu"], time: "18:30", tz: "America/New_York" },
  });
  assert.equal(groupRequest({ name: "x", visibility: "public", days: ["sun"], time: "07:05", tz: "" }).schedule.tz, "UTC");
});

test("what is missing is said in words", () => {
  assert.throws(() => groupRequest({ name: "  ", visibility: "public" }), /Give the group a name/);
  assert.throws(() => groupRequest({ name: "a", visibility: "secret" }), /who can find/);
  assert.throws(() => groupRequest({ name: "a", visibility: "public", days: ["mon"], time: "" }), /time the group meets/);
  assert.throws(() => groupRequest({ name: "a", visibility: "public", days: ["mon"], time: "24:00" }), /time the group meets/);
  assert.throws(() => groupRequest({ name: "a", visibility: "public", days: [], time: "10:00" }), /Pick the days/);
});

test("a public group's line: members and the next session, or no schedule", () => {
  assert.equal(groupLine({ members: 1, next_session_at: null }), "1 member · no schedule");
  assert.equal(groupLine({ members: 3, next_session_at: 5 }, (ms) => `at ${ms}`), "3 members · next session: at 5");
});

test("an edit sends every setting: no program or no schedule clears it", () => {
  assert.deepEqual(groupRequest({ name: "Scales", visibility: "invite", days: [], time: "" }, { edit: true }),
    { name: "Scales", visibility: "invite", program: null, schedule: null });
  const program = presetById("25-5x4").program;
  const body = groupRequest({ name: "Scales", visibility: "public", program, days: ["sat"], time: "09:00", tz: "UTC" }, { edit: true });
  assert.deepEqual(body, { name: "Scales", visibility: "public", program, schedule: { days: ["sat"], time: "09:00", tz: "UTC" } });
});

test("the program chooser shows a preset as itself, anything else as custom", () => {
  assert.equal(choiceFor(null), "none");
  assert.equal(choiceFor(structuredClone(presetById("50-10x2").program)), "50-10x2");
  assert.equal(choiceFor({ ...presetById("50-10x2").program, rounds: 2 }), "custom");
  assert.equal(choiceFor({ phases: [{ name: "Focus", kind: "focus", duration_ms: 60000 }], rounds: 1 }), "custom");
});
