// A group's plan as people read it on the group page: the sprint program its
// sessions run (phases with their kind and length, rounds) and its weekly
// schedule. Pure helpers first (node-tested), then DOM built with el() only.

import { el } from "./dom.js";
import { KIND_LABELS, programLength } from "./presets.js";
import { DAY_LABELS, WEEKDAYS } from "./group-form.js";

/** A phase's length: "25 min", "45 s", "1 min 30 s". */
export function durationText(ms) {
  const seconds = Math.round(ms / 1000);
  const min = Math.floor(seconds / 60);
  const sec = seconds % 60;
  if (!min) return `${sec} s`;
  return sec ? `${min} min ${sec} s` : `${min} min`;
}

/** Each phase as {name, kind, duration} texts. */
export function phaseLines(program) {
  return program.phases.map((p) => ({ name: p.name, kind: KIND_LABELS[p.kind] || p.kind, duration: durationText(p.duration_ms) }));
}

/** "1 round · 34 min" or "2 rounds · 68 min in all". */
export function roundsText(program) {
  const rounds = program.rounds || 1;
  const total = durationText(programLength(program));
  return rounds === 1 ? `1 round · ${total}` : `${rounds} rounds · ${total} in all`;
}

/** "Tue, Fri at 07:15 (America/New_York)", or that there is none. */
export function scheduleText(schedule) {
  if (!schedule?.days?.length) return "No weekly schedule.";
  const days = WEEKDAYS.filter((d) => schedule.days.includes(d)).map((d) => DAY_LABELS[d]);
  return `${days.join(", ")} at ${schedule.time} (${schedule.tz || "UTC"})`;
}

/** The program as a list of phases and a line of rounds, or that there is none. */
export function programView(program) {
  if (!program) return [el("p", { class: "muted" }, "No program: sessions run the timer only.")];
  return [
    el("ol", { class: "plan-phases" }, phaseLines(program).map((p) => el("li", { class: "plan-phase" },
      el("span", { class: "plan-phase-name" }, p.name), ` · ${p.kind} · ${p.duration}`))),
    el("p", { class: "muted plan-rounds" }, roundsText(program)),
  ];
}
