// NTP-style estimate of the offset between this client's clock and the
// server's. Pure: callers pass the times in.
//
// One sample is a ping sent at client time t0, answered with the server's
// time, received at client time t1:
//   rtt    = t1 - t0
//   offset = server_time - (t0 + t1) / 2      (server ≈ client + offset)
//   error  = rtt / 2                          (the true offset is within ±error)
// Of the recent samples, the one with the smallest round trip wins: it is
// the one least bent by queueing on either side.

export const DEFAULT_WINDOW = 8;

export function sampleFrom(t0, t1, serverTime) {
  const rtt = Math.max(0, t1 - t0);
  return { t0, t1, rtt, offset: serverTime - (t0 + t1) / 2, error: rtt / 2 };
}

export class ClockEstimator {
  constructor(windowSize = DEFAULT_WINDOW) {
    if (!(windowSize >= 1)) throw new RangeError("windowSize must be at least 1");
    this.windowSize = windowSize;
    this.samples = [];
  }

  /** Record one ping/pong; returns the sample. Ignores answers from the past. */
  add(t0, t1, serverTime) {
    if (!(t1 >= t0)) return null;
    const s = sampleFrom(t0, t1, serverTime);
    this.samples.push(s);
    if (this.samples.length > this.windowSize) this.samples.shift();
    return s;
  }

  /** The best sample so far (smallest rtt), or null. */
  best() {
    let best = null;
    for (const s of this.samples) if (best === null || s.rtt < best.rtt) best = s;
    return best;
  }

  /** Estimated server minus client, in ms (0 before any sample). */
  get offset() {
    const b = this.best();
    return b ? b.offset : 0;
  }

  /** Half the round trip of the best sample (Infinity before any sample). */
  get error() {
    const b = this.best();
    return b ? b.error : Infinity;
  }

  get ready() {
    return this.samples.length > 0;
  }

  /** Server time now, given the client's clock. */
  serverNow(clientNow) {
    return clientNow + this.offset;
  }
}

/** Best sample of a list (smallest rtt), or null. */
export function bestSample(samples) {
  let best = null;
  for (const s of samples) if (best === null || s.rtt < best.rtt) best = s;
  return best;
}

/** "offset +12 ± 1 ms" */
export function formatSync(offset, error) {
  if (!Number.isFinite(error)) return "not synced yet";
  const o = Math.round(offset);
  const sign = o >= 0 ? "+" : "−";
  return `offset ${sign}${Math.abs(o)} ± ${Math.max(0, Math.ceil(error))} ms`;
}
