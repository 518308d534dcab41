// Shared metronome math. tempo = {bpm, beats_per_bar, running, started_at}.
// Beat k (k >= 0) sounds at started_at + k * 60000 / bpm; it is a downbeat
// when k % beats_per_bar === 0.

export function beatIntervalMs(tempo) {
  return 60000 / tempo.bpm;
}

export function beatTime(tempo, k) {
  return tempo.started_at + (k * 60000) / tempo.bpm;
}

export function isDownbeat(tempo, k) {
  return k % Math.max(1, tempo.beats_per_bar) === 0;
}

function active(tempo) {
  return !!tempo && tempo.running && typeof tempo.started_at === "number" && tempo.bpm > 0;
}

/**
 * The beat sounding at `serverNow` (the latest beat at or before it), or
 * null when the tempo is stopped or has not started yet.
 * Returns {k, at, beatInBar (0-based), downbeat, phase (0..1 to the next beat)}.
 */
export function currentBeat(tempo, serverNow) {
  if (!active(tempo) || serverNow < tempo.started_at) return null;
  const interval = beatIntervalMs(tempo);
  const k = Math.floor((serverNow - tempo.started_at) / interval);
  const at = beatTime(tempo, k);
  const bpb = Math.max(1, tempo.beats_per_bar);
  return { k, at, beatInBar: k % bpb, downbeat: k % bpb === 0, phase: (serverNow - at) / interval };
}

/**
 * The beats with server times in [from, to), in order:
 * [{k, at, downbeat, beatInBar}]. Empty when stopped.
 */
export function beatsBetween(tempo, from, to) {
  if (!active(tempo) || to <= from) return [];
  const interval = beatIntervalMs(tempo);
  const bpb = Math.max(1, tempo.beats_per_bar);
  let k = Math.max(0, Math.ceil((from - tempo.started_at) / interval));
  // Guard against float rounding putting beat k just before `from`.
  while (beatTime(tempo, k) < from) k++;
  const out = [];
  for (;; k++) {
    const at = beatTime(tempo, k);
    if (at >= to) break;
    out.push({ k, at, downbeat: k % bpb === 0, beatInBar: k % bpb });
  }
  return out;
}

/** The next `n` beats at or after `serverNow`. */
export function nextBeats(tempo, serverNow, n) {
  if (!active(tempo) || n <= 0) return [];
  const interval = beatIntervalMs(tempo);
  return beatsBetween(tempo, serverNow, serverNow + interval * n + 1).slice(0, n);
}
