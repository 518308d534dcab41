// The people panel of the room page: everyone in the room with their role,
// status, turn and goal; your own status; and, for mentors, each member's
// role and a two-step "Remove".

import { sortedMembers } from "./state.js";
import { queuePosition } from "./turns.js";
import { goalLine } from "./goals.js";
import { $, el, replaceKeepingFocus } from "./dom.js";

const CONFIRM_MS = 4000; // a "Confirm remove" reverts to "Remove" after this

export class PeoplePanel {
  /** @param {{act: Function, scheduleRender: Function}} page */
  constructor(page) {
    this.page = page;
    this.pendingRemove = null; // the member whose removal awaits confirmation
  }

  setup() {
    $("#my-status").addEventListener("change", (e) => this.page.act("status.set", { status: e.target.value }));
  }

  render(state) {
    const me = state.me.member_id;
    const mentor = state.me.role === "mentor";
    const items = sortedMembers(state).map((m) => {
      const li = el("li", { dataset: { memberId: m.id } },
        el("span", { class: "name" }, m.name, m.id === me ? " (you)" : ""),
        statusBadges(state, m),
        m.text ? el("span", { class: "muted" }, `“${m.text}”`) : null,
      );
      const goal = goalLine(state.goals[m.id]);
      if (goal) li.append(el("span", { class: "goal-text" }, goal));
      if (mentor && m.id !== me) li.append(this.memberAdmin(m));
      return li;
    });
    replaceKeepingFocus($("#people"), items);
    const mine = state.members[me];
    const sel = $("#my-status");
    if (mine && document.activeElement !== sel) sel.value = mine.status;
  }

  memberAdmin(m) {
    const { act, scheduleRender } = this.page;
    const id = `role-${m.id}`;
    const select = el("select", { id, "data-focus-key": `role-${m.id}`, onchange: (e) => act("member.set_role", { member_id: m.id, role: e.target.value }) },
      ["mentor", "participant", "observer"].map((r) => el("option", { value: r, selected: r === m.role }, r)));
    const confirming = this.pendingRemove === m.id;
    const remove = el("button", {
      type: "button", class: "small danger", "data-focus-key": `remove-${m.id}`,
      "aria-label": confirming ? `Confirm removing ${m.name}` : `Remove ${m.name}`,
      onclick: () => {
        if (this.pendingRemove === m.id) {
          this.pendingRemove = null;
          act("member.remove", { member_id: m.id });
        } else {
          this.pendingRemove = m.id;
          setTimeout(() => { if (this.pendingRemove === m.id) { this.pendingRemove = null; scheduleRender(); } }, CONFIRM_MS);
        }
        scheduleRender();
      },
    }, confirming ? "Confirm remove" : "Remove");
    return el("span", { class: "row" }, el("label", { for: id, class: "sr-only" }, `Role of ${m.name}`), select, remove);
  }
}

function statusBadges(state, m) {
  const out = [el("span", { class: `badge ${m.role}` }, m.role), el("span", { class: "badge" }, m.status)];
  if (!m.connected) out.push(el("span", { class: "badge off" }, "disconnected"));
  const pos = queuePosition(state.turns, m.id);
  if (pos === 0) out.push(el("span", { class: "badge turn" }, "has the turn"));
  else if (pos > 0) out.push(el("span", { class: "badge turn" }, `hand up #${pos}`));
  return out;
}
