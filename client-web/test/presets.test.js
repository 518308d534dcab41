import { test } from "node:test";
import assert from "node:assert/strict";
import { PRESETS, presetById, programLength, PHASE_KINDS } from "../js/presets.js";

test("the 25/5 × 4 preset checks in once, focuses four times, breaks between, checks out once", () => {
  const { program } = presetById("25-5x4");
  assert.equal(program.rounds, 1);
  assert.deepEqual(program.phases.map((p) => p.kind), [
    "checkin", "focus", "break", "focus", "break", "focus", "break", "focus", "checkout",
  ]);
  assert.equal(program.phases.filter((p) => p.kind === "focus").every((p) => p.duration_ms === 25 * 60000), true);
  assert.equal(programLength(program), (3 + 4 * 25 + 3 * 5 + 3) * 60000);
});

test("every preset is a valid program for the server", () => {
  for (const { id, program } of PRESETS) {
    assert.ok(program.phases.length >= 1 && program.phases.length <= 20, id);
    assert.ok(program.rounds >= 1 && program.rounds <= 20, id);
    for (const p of program.phases) {
      assert.ok(PHASE_KINDS.includes(p.kind), `${id}: ${p.kind}`);
      assert.ok(Number.isInteger(p.duration_ms) && p.duration_ms > 0, id);
      assert.ok(p.name.length >= 1 && p.name.length <= 40, id);
    }
  }
  assert.equal(presetById("nope"), null);
});
