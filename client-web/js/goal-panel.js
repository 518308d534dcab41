// The goal panel of the room page (participants): set this sprint's goal
// (prompted in a check-in phase), then check out with a result and a note.

import { currentPhase } from "./state.js";
import { RESULT_LABELS } from "./goals.js";
import { $, el, setText } from "./dom.js";

export class GoalPanel {
  /** @param {{act: Function, toast: Function}} page */
  constructor(page) {
    this.page = page;
  }

  setup() {
    const { act, toast } = this.page;
    $("#goal-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#goal-text");
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      if (await act("goal.set", { text })) input.value = "";
    });
    $("#checkout-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const result = new FormData(e.target).get("result");
      if (!result) { toast("Choose done, partly or missed."); return; }
      const note = $("#checkout-note").value.trim();
      if (await act("goal.check", note ? { result, note } : { result })) $("#checkout-note").value = "";
    });
  }

  render(state) {
    const participant = state.me.role === "participant";
    $("#goal-panel").hidden = !participant;
    if (!participant) return;
    const g = state.goals[state.me.member_id];
    const ph = currentPhase(state);
    const current = $("#goal-current");
    if (g && g.text) {
      current.hidden = false;
      current.textContent = "";
      current.append(el("strong", {}, "Your goal: "), g.text);
      if (g.result) current.append(el("span", { class: `result-${g.result}` }, ` — ${RESULT_LABELS[g.result]}`));
    } else {
      current.hidden = true;
    }
    const checkin = ph?.kind === "checkin";
    $("#goal-panel").classList.toggle("my-turn", checkin && !(g && g.text));
    setText($("#goal-hint"), checkin ? "Check-in: say what you will do in this sprint." : "Say what you will do in this sprint; the room sees it.");
    const checkoutTime = ph?.kind === "checkout" || state.sprint.state === "done" || state.sprint.state === "idle";
    $("#checkout-form").hidden = !(g && g.text && !g.result && checkoutTime);
  }
}
