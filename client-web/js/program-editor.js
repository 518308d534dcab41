// An editable list of sprint phases (name, kind, minutes) and a round count.
// Durations are entered in minutes; decimals allowed (0.5 = 30 s).

import { el } from "./dom.js";
import { KIND_LABELS, PHASE_KINDS, PRESETS, choiceFor, presetById } from "./presets.js";

let uid = 0;

export function programEditor({ idPrefix = "prog", initial } = {}) {
  const prefix = `${idPrefix}-${++uid}`;
  const rows = el("ol", { class: "phase-rows" });
  const roundsInput = el("input", { type: "number", id: `${prefix}-rounds`, min: 1, max: 20, step: 1, value: String(initial?.rounds ?? 1), required: true });
  let n = 0;

  function addRow(phase = { name: "Focus", kind: "focus", duration_ms: 25 * 60000 }) {
    const i = ++n;
    const nameId = `${prefix}-name-${i}`;
    const kindId = `${prefix}-kind-${i}`;
    const minId = `${prefix}-min-${i}`;
    const kind = el("select", { id: kindId, class: "phase-kind" },
      PHASE_KINDS.map((k) => el("option", { value: k, selected: k === phase.kind }, KIND_LABELS[k])));
    const row = el("li", { class: "phase-row" },
      el("label", { for: nameId }, "Phase"),
      el("input", { id: nameId, class: "phase-name", type: "text", maxlength: 40, required: true, value: phase.name }),
      el("label", { for: kindId }, "Kind"),
      kind,
      el("label", { for: minId }, "Minutes"),
      el("input", { id: minId, class: "phase-min", type: "number", min: 0.05, step: "any", required: true, value: String(+(phase.duration_ms / 60000).toFixed(3)) }),
      el("button", { type: "button", class: "small", "aria-label": `Remove phase ${i}`, onclick: () => { if (rows.children.length > 1) row.remove(); } }, "Remove"),
    );
    rows.append(row);
  }

  for (const p of initial?.phases || [
    { name: "Check-in", kind: "checkin", duration_ms: 3 * 60000 },
    { name: "Focus", kind: "focus", duration_ms: 25 * 60000 },
    { name: "Break", kind: "break", duration_ms: 5 * 60000 },
    { name: "Check-out", kind: "checkout", duration_ms: 3 * 60000 },
  ]) addRow(p);

  const element = el("div", { class: "program-editor" },
    rows,
    el("div", { class: "row" },
      el("button", { type: "button", class: "small", onclick: () => addRow() }, "Add phase"),
      el("label", { for: roundsInput.id }, "Rounds"),
      roundsInput),
  );

  /** {phases, rounds} or throws an Error saying what is wrong. */
  function getProgram() {
    const phases = [...rows.children].map((row, idx) => {
      const name = row.querySelector(".phase-name").value.trim();
      const kind = row.querySelector(".phase-kind").value;
      const minutes = Number(row.querySelector(".phase-min").value);
      if (!name) throw new Error(`phase ${idx + 1} needs a name`);
      if (!(minutes > 0)) throw new Error(`phase ${idx + 1} needs a positive number of minutes`);
      return { name, kind, duration_ms: Math.round(minutes * 60000) };
    });
    const rounds = Math.round(Number(roundsInput.value));
    if (!(rounds >= 1 && rounds <= 20)) throw new Error("rounds must be 1 to 20");
    return { phases, rounds };
  }

  return { element, getProgram };
}

/**
 * A program chooser (the home page's room form, the group form): `select`
 * offers the presets, "Custom program…" and "No program"; the custom editor
 * shows in `box` while chosen. `program()` is the chosen program, or null
 * for none; a custom one the editor refuses throws "Program: …". With an
 * `initial` program (or null: none), that one is chosen (in the editor
 * unless it is a preset); without, the first preset.
 */
export function programChooser({ select, box, idPrefix, initial }) {
  const choice = initial === undefined ? null : choiceFor(initial);
  const editor = programEditor({ idPrefix, initial: choice === "custom" ? initial : undefined });
  box.append(editor.element);
  for (const p of PRESETS) select.append(el("option", { value: p.id }, p.label));
  select.append(el("option", { value: "custom" }, "Custom program…"));
  select.append(el("option", { value: "none" }, "No program (timer only)"));
  const shown = () => {
    box.hidden = select.value !== "custom";
  };
  if (choice) select.value = choice;
  shown();
  select.addEventListener("change", shown);
  return {
    program() {
      if (select.value === "none") return null;
      if (select.value !== "custom") return presetById(select.value).program;
      try {
        return editor.getProgram();
      } catch (err) {
        throw new Error(`Program: ${err.message}.`);
      }
    },
  };
}
