// The tap-along calibration: for outputs whose latency the browser does not
// know (Bluetooth headphones, external speakers). For about a minute the page
// clicks at a steady tempo on its own and the person taps along (a key or the
// big button). Each tap is compared with the click it answers, at the time
// the page believes the click is heard; the median difference is the extra
// latency of this device, stored per output device (storage.js) and added to
// every beat's perf_at. Taps far from any click (a miss, a double tap) are
// left out. It measures everything between the schedule and the tap, a
// person's own habit of tapping early or late included: that is the point,
// the person plays along with what they hear the same way.

export const CALIBRATION_BPM = 100;
export const CALIBRATION_MS = 60000;
export const MIN_TAPS = 8;
export const MAX_LATENCY_MS = 500;
const OUTLIER = 0.2; // of a beat from the median tap

/**
 * Pure: the extra latency from click times and tap times (same clock, ms).
 * Returns {latencyMs, taps (used), spreadMs (interquartile range)} or null
 * with fewer than MIN_TAPS usable taps.
 */
export function estimateLatency(clicks, taps, intervalMs) {
  if (clicks.length === 0) return null;
  const sorted = clicks.slice().sort((a, b) => a - b);
  const diffs = [];
  for (const tap of taps) {
    // The click this tap answers: the latest at or before tap + a little (people anticipate).
    let best = null;
    for (const c of sorted) {
      const d = tap - c;
      if (d < -0.3 * intervalMs) break;
      if (d <= Math.min(MAX_LATENCY_MS, 0.7 * intervalMs)) best = d;
    }
    if (best !== null) diffs.push(best);
  }
  const quantile = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  diffs.sort((a, b) => a - b);
  // Taps far from the others (a miss, a double tap) are left out.
  const mid = quantile(diffs, 0.5);
  const kept = diffs.filter((d) => Math.abs(d - mid) <= OUTLIER * intervalMs);
  if (kept.length < MIN_TAPS) return null;
  return { latencyMs: Math.round(quantile(kept, 0.5)), taps: kept.length, spreadMs: Math.round(quantile(kept, 0.75) - quantile(kept, 0.25)) };
}

/**
 * Run a calibration on an enabled AudioOut: clicks at CALIBRATION_BPM for
 * `durationMs`, counting taps given to tap(). finish() (or the time running
 * out) resolves `done` with the estimate (or null).
 */
export class Calibration {
  constructor(audio, { durationMs = CALIBRATION_MS, perfNow = () => performance.now(), onProgress = () => {} } = {}) {
    this.audio = audio;
    this.durationMs = durationMs;
    this.perfNow = perfNow;
    this.onProgress = onProgress;
    this.interval = 60000 / CALIBRATION_BPM;
    this.clicks = [];
    this.taps = [];
    this.timer = null;
    this.done = new Promise((resolve) => { this.resolve = resolve; });
  }

  start() {
    this.startedAt = this.perfNow() + 500;
    this.next = this.startedAt;
    this.timer = setInterval(() => this.schedule(), 50);
    this.schedule();
  }

  schedule() {
    const now = this.perfNow();
    if (now - this.startedAt >= this.durationMs) { this.finish(); return; }
    this.audio.read();
    while (this.next < now + 200) {
      // No calibration yet on these clicks: the page's belief before correction.
      this.clicks.push(this.audio.click(this.next, { downbeat: this.clicks.length % 4 === 0 }).perfAt);
      this.next += this.interval;
    }
    this.onProgress({ elapsedMs: Math.max(0, now - this.startedAt), taps: this.taps.length });
  }

  tap(at = this.perfNow()) {
    if (this.timer !== null) this.taps.push(at);
  }

  finish() {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    const now = this.perfNow();
    this.resolve(estimateLatency(this.clicks.filter((c) => c <= now), this.taps, this.interval));
  }
}
