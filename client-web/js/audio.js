// An optional metronome click, scheduled with Web Audio at the shared beat
// times. Server time maps to the audio clock through the estimated offset:
//   audioTime(beat) = ctx.currentTime + (beat.at - serverNow) / 1000

import { beatsBetween } from "./tempo.js";

const LOOKAHEAD_MS = 250;
const TICK_MS = 50;

export class Metronome {
  constructor(getTempo, serverNow) {
    this.getTempo = getTempo;
    this.serverNow = serverNow;
    this.ctx = null;
    this.timer = null;
    this.scheduledUntil = 0;
    this.scheduled = 0; // clicks handed to the audio clock so far
  }

  get on() {
    return this.timer !== null;
  }

  /** Must be called from a user gesture (browsers require it to start audio). */
  async enable() {
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) throw new Error("this browser has no Web Audio");
    if (!this.ctx) this.ctx = new Ctx();
    if (this.ctx.state === "suspended") await this.ctx.resume();
    this.scheduledUntil = this.serverNow();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.schedule(), TICK_MS);
    this.schedule();
  }

  disable() {
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Tempo changed: forget what was planned after now. */
  reset() {
    this.scheduledUntil = this.serverNow();
  }

  schedule() {
    const tempo = this.getTempo();
    const now = this.serverNow();
    const from = Math.max(this.scheduledUntil, now);
    const to = now + LOOKAHEAD_MS;
    if (to <= from) return;
    for (const beat of beatsBetween(tempo, from, to)) this.click(beat, now);
    this.scheduledUntil = to;
  }

  click(beat, now) {
    const ctx = this.ctx;
    const t = ctx.currentTime + Math.max(0, (beat.at - now) / 1000);
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = beat.downbeat ? 1500 : 1000;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(beat.downbeat ? 0.6 : 0.35, t + 0.002);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.05);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.06);
    this.scheduled += 1;
  }
}
