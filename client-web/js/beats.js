// The page's beat schedule: the one mapping from the room's beat grid to
// this page's time, used by the audio click and by the visible beat alike.
//
// Every TICK_MS it takes the beats of the next LOOKAHEAD_MS (server time,
// tempo.js), maps each to the performance time at which every page should
// hear it (server time − the clock offset − timeOrigin) and, when the click
// is on, hands it to the audio output that much earlier than this device's
// calibrated extra latency; the output says when it will really play it,
// and with the calibration added that is when it is heard: `perf_at`;
// the visible beat lights at `perf_at` too, so a muted or deaf participant
// sees exactly what the others hear. The record is bounded (MAX_BEATS).
//
// A start from silence comes one bar ahead (PROTOCOL.md, tempo): that bar is
// played as a softer count-in (negative k, kept out of the record). So is,
// when the person asks for it, the bar before a sprint phase or a turn starts
// while the metronome is silent.

import { beatsBetween, beatIntervalMs, gridAt, pendingChange } from "./tempo.js";

export const LOOKAHEAD_MS = 300;
export const TICK_MS = 50;
export const MAX_BEATS = 512;

/** Pure: the count-in beats (k = −bpb..−1) of a start from silence, in [from, to). */
export function countInBetween(tempo, now, from, to) {
  const p = pendingChange(tempo, now);
  if (!p || !p.running || tempo.previous) return [];
  const interval = beatIntervalMs(tempo);
  const bpb = Math.max(1, tempo.beats_per_bar);
  const out = [];
  for (let i = bpb; i >= 1; i--) {
    const at = tempo.started_at - i * interval;
    if (at >= from && at < to) out.push({ k: -i, at, downbeat: i === bpb, beatInBar: bpb - i, bpm: tempo.bpm, beats_per_bar: bpb, countIn: true });
  }
  return out;
}

/**
 * Pure: a count-in of one bar at the room's tempo ending on `at` (a sprint
 * phase or a turn that starts then): beats k = −bpb..−1 at at − i·interval,
 * in [from, to). Computed from server state and time, so every page counts
 * in together.
 */
export function countInBefore(at, tempo, from, to) {
  if (!tempo || !(tempo.bpm > 0) || typeof at !== "number") return [];
  const interval = beatIntervalMs(tempo);
  const bpb = Math.max(1, tempo.beats_per_bar);
  const out = [];
  for (let i = bpb; i >= 1; i--) {
    const t = at - i * interval;
    if (t >= from && t < to) out.push({ k: -i, at: t, downbeat: i === bpb, beatInBar: bpb - i, bpm: tempo.bpm, beats_per_bar: bpb, countIn: true });
  }
  return out;
}

export class BeatSchedule {
  /**
   * @param {object} o
   * @param {() => object|null} o.getTempo
   * @param {() => object|null} o.getClock   the SyncFilter (offsetAt) or null
   * @param {object|null} o.audio            an AudioOut
   * @param {() => number} o.calibrationMs   this device's extra output latency
   */
  constructor({ getTempo, getClock, audio = null, calibrationMs = () => 0, boundaries = () => [], perfNow = () => performance.now(), timeOrigin = performance.timeOrigin }) {
    this.getTempo = getTempo;
    this.boundaries = boundaries; // server times a phase or a turn starts (count-in wanted)
    this.getClock = getClock;
    this.audio = audio;
    this.calibrationMs = calibrationMs;
    this.perfNow = perfNow;
    this.timeOrigin = timeOrigin;
    this.beats = []; // [{k, server_at, perf_at, downbeat, beatInBar, bpm, beats_per_bar, node}]
    this.countIn = [];
    this.until = -Infinity; // server time scheduled up to
    this.timer = null;
  }

  start() {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Server time and the offset now, or null before the clock is synced. */
  now() {
    const clock = this.getClock();
    if (!clock || !clock.ready) return null;
    const client = this.timeOrigin + this.perfNow();
    const offset = clock.offsetAt(client);
    return { server: client + offset, offset };
  }

  /** The performance time at which every page should hear server time `at`. */
  perfFor(at, offset) {
    return at - offset - this.timeOrigin;
  }

  tick() {
    const now = this.now();
    const tempo = this.getTempo();
    if (!now || !tempo) return;
    if (this.audio?.on) this.audio.read();
    const from = Math.max(this.until, now.server);
    const to = now.server + LOOKAHEAD_MS;
    if (to <= from) return;
    for (const beat of countInBetween(tempo, now.server, from, to)) this.countIn.push(this.play(beat, now.offset));
    for (const at of this.boundaries()) {
      // While the metronome sounds at that moment, its own beat is the count.
      if (gridAt(tempo, at)) continue;
      for (const beat of countInBefore(at, tempo, from, to)) this.countIn.push(this.play(beat, now.offset));
    }
    for (const beat of beatsBetween(tempo, from, to)) {
      this.beats.push(this.play(beat, now.offset));
      if (this.beats.length > MAX_BEATS) this.beats.shift();
    }
    if (this.countIn.length > 16) this.countIn.splice(0, this.countIn.length - 16);
    this.until = to;
  }

  play(beat, offset) {
    const target = this.perfFor(beat.at, offset);
    const rec = { k: beat.k, server_at: beat.at, perf_at: target, downbeat: beat.downbeat, beatInBar: beat.beatInBar, bpm: beat.bpm, beats_per_bar: beat.beats_per_bar, offset, node: null };
    if (this.audio?.on) {
      // The output is `late` ms later than the browser knows (calibration):
      // ask for that much earlier; it is heard at perfAt + late.
      const late = this.calibrationMs();
      const { perfAt, node } = this.audio.click(target - late, { downbeat: beat.downbeat, soft: !!beat.countIn });
      rec.perf_at = perfAt + late;
      rec.node = node;
    }
    return rec;
  }

  /** The tempo changed: what was planned after now is planned again. */
  retune() {
    const now = this.now();
    if (!now) return;
    const keep = (b) => {
      if (b.server_at < now.server) return true; // changes come a bar ahead: these stand
      if (b.node) this.audio.cancel(b.node);
      return false;
    };
    this.beats = this.beats.filter(keep);
    this.countIn = this.countIn.filter(keep);
    this.until = now.server;
    this.tick();
  }

  /** The latest beat heard by now (performance time `perf`), count-in included. */
  current(perf = this.perfNow()) {
    let best = null;
    for (const list of [this.beats, this.countIn]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].perf_at <= perf) {
          if (!best || list[i].perf_at > best.perf_at) best = list[i];
          break;
        }
      }
    }
    return best;
  }

  /** For window.ensemble.beats(): [{k, server_at, perf_at}], newest last. */
  record() {
    return this.beats.map(({ k, server_at, perf_at }) => ({ k, server_at, perf_at }));
  }
}
