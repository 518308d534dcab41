// The estimate of the server clock from ping/pong samples. Pure: callers pass
// the times in (client ms from a monotonic clock, e.g. timeOrigin + now()).
//
// One sample is a ping sent at client time t0, stamped by the server at
// `server` (floored to whole ms: TICK_MS), received at client time t1.
// Whatever the delays, the offset (server − client) at that moment lies in
// [server − t1, server + TICK_MS − t0]:
//   rtt    = t1 − t0
//   offset = server − (t0 + t1) / 2, true within ± rtt / 2.
//
// The filter (same algorithm in server/ensemble/sync.py):
//  1. Drift. The recent samples are cut into a few segments by time; in
//     each, the samples with the fastest trip up and the fastest trip down
//     (the least queued) give an offset point; those points are fitted by
//     least squares to offset(t) = a + drift × t (only the points since the
//     path last changed: its fixed asymmetry would pass for drift). Until
//     they span MIN_FIT_SPAN_MS the drift is 0 ± ASSUMED_DRIFT.
//  2. Offset. Corrected for that drift, every sample bounds the offset now
//     from above (server − t0: the delay up is ≥ 0) and from below
//     (server − t1). The tightest bounds come from the fastest trip up and
//     the fastest trip down, found independently; the estimate is the middle.
//     Queued samples simply never set a bound.
//  3. Error. Half the width of that interval (at most half the best round
//     trip) plus what the drift's uncertainty can add over the window and
//     since the last sample. The true offset lies within it, unless the path
//     is asymmetric in its fixed delay, which no two-way exchange can see.
//  4. Steps. A sample whose interval misses the estimate's (± error) is held
//     apart as suspect; STEP_AFTER suspects in a row mean the clock or path
//     really changed: older samples are dropped and the suspects are kept.

export const SYNC = Object.freeze({
  TICK_MS: 1, // server_time is the server clock floored to whole ms
  WINDOW: 128, // samples kept
  MAX_AGE_MS: 300000, // and none older than this
  SEGMENTS: 6, // the window is cut in this many for the drift fit
  MIN_FIT_SPAN_MS: 10000,
  MIN_DRIFT_ERROR: 1e-6,
  SIGNIFICANCE: 3, // a fitted drift within 3 standard errors of 0 is shrunk
  PATH_TOLERANCE_MS: 3, // a segment whose fastest round trip is this far off
  MIN_PER_SEGMENT: 3,
  PATH_TOLERANCE: 0.25, // (or this fraction) took another path
  MAX_DRIFT: 0.001, // 1000 ppm: anything steeper is not a clock
  ASSUMED_DRIFT: 100e-6, // uncertainty before a drift could be measured
  STEP_AFTER: 3,
  STEP_MARGIN_MS: 0.5,
});

export function sampleFrom(t0, t1, serverTime) {
  const rtt = Math.max(0, t1 - t0);
  return { t0, t1, server: serverTime, rtt, mid: (t0 + t1) / 2, offset: serverTime - (t0 + t1) / 2, error: rtt / 2 };
}

/** Best sample of a list (smallest rtt), or null. */
export function bestSample(samples) {
  let best = null;
  for (const s of samples) if (best === null || s.rtt < best.rtt) best = s;
  return best;
}

/** Offset bounds of `samples` moved to client time `tref` with `drift`: {lo, hi, tu, td}. */
function bounds(samples, tref, drift, opts) {
  let hi = Infinity;
  let lo = -Infinity;
  let tu = tref;
  let td = tref;
  for (const s of samples) {
    const shift = drift * (s.mid - tref);
    const up = s.server + opts.TICK_MS - s.t0 - shift; // offset + the trip up
    const down = s.server - s.t1 - shift; // offset − the trip down
    if (up < hi) { hi = up; tu = s.mid; }
    if (down > lo) { lo = down; td = s.mid; }
  }
  return { lo, hi, tu, td };
}

/**
 * The drift (server − client per client ms) and its standard error.
 * The window is cut into SEGMENTS by time; in each, the fastest trip up and
 * the fastest trip down (the good samples) give one offset point; a least
 * squares line through the points gives the drift. Needs MIN_FIT_SPAN_MS and
 * four points; until then 0 ± ASSUMED_DRIFT.
 */
