// Rendering math for the shared timer. A timer is state, never ticks:
// {state: idle|running|paused, label, duration_ms, ends_at, remaining_ms}.

/** Remaining ms at server time `serverNow`; never negative. */
export function remainingMs(timer, serverNow) {
  if (!timer) return 0;
  switch (timer.state) {
    case "running":
      if (typeof timer.ends_at !== "number") return 0;
      return Math.max(0, timer.ends_at - serverNow);
    case "paused":
      return Math.max(0, timer.remaining_ms ?? 0);
    default:
      return Math.max(0, timer.duration_ms ?? 0);
  }
}

/** Elapsed ms into the timer (duration - remaining), null when idle. */
export function elapsedMs(timer, serverNow) {
  if (!timer || timer.state === "idle") return null;
  return Math.max(0, (timer.duration_ms ?? 0) - remainingMs(timer, serverNow));
}

/** Fraction of the timer done, 0..1. */
export function progress(timer, serverNow) {
  if (!timer || !timer.duration_ms || timer.state === "idle") return 0;
  return Math.min(1, Math.max(0, 1 - remainingMs(timer, serverNow) / timer.duration_ms));
}

/**
 * mm:ss for a countdown. Seconds round up, so the display reads 00:00 only
 * when the time is really up, and a fresh 25-minute timer reads 25:00.
 * Minutes are not wrapped into hours (90 minutes reads 90:00).
 */
export function formatMmss(ms) {
  const total = Math.max(0, Math.ceil((Number.isFinite(ms) ? ms : 0) / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** A short spoken form: "24 minutes 59 seconds". */
export function spokenDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  const parts = [];
  if (m) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  if (s || !m) parts.push(`${s} second${s === 1 ? "" : "s"}`);
  return parts.join(" ");
}
