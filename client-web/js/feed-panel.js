// The feedback panel of the room page: reactions, chat, comments (public or
// private, to someone or the room, anchored to the moment), and the feed
// they all arrive in. `feedItem` draws one feed entry (the mentors' notes
// use it too).

import { nameOf, sortedMembers, aimedAt } from "./state.js";
import { formatMmss } from "./timer.js";
import { $, el, fill, clockTime } from "./dom.js";

export const REACTIONS = ["👏", "👍", "🔥", "❤️", "🎉", "🙌", "🎵", "🤔"];

/** Where a comment points: round and phase, time into it, whose turn. */
export function anchorText(state, a) {
  if (!a) return "";
  const parts = [];
  if (a.round != null && a.phase != null) parts.push(`round ${a.round} · ${a.phase}`);
  if (a.timer_ms != null) parts.push(`at ${formatMmss(a.timer_ms)} in`);
  if (a.turn_of != null) parts.push(`${nameOf(state, a.turn_of)}'s turn`);
  return parts.join(" · ");
}

export function feedItem(state, ev) {
  const mine = state.me.member_id;
  const who = ev.actor === mine ? "You" : nameOf(state, ev.actor);
  const target = ev.to != null ? (ev.to === mine ? "you" : nameOf(state, ev.to)) : null;
  const cls = [aimedAt(ev, mine) ? "aimed-at-me" : "", ev.private ? "is-private" : ""].filter(Boolean).join(" ");
  const meta = el("div", { class: "meta" }, el("span", { class: "who" }, who), el("time", {}, clockTime(ev.at)));
  let body;
  if (ev.type === "chat.message") {
    body = el("div", { class: "text" }, ev.text);
  } else if (ev.type === "reaction") {
    meta.append(el("span", {}, target ? `reacted to ${target}` : "reacted"));
    body = el("div", { class: "text", "aria-label": `reaction ${ev.emoji}` }, ev.emoji);
  } else if (ev.type === "comment") {
    meta.append(el("span", { class: "badge" }, target ? `comment to ${target}` : "comment"));
    if (ev.private) meta.append(el("span", { class: "badge private" }, "private"));
    body = [el("div", { class: "text" }, ev.text), el("div", { class: "anchor" }, anchorText(state, ev.anchor))];
  } else {
    body = el("div", { class: "text" }, ev.text ?? "");
  }
  return el("li", { class: cls, dataset: { type: ev.type, stream: ev.stream ?? "", seq: String(ev.seq ?? "") } }, meta, body);
}

export class FeedPanel {
  /** @param {{act: Function, toast: Function}} page */
  constructor(page) {
    this.page = page;
    this.memberSelectKey = ""; // who the "to" selects list, to redraw them only on change
    this.feedRendered = null; // the feed last drawn (state.feed is replaced, never mutated)
  }

  setup() {
    const { act, toast } = this.page;
    const bar = $("#reaction-bar");
    for (const emoji of REACTIONS) {
      bar.append(el("button", { type: "button", "aria-label": `React ${emoji}`, onclick: (e) => {
        const to = $("#react-to").value;
        act("reaction.send", to ? { emoji, to } : { emoji }, e.currentTarget);
      } }, emoji));
    }
    $("#chat-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#chat-text");
      const text = input.value.trim();
      if (!text) return;
      if (await act("chat.send", { text })) input.value = "";
    });
    $("#comment-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#comment-text");
      const text = input.value.trim();
      if (!text) return;
      const to = $("#comment-to").value;
      const priv = $("#comment-private").checked;
      if (priv && !to) { toast("A private comment needs someone to go to."); $("#comment-to").focus(); return; }
      const payload = { text };
      if (to) payload.to = to;
      if (priv) payload.private = true;
      if (await act("comment.send", payload)) input.value = "";
    });
  }

  render(state) {
    const role = state.me.role;
    $("#comment-form").hidden = !(role === "participant" || role === "mentor");
    this.renderMemberSelects(state);
    if (this.feedRendered === state.feed) return;
    this.feedRendered = state.feed;
    const items = state.feed.filter((ev) => ev.type !== "mentor.note").slice().reverse();
    $("#feed").replaceChildren(...items.map((ev) => feedItem(state, ev)));
  }

  renderMemberSelects(state) {
    const others = sortedMembers(state).filter((m) => m.id !== state.me.member_id);
    const key = others.map((m) => `${m.id}:${m.name}`).join("|");
    if (key === this.memberSelectKey) return;
    this.memberSelectKey = key;
    for (const [sel, first] of [[$("#react-to"), "everyone"], [$("#comment-to"), "the room"]]) {
      const value = sel.value;
      fill(sel, el("option", { value: "" }, first), others.map((m) => el("option", { value: m.id }, m.name)));
      sel.value = others.some((m) => m.id === value) ? value : "";
    }
  }
}