export function fitDrift(samples, opts = SYNC) {
  const unknown = { drift: 0, driftError: opts.ASSUMED_DRIFT };
  if (samples.length < 8) return unknown;
  const first = samples[0].mid;
  const span = samples[samples.length - 1].mid - first;
  if (span < opts.MIN_FIT_SPAN_MS) return unknown;
  // Segments of equal counts: each point had the pick of as many samples.
  const groups = Array.from({ length: opts.SEGMENTS }, () => []);
  samples.forEach((s, i) => groups[Math.floor((i * opts.SEGMENTS) / samples.length)].push(s));
  let points = [];
  for (const g of groups) {
    if (g.length < opts.MIN_PER_SEGMENT) continue;
    const { lo, hi, tu, td } = bounds(g, g[0].mid, 0, opts);
    points.push({ t: (tu + td) / 2, o: (lo + hi) / 2, floor: hi - lo, w: g.length });
  }
  if (points.length === 0) return unknown;
  // A point's midpoint carries the path's fixed asymmetry: fit only the
  // points since the path last changed (its fastest round trip moved).
  const last = points[points.length - 1];
  let from = points.length - 1;
  while (from > 0 && Math.abs(points[from - 1].floor - last.floor) <= Math.max(opts.PATH_TOLERANCE_MS, opts.PATH_TOLERANCE * last.floor)) from--;
  points = points.slice(from);
  if (points.length < 4) return unknown;
  // Weighted by how many samples each point had the pick of (more: sharper minima).
  let sw = 0;
  let mt = 0;
  let mo = 0;
  for (const p of points) { sw += p.w; mt += p.w * p.t; mo += p.w * p.o; }
  mt /= sw;
  mo /= sw;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) { sxx += p.w * (p.t - mt) ** 2; sxy += p.w * (p.t - mt) * (p.o - mo); }
  if (!(sxx > 0)) return unknown;
  const slope = sxy / sxx;
  let rss = 0;
  for (const p of points) rss += p.w * (p.o - mo - slope * (p.t - mt)) ** 2;
  // Few points make a residual-based error itself noisy; the points' own
  // noise shows in how much their fastest round trips vary (a point is off by
  // half the difference of its two excess delays, a floor by their sum).
  const mf = points.reduce((a, p) => a + p.floor, 0) / points.length;
  const sigma = Math.sqrt(points.reduce((a, p) => a + (p.floor - mf) ** 2, 0) / (points.length - 1)) / 2;
  const tt = points.reduce((a, p) => a + p.t, 0) / points.length;
  const spread = Math.sqrt(points.reduce((a, p) => a + (p.t - tt) ** 2, 0));
  const se = Math.max(Math.sqrt(rss / (points.length - 2) / sxx), sigma / spread);
  // A slope hardly above its noise is mostly noise: shrink it towards 0
  // (a wrong drift costs more than a small one left uncorrected).
  const kept = Math.abs(slope) > 0 ? Math.max(0, 1 - ((opts.SIGNIFICANCE * se) / slope) ** 2) : 0;
  const drift = Math.max(-opts.MAX_DRIFT, Math.min(opts.MAX_DRIFT, slope * kept));
  return { drift, driftError: Math.min(opts.ASSUMED_DRIFT, Math.max(opts.MIN_DRIFT_ERROR, se)) + Math.abs(slope - drift) };
}

/**
 * The estimate from `samples` at client time `tref`: {offset, drift,
 * driftError, halfWidth, span, tref}, or null without samples.
 */
export function estimate(samples, tref, opts = SYNC) {
  if (samples.length === 0) return null;
  const { drift, driftError } = fitDrift(samples, opts);
  const { lo, hi } = bounds(samples, tref, drift, opts);
  const oldest = Math.min(tref, ...samples.map((s) => s.mid));
  // Crossed bounds (a drift slightly off) still give their middle; the
  // overlap missing is added to the error rather than hidden.
  return { offset: (lo + hi) / 2, drift, driftError, halfWidth: Math.abs(hi - lo) / 2, span: tref - oldest, tref };
}

export class SyncFilter {
  constructor(opts = SYNC) {
    this.opts = opts;
    this.samples = []; // the ones the estimate uses, oldest first
    this.suspects = [];
    this.steps = 0; // how many times a step was detected
    this.est = null;
  }

  get ready() {
    return this.est !== null;
  }

  /** Record one ping/pong. Returns the sample, or null for an answer from the past. */
  add(t0, t1, serverTime) {
    if (!(t1 >= t0)) return null;
    const s = sampleFrom(t0, t1, serverTime);
    if (this.est && !this.consistent(s)) {
      this.suspects.push(s);
      if (this.suspects.length < this.opts.STEP_AFTER) return s;
      this.samples = this.suspects; // the world changed: start over from the suspects
      this.steps += 1;
    } else {
      this.samples.push(s);
    }
    this.suspects = [];
    const cutoff = t1 - this.opts.MAX_AGE_MS;
    while (this.samples.length > this.opts.WINDOW || (this.samples.length > 1 && this.samples[0].t1 < cutoff)) this.samples.shift();
    this.est = estimate(this.samples, t1, this.opts);
    return s;
  }

  /** Does the sample's interval meet the estimate's, at its own time? */
  consistent(s) {
    const predicted = this.offsetAt(s.mid);
    const slack = this.errorAt(s.mid) + this.opts.STEP_MARGIN_MS;
    return s.server - s.t1 <= predicted + slack && s.server + this.opts.TICK_MS - s.t0 >= predicted - slack;
  }

  /** Estimated server − client at client time `clientNow` (0 before any sample). */
  offsetAt(clientNow) {
    if (!this.est) return 0;
    return this.est.offset + this.est.drift * (clientNow - this.est.tref);
  }

  /** The bound on |estimate − truth| at `clientNow` (Infinity before any sample). */
  errorAt(clientNow) {
    if (!this.est) return Infinity;
    const e = this.est;
    return e.halfWidth + e.driftError * (e.span + Math.abs(clientNow - e.tref));
  }

  /** Server time at client time `clientNow`. */
  serverNow(clientNow) {
    return clientNow + this.offsetAt(clientNow);
  }

  /** The offset at the last sample (for display). */
  get offset() {
    return this.est ? this.est.offset : 0;
  }

  get error() {
    return this.est ? this.errorAt(this.est.tref) : Infinity;
  }

  get drift() {
    return this.est ? this.est.drift : 0;
  }

  best() {
    return bestSample(this.samples);
  }
}

/** "offset +12 ± 1 ms" */
export function formatSync(offset, error) {
  if (!Number.isFinite(error)) return "not synced yet";
  const o = Math.round(offset);
  const sign = o >= 0 ? "+" : "−";
  const e = Math.max(0, error);
  return `offset ${sign}${Math.abs(o)} ± ${e < 1 ? e.toFixed(1) : Math.ceil(e)} ms`;
}
