// Turn-taking helpers. turns = {mode, queue, current, turn_ms, ends_at}.

/** ms left in the current turn, or null when turns have no limit / nobody holds one. */
export function turnRemainingMs(turns, serverNow) {
  if (!turns || turns.current == null || typeof turns.ends_at !== "number") return null;
  return Math.max(0, turns.ends_at - serverNow);
}

/** 0 when `id` holds the turn, n >= 1 for the n-th waiting, -1 otherwise. */
export function queuePosition(turns, id) {
  if (!turns) return -1;
  if (turns.current === id) return 0;
  const i = (turns.queue || []).indexOf(id);
  return i < 0 ? -1 : i + 1;
}

/** The queue with `id` moved by `delta` places (a new array; unchanged if out of range). */
export function moveInQueue(queue, id, delta) {
  const q = [...queue];
  const i = q.indexOf(id);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= q.length) return q;
  q.splice(i, 1);
  q.splice(j, 0, id);
  return q;
}
