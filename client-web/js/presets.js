// Sprint presets. The server repeats a program's phases for each round, so a
// preset that checks in once and out once spells its rounds out as phases.

const MIN = 60000;

function classic(focusMin, breakMin, rounds) {
  const phases = [{ name: "Check-in", kind: "checkin", duration_ms: 3 * MIN }];
  for (let r = 1; r <= rounds; r++) {
    phases.push({ name: `Focus ${r}`, kind: "focus", duration_ms: focusMin * MIN });
    if (r < rounds) phases.push({ name: `Break ${r}`, kind: "break", duration_ms: breakMin * MIN });
  }
  phases.push({ name: "Check-out", kind: "checkout", duration_ms: 3 * MIN });
  return { phases, rounds: 1 };
}

export const PRESETS = [
  { id: "25-5x4", label: "25/5 × 4 (check-in, 4 × 25 min focus, 5 min breaks, check-out)", program: classic(25, 5, 4) },
  { id: "50-10x2", label: "50/10 × 2 (check-in, 2 × 50 min focus, 10 min break, check-out)", program: classic(50, 10, 2) },
  { id: "15-3x3", label: "15/3 × 3 (check-in, 3 × 15 min focus, 3 min breaks, check-out)", program: classic(15, 3, 3) },
];

export const PHASE_KINDS = ["checkin", "focus", "break", "checkout"];
export const KIND_LABELS = { checkin: "Check-in", focus: "Focus", break: "Break", checkout: "Check-out" };

export function presetById(id) {
  return PRESETS.find((p) => p.id === id) || null;
}

function samePhases(a, b) {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && p.kind === b[i].kind && p.duration_ms === b[i].duration_ms);
}

/**
 * What a program chooser shows for `program`: "none" for no program, the id
 * of the preset it is, or "custom".
 */
export function choiceFor(program) {
  if (!program) return "none";
  const preset = PRESETS.find((p) => (p.program.rounds || 1) === (program.rounds || 1) && samePhases(p.program.phases, program.phases));
  return preset ? preset.id : "custom";
}

/** Total length of a program in ms. */
export function programLength(program) {
  return program.phases.reduce((a, p) => a + p.duration_ms, 0) * (program.rounds || 1);
}
