// Audio output on the shared clock.
//
// The audio clock (AudioContext.currentTime) runs from the sound card's
// crystal, not the page's clock, and what is scheduled at context time C is
// heard later than C by the output latency. AudioContext.getOutputTimestamp()
// gives a pair {contextTime, performanceTime}: the sample frame at
// contextTime is being played by the output device at performanceTime
// (latency included). So a beat meant to be heard at performance time P is
// scheduled at C = contextTime + (P − performanceTime) / 1000. The pair is
// re-read on every scheduling tick (the two clocks drift apart) and smoothed
// by a median. Where the browser has no getOutputTimestamp (or before the
// context runs), the mapping is currentTime ↔ performance.now() sampled
// together, plus baseLatency + outputLatency. What the browser does not know
// (Bluetooth headphones, external speakers) the user's tap-along calibration
// adds (calibration.js).

const MAP_READINGS = 9;

/** Pure: a mapping from one reading. latencyMs is added to what the reading says. */
export function readMapping({ contextTime, performanceTime, currentTime, perfNow, baseLatency = 0, outputLatency = 0 }) {
  if (contextTime > 0 && performanceTime > 0) return { base: performanceTime - contextTime * 1000, source: "output-timestamp" };
  return { base: perfNow - currentTime * 1000 + (baseLatency + outputLatency) * 1000, source: "latency" };
}

/** Pure: the median of numbers (for smoothing the mapping's base). */
export function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Pure: context time to schedule so that the output plays at performance time `perf`. */
export function contextTimeFor(base, perf) {
  return (perf - base) / 1000;
}

/** Pure: performance time at which the output plays context time `ctxTime`. */
export function perfTimeFor(base, ctxTime) {
  return base + ctxTime * 1000;
}

export class AudioOut {
  constructor({ perfNow = () => performance.now() } = {}) {
    this.perfNow = perfNow;
    this.ctx = null;
    this.enabled = false;
    this.bases = [];
    this.source = "";
    this.played = 0; // clicks handed to the audio clock so far
  }

  get on() {
    return this.enabled && this.ctx !== null;
  }

  /** The audio context, running. Must be called from a user gesture (browsers require it). */
  async open() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error("this browser has no Web Audio");
    if (!this.ctx) this.ctx = new Ctx({ latencyHint: "interactive" });
    if (this.ctx.state === "suspended") await this.ctx.resume();
    this.bases = [];
    this.read();
  }

  /** The room's click on (from a user gesture). */
  async enable() {
    await this.open();
    this.enabled = true;
  }

  disable() {
    this.enabled = false;
  }

  /** Take one reading of the context ↔ performance mapping; returns the smoothed base. */
  read() {
    const ctx = this.ctx;
    const ts = typeof ctx.getOutputTimestamp === "function" ? ctx.getOutputTimestamp() : {};
    const m = readMapping({
      contextTime: ts.contextTime || 0, performanceTime: ts.performanceTime || 0,
      currentTime: ctx.currentTime, perfNow: this.perfNow(),
      baseLatency: ctx.baseLatency || 0, outputLatency: ctx.outputLatency || 0,
    });
    if (m.source !== this.source) this.bases = []; // a different kind of reading: start over
    this.source = m.source;
    this.bases.push(m.base);
    if (this.bases.length > MAP_READINGS) this.bases.shift();
    return median(this.bases);
  }

  get base() {
    return this.bases.length ? median(this.bases) : NaN;
  }

  /**
   * Play a click heard at performance time `perf` (calibration included by
   * the caller). Returns {perfAt, node}: when the output will really play it
   * (later than asked if asked too late).
   */
  click(perf, { downbeat = false, soft = false } = {}) {
    const ctx = this.ctx;
    const base = this.base;
    const t = Math.max(ctx.currentTime, contextTimeFor(base, perf));
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = soft ? 800 : downbeat ? 1500 : 1000;
    const peak = soft ? 0.2 : downbeat ? 0.6 : 0.35;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(peak, t + 0.002);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.05);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.06);
    this.played += 1;
    return { perfAt: perfTimeFor(base, t), node: osc };
  }

  /** Silence a click not yet played. */
  cancel(node) {
    try {
      node.stop(0);
      node.disconnect();
    } catch {
      // already played or stopped
    }
  }
}
