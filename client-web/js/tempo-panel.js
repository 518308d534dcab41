// The tempo panel of the room page: the visible beat, the audio click, the
// tap-along calibration, the announced tempo change, and the mentors' tempo
// controls. The beat is drawn from the page's beat schedule (beats.js), the
// same mapping the click is played from.

import { AudioOut } from "./audio.js";
import { BeatSchedule } from "./beats.js";
import { Calibration, CALIBRATION_MS } from "./calibration.js";
import { pendingChange } from "./tempo.js";
import { loadLatency, saveLatency } from "./storage.js";
import { $, el, setText } from "./dom.js";

const LIT_FOR = 0.35; // of a beat

/** Pure: the server times the next sprint phase and the next turn start, as far as known. */
export function nextStarts(state) {
  if (!state) return [];
  const out = [];
  const last = state.sprint.round === state.sprint.rounds && state.sprint.phase_index === state.sprint.phases.length - 1;
  if (state.sprint.state === "running" && state.timer.state === "running" && !last) out.push(state.timer.ends_at);
  if (state.turns.ends_at != null && state.turns.queue.length > 0) out.push(state.turns.ends_at);
  return out;
}

export class TempoPanel {
  /** @param {{act: Function, toast: Function, state: () => object|null, clock: () => object|null}} page */
  constructor(page) {
    this.page = page;
    this.audio = new AudioOut();
    this.device = "default";
    this.latencyMs = loadLatency(this.device) ?? 0;
    this.schedule = new BeatSchedule({
      getTempo: () => page.state()?.tempo ?? null,
      getClock: page.clock,
      audio: this.audio,
      calibrationMs: () => this.latencyMs,
      boundaries: () => (this.countInOn ? nextStarts(page.state()) : []),
    });
    this.countInOn = false;
    this.calibration = null;
    this.dots = [];
    this.dotsKey = "";
  }

  setup() {
    const act = this.page.act;
    $("#audio-click").addEventListener("change", async (e) => {
      if (e.target.checked) {
        try {
          await this.audio.enable();
          this.useDevice();
          this.schedule.retune(); // the beats ahead, now with sound
        } catch (err) { e.target.checked = false; this.page.toast(err.message); }
      } else {
        this.audio.disable();
        this.schedule.retune();
      }
    });
    const values = () => ({ bpm: Math.round(Number($("#tempo-bpm").value)), beats_per_bar: Math.round(Number($("#tempo-bpb").value)) });
    $("#tempo-set").addEventListener("click", (e) => act("tempo.set", values(), e.currentTarget));
    $("#tempo-start").addEventListener("click", async (e) => {
      const v = values();
      const button = e.currentTarget;
      const tempo = this.page.state().tempo;
      if (v.bpm !== tempo.bpm || v.beats_per_bar !== tempo.beats_per_bar) {
        if (!(await act("tempo.set", v, button))) return;
      }
      act("tempo.start", {}, button);
    });
    $("#tempo-stop").addEventListener("click", (e) => act("tempo.stop", {}, e.currentTarget));
    $("#count-in").addEventListener("change", async (e) => {
      this.countInOn = e.target.checked;
      if (this.countInOn && !this.audio.on) {
        try { await this.audio.enable(); $("#audio-click").checked = true; } catch (err) { this.page.toast(err.message); }
      }
      this.schedule.retune();
    });
    $("#calibrate-start").addEventListener("click", () => this.calibrate());
    $("#calibrate-tap").addEventListener("pointerdown", (e) => { e.preventDefault(); this.calibration?.tap(e.timeStamp); });
    $("#calibrate-tap").addEventListener("keydown", (e) => {
      if ((e.key === " " || e.key === "Enter") && !e.repeat) { e.preventDefault(); this.calibration?.tap(e.timeStamp); }
    });
    $("#calibrate-stop").addEventListener("click", () => this.calibration?.finish());
    $("#calibrate-forget").addEventListener("click", () => {
      saveLatency(this.device, null);
      this.latencyMs = 0;
      this.showLatency();
      this.schedule.retune();
    });
    this.showLatency();
    this.schedule.start();
  }

  /** The calibration is per output device (where the browser tells which). */
  useDevice() {
    const sink = this.audio.ctx?.sinkId;
    this.device = typeof sink === "string" && sink ? sink : "default";
    this.latencyMs = loadLatency(this.device) ?? 0;
    this.showLatency();
  }

