// The shared clock panel of the room page: the timer (drawn every animation
// frame from state and the estimated server time, never from ticks), the
// sprint phase line, the sync quality in the header, and the mentors' timer
// controls.

import { formatSync } from "./clock.js";
import { currentPhase } from "./state.js";
import { remainingMs, formatMmss, progress } from "./timer.js";
import { $, setText } from "./dom.js";

export class ClockPanel {
  /** @param {{act: Function, toast: Function}} page */
  constructor(page) {
    this.page = page;
    this.syncShown = 0;
  }

  setup() {
    const act = this.page.act;
    $("#timer-start").addEventListener("click", (e) => {
      const minutes = Number($("#timer-min").value);
      if (!(minutes > 0)) { this.page.toast("Minutes must be a positive number."); return; }
      const label = $("#timer-label-in").value.trim();
      const payload = { duration_ms: Math.round(minutes * 60000) };
      if (label) payload.label = label;
      act("timer.start", payload, e.currentTarget);
    });
    $("#timer-pause").addEventListener("click", (e) => act("timer.pause", {}, e.currentTarget));
    $("#timer-resume").addEventListener("click", (e) => act("timer.resume", {}, e.currentTarget));
    $("#timer-reset").addEventListener("click", (e) => act("timer.reset", {}, e.currentTarget));
    for (const b of document.querySelectorAll("[data-adjust]")) {
      b.addEventListener("click", () => act("timer.adjust", { delta_ms: Number(b.dataset.adjust) }, b));
    }
  }

  /** State changed: phase line, label, timer state, mentor buttons. */
  render(state) {
    const line = $("#phase-line");
    const ph = currentPhase(state);
    const sp = state.sprint;
    if (ph) {
      setText(line, `Round ${sp.round} of ${sp.rounds} · ${ph.name}`);
      line.dataset.kind = ph.kind;
    } else {
      setText(line, sp.state === "done" ? "Sprint finished" : "No sprint running");
      line.dataset.kind = "";
    }
    setText($("#timer-label"), state.timer.label || "");
    const clock = $("#clock");
    clock.dataset.state = state.timer.state;
    clock.setAttribute("aria-label", `Timer ${state.timer.state}`);
    $("#timer-pause").disabled = state.timer.state !== "running";
    $("#timer-resume").disabled = state.timer.state !== "paused";
  }

  /** Every animation frame, at estimated server time `now` (this page's clock: `client`); returns the mm:ss shown. */
  frame(state, now, client) {
    const rem = remainingMs(state.timer, now);
    const clock = $("#clock");
    clock.dataset.remainingMs = String(Math.round(rem));
    clock.dataset.sampledAt = String(Date.now());
    // The exact server time this frame was drawn for, and this page's clock
    // then (for measuring how far apart screens are: tests/web/test_sync.py).
    clock.dataset.serverAt = String(now);
    clock.dataset.clientAt = String(client);
    const mmss = formatMmss(rem);
    setText(clock, mmss);
    $("#progress-bar").style.width = `${(progress(state.timer, now) * 100).toFixed(2)}%`;
    return mmss;
  }

  /** A new clock sample (the SyncFilter), and about once a second as the bound grows. */
  showSync(clock, clientNow) {
    const sync = $("#sync");
    setText(sync, formatSync(clock.offsetAt(clientNow), clock.errorAt(clientNow)));
    sync.dataset.samples = String(clock.samples.length);
    sync.title = `Estimated difference between this device's clock and the server's; drift ${(clock.drift * 1e6).toFixed(1)} ppm over ${clock.samples.length} samples`;
  }
}
