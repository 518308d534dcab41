// The mentors' panels of the room page: sprint controls, the invite link,
// the report link, closing the room (two steps), the mentors-only notes, and
// the dashboard (a card per participant: status, goal, result, turn,
// feedback, last activity; a private comment and "Give turn" from each).

import { nameOf, participants } from "./state.js";
import { queuePosition } from "./turns.js";
import { resultText } from "./goals.js";
import { feedItem } from "./feed-panel.js";
import { PRESETS, presetById } from "./presets.js";
import { programEditor } from "./program-editor.js";
import { secretLink } from "./links.js";
import { loadInvite } from "./storage.js";
import { $, el, fill, setText, ago, copyText } from "./dom.js";

const CONFIRM_MS = 4000; // "Confirm: close the room" reverts after this
const DASHBOARD_EVERY_MS = 5000; // "last active" ages even when nothing happens

export class MentorPanel {
  /**
   * @param {{act: Function, toast: Function, state: () => object|null,
   *   serverNow: () => number, scheduleRender: Function, roomId: string}} page
   */
  constructor(page) {
    this.page = page;
    this.pendingClose = false;
    this.cards = new Map(); // member id -> its dashboard card
    this.notesRendered = null; // the feed whose notes were last drawn
  }

  setup() {
    const { act, toast, scheduleRender, roomId } = this.page;
    // sprint
    const preset = $("#sprint-preset");
    preset.append(el("option", { value: "room" }, "The room's program"));
    for (const p of PRESETS) preset.append(el("option", { value: p.id }, p.label));
    preset.append(el("option", { value: "custom" }, "Custom…"));
    const editor = programEditor({ idPrefix: "sprint" });
    $("#sprint-custom").append(editor.element);
    preset.addEventListener("change", () => { $("#sprint-custom").hidden = preset.value !== "custom"; });
    $("#sprint-start").addEventListener("click", (e) => {
      let payload = {};
      try {
        if (preset.value === "custom") payload = editor.getProgram();
        else if (preset.value !== "room") payload = presetById(preset.value).program;
      } catch (err) { toast(`Program: ${err.message}`); return; }
      act("sprint.start", payload, e.currentTarget);
    });
    $("#sprint-skip").addEventListener("click", (e) => act("sprint.skip", {}, e.currentTarget));
    $("#sprint-stop").addEventListener("click", (e) => act("sprint.stop", {}, e.currentTarget));

    // the room
    $("#report-link").href = `/r/${encodeURIComponent(roomId)}/report`;
    $("#room-close").addEventListener("click", (e) => {
      if (!this.pendingClose) {
        this.pendingClose = true;
        setTimeout(() => { this.pendingClose = false; scheduleRender(); }, CONFIRM_MS);
        scheduleRender();
        return;
      }
      this.pendingClose = false;
      act("room.close", {}, e.currentTarget);
    });
    $("#invite-copy").addEventListener("click", async () => {
      const ok = await copyText($("#invite-link").value, $("#invite-link"));
      toast(ok ? "Invite link copied." : "Select the link and copy it.");
    });
    $("#note-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#note-text");
      const text = input.value.trim();
      if (!text) return;
      if (await act("note.mentors", { text })) input.value = "";
    });

    setInterval(() => {
      const state = this.page.state();
      if (state && state.me.role === "mentor") this.renderDashboard(state);
    }, DASHBOARD_EVERY_MS);
  }

  render(state) {
    const mentor = state.me.role === "mentor";
    $("#mentor-controls").hidden = !mentor;
    $("#notes-panel").hidden = !mentor;
    $("#dashboard").hidden = !mentor;
    if (!mentor) return;
    this.renderNotes(state);
    this.renderDashboard(state);
    this.renderControls(state);
  }

  renderNotes(state) {
    if (this.notesRendered === state.feed) return;
    this.notesRendered = state.feed;
    const notes = state.feed.filter((ev) => ev.type === "mentor.note").slice().reverse();
    $("#notes").replaceChildren(...notes.map((ev) => feedItem(state, ev)));
  }

  renderControls(state) {
    const roomId = this.page.roomId;
    const code = state.room.invite || loadInvite(roomId);
    $("#invite-line").hidden = !code;
    if (code) $("#invite-link").value = new URL(secretLink(`/r/${encodeURIComponent(roomId)}`, { invite: code }), location.href).href;
    $("#sprint-skip").disabled = state.sprint.state !== "running";
    $("#sprint-stop").disabled = state.sprint.state !== "running";
    setText($("#room-close"), this.pendingClose ? "Confirm: close the room" : "Close room");
  }

  renderDashboard(state) {
    const list = participants(state);
    setText($("#dash-empty"), list.length ? "" : "No participants yet.");
    $("#dash-empty").hidden = list.length > 0;
    const grid = $("#dash");
    const keep = new Set(list.map((m) => m.id));
    for (const [id, card] of this.cards) if (!keep.has(id)) { card.node.remove(); this.cards.delete(id); }
    const now = this.page.serverNow();
    list.forEach((m, i) => {
      let card = this.cards.get(m.id);
      if (!card) { card = this.card(m.id); this.cards.set(m.id, card); }
      if (grid.children[i] !== card.node) grid.insertBefore(card.node, grid.children[i] || null);
      const g = state.goals[m.id];
      const pos = queuePosition(state.turns, m.id);
      setText(card.refs.name, m.name);
      setText(card.label, `Private comment to ${m.name}`);
      card.grant.setAttribute("aria-label", `Give the turn to ${m.name}`);
      fill(card.refs.badges, m.connected ? el("span", { class: "badge" }, "connected") : el("span", { class: "badge off" }, "disconnected"));
      setText(card.refs.status, m.text ? `${m.status} — ${m.text}` : m.status);
      setText(card.refs.goal, g?.text || "—");
      setText(card.refs.result, resultText(g));
      setText(card.refs.turn, pos === 0 ? "has the turn" : pos > 0 ? `hand up, #${pos}` : "—");
      setText(card.refs.feedback, String(state.feedback[m.id] || 0));
      setText(card.refs.last, ago(state.activity[m.id], now));
    });
  }

  /** A participant's card: built once, then updated in place (typing in it survives renders). */
  card(id) {
    const { act, toast } = this.page;
    const inputId = `pc-${id}`;
    const input = el("input", { type: "text", id: inputId, maxlength: 2000, placeholder: "Private comment", autocomplete: "off" });
    const send = el("button", { type: "button", class: "small primary" }, "Send privately");
    const submit = async () => {
      const text = input.value.trim();
      if (!text) { input.focus(); return; }
      const ok = await act("comment.send", { text, to: id, private: true }, send);
      if (ok) { input.value = ""; toast(`Private comment sent to ${nameOf(this.page.state(), id)}.`); }
    };
    send.addEventListener("click", submit);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); submit(); } });
    const refs = {
      name: el("span", {}), badges: el("span", { class: "row" }),
      status: el("dd"), goal: el("dd"), result: el("dd"), turn: el("dd"), feedback: el("dd"), last: el("dd"),
    };
    const grant = el("button", { type: "button", class: "small", onclick: () => act("turn.grant", { member_id: id }) }, "Give turn");
    const label = el("label", { for: inputId, class: "sr-only" }, "");
    const node = el("article", { class: "card", dataset: { memberId: id } },
      el("h3", {}, refs.name, refs.badges),
      el("dl", {},
        el("dt", {}, "Status"), refs.status,
        el("dt", {}, "Goal"), refs.goal,
        el("dt", {}, "Result"), refs.result,
        el("dt", {}, "Turn"), refs.turn,
        el("dt", {}, "Feedback"), refs.feedback,
        el("dt", {}, "Last active"), refs.last),
      label,
      el("div", { class: "copy-row" }, input, send),
      el("div", { class: "row" }, grant));
    return { node, refs, label, grant };
  }
}