  showLatency() {
    setText($("#latency-value"), loadLatency(this.device) === null ? "not calibrated" : `+${this.latencyMs} ms`);
  }

  async calibrate() {
    if (this.calibration) return;
    const status = $("#calibrate-status");
    try {
      await this.audio.open();
      this.useDevice();
    } catch (err) { this.page.toast(err.message); return; }
    const wasOn = this.audio.enabled;
    this.audio.enabled = false; // the room's click pauses meanwhile
    this.schedule.retune();
    const cal = new Calibration(this.audio, {
      onProgress: ({ elapsedMs, taps }) => setText(status, `${Math.ceil((CALIBRATION_MS - elapsedMs) / 1000)} s left · ${taps} taps`),
    });
    this.calibration = cal;
    $("#calibrate-start").hidden = true;
    $("#calibrate-tap").hidden = false;
    $("#calibrate-stop").hidden = false;
    $("#calibrate-tap").focus();
    cal.start();
    const result = await cal.done;
    this.calibration = null;
    this.audio.enabled = wasOn;
    $("#calibrate-start").hidden = false;
    $("#calibrate-tap").hidden = true;
    $("#calibrate-stop").hidden = true;
    if (!result) {
      setText(status, "Not enough taps to measure: try again, tapping on each click.");
    } else {
      this.latencyMs = Math.max(0, result.latencyMs);
      saveLatency(this.device, this.latencyMs);
      setText(status, `Measured +${result.latencyMs} ms over ${result.taps} taps (spread ${result.spreadMs} ms). Saved for this device.`);
      this.showLatency();
    }
    this.schedule.retune();
  }

  /** A tempo.changed event arrived. */
  tempoChanged() {
    this.schedule.retune();
  }

  render(state, mentor) {
    if (mentor) {
      $("#tempo-start").disabled = state.tempo.running;
      $("#tempo-stop").disabled = !state.tempo.running;
    }
  }

  /** Mirror the room's tempo into the mentor inputs (not while typing). */
  syncInputs(a, b) {
    if (a && a.tempo.bpm === b.tempo.bpm && a.tempo.beats_per_bar === b.tempo.beats_per_bar) return;
    for (const [sel, value] of [["#tempo-bpm", b.tempo.bpm], ["#tempo-bpb", b.tempo.beats_per_bar]]) {
      const n = $(sel);
      if (document.activeElement !== n) n.value = String(value);
    }
  }

  /** Every animation frame: light the beat heard now. */
  frame(serverNow) {
    const box = $("#beat");
    const tempo = this.page.state()?.tempo;
    const beat = this.schedule.current();
    const interval = beat ? 60000 / beat.bpm : 0;
    const running = !!tempo && (tempo.running || !!pendingChange(tempo, serverNow));
    // The grid heard now (an announced change shows from its bar line on).
    const bpb = beat?.beats_per_bar ?? tempo?.beats_per_bar ?? 0;
    const bpm = beat?.bpm ?? tempo?.bpm ?? 0;
    const key = running ? `${bpb}:${bpm}` : "off";
    if (key !== this.dotsKey) {
      this.dotsKey = key;
      this.dots = [];
      box.replaceChildren();
      if (running) {
        for (let i = 0; i < bpb; i++) {
          const d = el("span", { class: i === 0 ? "b down" : "b" });
          this.dots.push(d);
          box.append(d);
        }
        box.append(el("span", { class: "bpm" }, `${bpm} bpm`));
      }
    }
    const lit = beat && performance.now() - beat.perf_at < interval * LIT_FOR ? beat.beatInBar : -1;
    this.dots.forEach((d, i) => d.classList.toggle("on", i === lit));
    box.dataset.beat = beat ? String(beat.k) : "";
    box.classList.toggle("count-in", !!beat && beat.k < 0);
    const next = tempo ? pendingChange(tempo, serverNow) : null;
    setText($("#tempo-next"), !next ? "" : next.running
      ? `${next.bpm} bpm in ${next.beats_per_bar} from beat ${next.first_beat}, in ${((next.at - serverNow) / 1000).toFixed(1)} s`
      : `Stops at the bar line, in ${((next.at - serverNow) / 1000).toFixed(1)} s`);
  }

  /** For window.ensemble.beats(). */
  beats() {
    return this.schedule.record();
  }
}
