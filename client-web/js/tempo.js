// Shared metronome math (pure). The tempo object (protocol/PROTOCOL.md,
// "tempo") describes a beat grid: beat `first_beat` sounds at `started_at`,
// beat k at started_at + (k - first_beat) * 60000 / bpm, a downbeat when
// (k - first_beat) % beats_per_bar === 0. Before `effective_at` the grid in
// `previous` sounds (or silence when it is null), so an announced change that
// is not yet due is already known: every page switches on the same beat k.

export function beatIntervalMs(grid) {
  return 60000 / grid.bpm;
}

export function barMs(grid) {
  return Math.max(1, grid.beats_per_bar) * beatIntervalMs(grid);
}

/** Server time of beat k on `grid` (k counted from the metronome's start). */
export function beatTime(grid, k) {
  return grid.started_at + ((k - (grid.first_beat || 0)) * 60000) / grid.bpm;
}

export function beatInBar(grid, k) {
  const bpb = Math.max(1, grid.beats_per_bar);
  return (((k - (grid.first_beat || 0)) % bpb) + bpb) % bpb;
}

export function isDownbeat(grid, k) {
  return beatInBar(grid, k) === 0;
}

function runningGrid(tempo) {
  if (!tempo || !tempo.running || typeof tempo.started_at !== "number" || !(tempo.bpm > 0)) return null;
  return { bpm: tempo.bpm, beats_per_bar: tempo.beats_per_bar, started_at: tempo.started_at, first_beat: tempo.first_beat || 0 };
}

/** Until when `previous` sounds (-Infinity when it does not). */
function switchAt(tempo) {
  return tempo && tempo.previous && typeof tempo.effective_at === "number" ? tempo.effective_at : -Infinity;
}

/** The grid sounding at server time t, or null (silence). */
export function gridAt(tempo, t) {
  if (!tempo) return null;
  if (t < switchAt(tempo)) return tempo.previous;
  const g = runningGrid(tempo);
  return g && t >= g.started_at ? g : null;
}

/** An announced change not yet due at `now`: {at, running, bpm, beats_per_bar, first_beat}, or null. */
export function pendingChange(tempo, now) {
  if (!tempo || typeof tempo.effective_at !== "number" || tempo.effective_at <= now) return null;
  return { at: tempo.effective_at, running: !!tempo.running, bpm: tempo.bpm, beats_per_bar: tempo.beats_per_bar, first_beat: tempo.first_beat || 0 };
}

function describe(grid, k) {
  const inBar = beatInBar(grid, k);
  return { k, at: beatTime(grid, k), beatInBar: inBar, downbeat: inBar === 0, bpm: grid.bpm, beats_per_bar: grid.beats_per_bar };
}

/**
 * The beat sounding at `serverNow` (the latest beat at or before it), or
 * null in silence. {k, at, beatInBar (0-based), downbeat, bpm, beats_per_bar,
 * phase (0..1 to the next beat)}.
 */
export function currentBeat(tempo, serverNow) {
  const grid = gridAt(tempo, serverNow);
  if (!grid) return null;
  const interval = beatIntervalMs(grid);
  let k = (grid.first_beat || 0) + Math.floor((serverNow - grid.started_at) / interval);
  if (beatTime(grid, k) > serverNow) k -= 1; // float rounding
  const b = describe(grid, k);
  return { ...b, phase: (serverNow - b.at) / interval };
}

function gridBeats(grid, from, to, out) {
  if (!grid || to <= from) return;
  const interval = beatIntervalMs(grid);
  const first = grid.first_beat || 0;
  let k = Math.max(first, first + Math.ceil((from - grid.started_at) / interval));
  while (beatTime(grid, k) < from) k++;
  if (k > first && beatTime(grid, k - 1) >= from) k--;
  for (;; k++) {
    const at = beatTime(grid, k);
    if (at >= to) break;
    out.push(describe(grid, k));
  }
}

/**
 * The beats with server times in [from, to), in order, across an announced
 * change: [{k, at, downbeat, beatInBar, bpm, beats_per_bar}].
 */
export function beatsBetween(tempo, from, to) {
  const out = [];
  if (!tempo || to <= from) return out;
  const cut = switchAt(tempo);
  if (from < cut) gridBeats(tempo.previous, from, Math.min(to, cut), out);
  gridBeats(runningGrid(tempo), Math.max(from, cut), to, out);
  return out;
}

/** The next `n` beats at or after `serverNow`. */
export function nextBeats(tempo, serverNow, n) {
  if (n <= 0) return [];
  const out = [];
  let from = serverNow;
  // A bar of the slowest tempo (20 bpm, 16 beats) is 48 s: look far enough.
  for (let i = 0; i < 8 && out.length < n; i++) {
    const to = from + 60000;
    out.push(...beatsBetween(tempo, from, to));
    from = to;
  }
  return out.slice(0, n);
}
