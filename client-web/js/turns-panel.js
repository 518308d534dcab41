// The turns panel of the room page: who has the turn (with its countdown,
// drawn every frame), the queue, raising and lowering your hand, passing the
// turn; and the mentors' turn controls (mode, limit, next, clear, reorder,
// give the turn).

import { nameOf } from "./state.js";
import { formatMmss } from "./timer.js";
import { turnRemainingMs, queuePosition, moveInQueue } from "./turns.js";
import { $, el, fill, setText, replaceKeepingFocus } from "./dom.js";

export class TurnsPanel {
  /** @param {{act: Function, toast: Function}} page */
  constructor(page) {
    this.page = page;
  }

  setup() {
    const act = this.page.act;
    $("#hand-raise").addEventListener("click", (e) => act("hand.raise", {}, e.currentTarget));
    $("#hand-lower").addEventListener("click", (e) => act("hand.lower", {}, e.currentTarget));
    $("#turn-pass").addEventListener("click", (e) => act("turn.pass", {}, e.currentTarget));
    // mentors
    $("#turns-apply").addEventListener("click", (e) => {
      const limit = $("#turns-limit").value.trim();
      const secs = limit ? Number(limit) : null;
      if (secs !== null && !(secs >= 1 && secs <= 3600)) { this.page.toast("The limit is 1 to 3600 seconds, or empty for none."); return; }
      act("turns.config", { mode: $("#turns-mode").value, turn_ms: secs === null ? null : Math.round(secs * 1000) }, e.currentTarget);
    });
    $("#turn-next").addEventListener("click", (e) => act("turn.next", {}, e.currentTarget));
    $("#turns-clear").addEventListener("click", (e) => act("turns.clear", {}, e.currentTarget));
  }

  render(state) {
    const act = this.page.act;
    const t = state.turns;
    const me = state.me.member_id;
    const now = $("#turn-now");
    if (t.current != null) {
      fill(now,
        el("span", {}, t.current === me ? "Your turn" : `${nameOf(state, t.current)} has the turn`),
        t.ends_at != null ? el("span", {}, " — ", el("span", { class: "countdown", id: "turn-countdown" }, "")) : null,
      );
    } else {
      fill(now, "Nobody has the turn.");
    }
    now.classList.toggle("my-turn", t.current === me);
    setText($("#turn-mode"), `Mode: ${t.mode === "round_robin" ? "round robin" : "queue"}${t.turn_ms ? ` · ${Math.round(t.turn_ms / 1000)} s per turn` : ""}`);
    const role = state.me.role;
    const pos = queuePosition(t, me);
    $("#turn-actions").hidden = role === "observer" || (role === "mentor" && t.current !== me);
    $("#hand-raise").hidden = role !== "participant" || pos >= 0;
    $("#hand-lower").hidden = role !== "participant" || pos <= 0;
    $("#turn-pass").hidden = t.current !== me;
    const mentor = role === "mentor";
    replaceKeepingFocus($("#queue"), t.queue.map((id, i) => el("li", {},
      el("span", { class: "name" }, `${i + 1}. ${nameOf(state, id)}${id === me ? " (you)" : ""}`),
      mentor ? [
        el("button", { type: "button", class: "small", "data-focus-key": `up-${id}`, disabled: i === 0, "aria-label": `Move ${nameOf(state, id)} up`, onclick: () => act("turn.reorder", { queue: moveInQueue(t.queue, id, -1) }) }, "Up"),
        el("button", { type: "button", class: "small", "data-focus-key": `down-${id}`, disabled: i === t.queue.length - 1, "aria-label": `Move ${nameOf(state, id)} down`, onclick: () => act("turn.reorder", { queue: moveInQueue(t.queue, id, 1) }) }, "Down"),
        el("button", { type: "button", class: "small", "data-focus-key": `grant-${id}`, "aria-label": `Give the turn to ${nameOf(state, id)}`, onclick: () => act("turn.grant", { member_id: id }) }, "Give turn"),
      ] : null)));
  }

  /** Every animation frame, at estimated server time `now`: the turn's countdown. */
  frame(state, now) {
    const tc = document.getElementById("turn-countdown");
    if (!tc) return;
    const tr = turnRemainingMs(state.turns, now);
    setText(tc, tr == null ? "" : formatMmss(tr));
    tc.dataset.remainingMs = tr == null ? "" : String(Math.round(tr));
  }

  /** Mirror the server's turn settings into the mentors' inputs when they change (not while typing). */
  syncInputs(a, b) {
    if (a && a.turns.mode === b.turns.mode && a.turns.turn_ms === b.turns.turn_ms) return;
    const set = (sel, value) => { const n = $(sel); if (document.activeElement !== n) n.value = value; };
    set("#turns-mode", b.turns.mode);
    set("#turns-limit", b.turns.turn_ms ? String(Math.round(b.turns.turn_ms / 1000)) : "");
  }
}
