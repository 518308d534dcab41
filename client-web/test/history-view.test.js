import { test } from "node:test";
import assert from "node:assert/strict";
import { calendarDays, dayKey, goalsKept, groupStreakText, practiceDays } from "../js/history-view.js";

test("practice days are the local days of sessions with focus time", () => {
  const at = (y, m, d, h) => new Date(y, m - 1, d, h).getTime();
  const days = practiceDays([
    { started_at: at(2026, 3, 9, 20), focus_ms: 60000 },
    { started_at: at(2026, 3, 9, 21), focus_ms: 1 },
    { started_at: at(2026, 3, 10, 8), focus_ms: 0 },
  ]);
  assert.deepEqual([...days], ["2026-03-09"]);
  assert.equal(dayKey(at(2026, 1, 2, 0)), "2026-01-02");
});

test("the calendar is 12 whole weeks, Monday first, ending with this week", () => {
  const now = new Date(2026, 2, 25, 15).getTime(); // a Wednesday
  const days = calendarDays(now);
  assert.equal(days.length, 84);
  assert.equal(days[0].date.getDay(), 1); // Monday
  assert.equal(days.at(-1).date.getDay(), 0); // Sunday
  assert.equal(days.filter((d) => d.future).length, 4); // Thu..Sun
  assert.equal(new Set(days.map((d) => d.key)).size, 84); // DST never doubles a day
  assert.ok(days.some((d) => d.key === "2026-03-25" && !d.future));
});

test("a group streak reads as meetings with a schedule, as group days without", () => {
  assert.equal(groupStreakText({ count: 3, best: 5 }, true), "3 meetings in a row (best 5)");
  assert.equal(groupStreakText({ count: 1, best: 1 }, true), "1 meeting in a row (best 1)");
  assert.equal(groupStreakText({ count: 2, best: 2 }, false), "2 group days in a row (best 2)");
  assert.equal(groupStreakText({ count: 0, best: 4 }, false), "0 group days in a row (best 4)");
});

test("the goals kept ratio is shown as the server computed it", () => {
  assert.equal(goalsKept(null), "—");
  assert.equal(goalsKept(0.8076923), "81%");
  assert.equal(goalsKept(1), "100%");
});
