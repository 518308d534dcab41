// Goals as words, wherever they are shown (the room, its report, the history).

export const RESULT_LABELS = { done: "done", partial: "partly done", missed: "missed" };

/** A result with its note: "partly done: the coda", or "—" before check-out. */
export function resultText(goal) {
  if (!goal?.result) return "—";
  return `${RESULT_LABELS[goal.result] || goal.result}${goal.note ? `: ${goal.note}` : ""}`;
}

/** The line under a member's name: "Goal: …", with its result once checked; null without a goal. */
export function goalLine(goal) {
  if (!goal || !goal.text) return null;
  return `Goal: ${goal.text}${goal.result ? ` — ${resultText(goal)}` : ""}`;
}
