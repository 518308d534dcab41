// What the room page says aloud (aria-live) when the sprint or the turn
// changes. Pure: state in, a sentence (or "") out.

import { currentPhase, nameOf } from "./state.js";
import { spokenDuration } from "./timer.js";

export function phaseSentence(s) {
  const sp = s.sprint;
  if (sp.state === "done") return "Sprint finished.";
  const ph = currentPhase(s);
  if (!ph) return "No sprint running.";
  return `Round ${sp.round} of ${sp.rounds}: ${ph.name}, ${spokenDuration(ph.duration_ms)}.`;
}

export function turnSentence(s) {
  const cur = s.turns.current;
  if (cur == null) return "Nobody has the turn.";
  if (cur === s.me.member_id) return "It's your turn.";
  return `${nameOf(s, cur)} has the turn.`;
}

/** On joining: what is going on now ("" when nothing is). */
export function sayNow(s) {
  const parts = [];
  if (s.sprint.state === "running") parts.push(phaseSentence(s));
  if (s.turns.current != null) parts.push(turnSentence(s));
  return parts.join(" ");
}

/** From state `a` to `b`: what changed in the sprint and the turn ("" when nothing did). */
export function sayChanges(a, b) {
  const parts = [];
  if (a.sprint.state !== b.sprint.state || a.sprint.round !== b.sprint.round || a.sprint.phase_index !== b.sprint.phase_index) {
    parts.push(b.sprint.state === "idle" && a.sprint.state === "running" ? "Sprint stopped." : phaseSentence(b));
  }
  if (a.turns.current !== b.turns.current) parts.push(turnSentence(b));
  return parts.join(" ");
}
