// A group's kept session as a report (GET /api/groups/{id}/sessions/{room_id}):
// attendance, goals and results, turns, feedback per person, and the
// mentors' notes when the server sent them (to mentors only). The server
// decides what the reader may see; this only shows it. Pure helpers first,
// then DOM built with el() (text nodes only, never innerHTML).

import { el } from "./dom.js";
import { RESULT_LABELS } from "./goals.js";
import { formatMmss } from "./timer.js";
import { minutes, when } from "./history-view.js";

/** "👏 × 3  🎵 × 1", or "" without reactions. */
export function reactionsText(reactions) {
  return Object.entries(reactions || {}).map(([emoji, n]) => `${emoji} × ${n}`).join("  ");
}

/** Where in the session a comment was made: "round 1 · Focus · 10:00 in". */
export function anchorText(a) {
  if (!a) return "";
  const parts = [];
  if (a.round != null && a.phase != null) parts.push(`round ${a.round} · ${a.phase}`);
  if (a.timer_ms != null) parts.push(`${formatMmss(a.timer_ms)} in`);
  return parts.join(" · ");
}

/** The report's headline numbers. */
export function summary(report) {
  const goals = report.goals || [];
  const comments = (report.feedback || []).flatMap((f) => f.comments || []);
  return {
    present: report.room?.present ?? (report.attendance || []).length,
    minutes: Math.round(Math.max(0, (report.room?.ended_at ?? 0) - (report.room?.started_at ?? 0)) / 60000),
    goals: goals.length,
    done: goals.filter((g) => g.result === "done").length,
    comments: comments.length,
  };
}

export function summaryText(report) {
  const s = summary(report);
  return `${s.present} present · ${s.minutes} min · ${s.done}/${s.goals} goals done · ${s.comments} ${s.comments === 1 ? "comment" : "comments"}`;
}

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted" }, empty);
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

function section(id, title, ...body) {
  return el("section", { class: "panel", "aria-labelledby": `${id}-h`, id },
    el("h2", { id: `${id}-h` }, title), ...body);
}

function comment(c) {
  return el("li", { class: c.private ? "is-private" : "" },
    el("div", { class: "meta" },
      el("span", { class: "who" }, c.from_name || "someone"),
      el("time", {}, when(c.at)),
      c.private ? el("span", { class: "badge private" }, "private") : null),
    el("div", { class: "text" }, c.text),
    el("div", { class: "anchor" }, anchorText(c.anchor)));
}

/** The report's sections (attendance, goals, turns, feedback, notes), for `viewerId`. */
export function reportSections(report, viewerId) {
  const attendance = section("attendance", "Attendance", el("div", { class: "table-wrap" },
    table(["Name", "Role", "Present", "Focus"],
      (report.attendance || []).map((a) => [a.name, a.role, minutes(a.present_ms), minutes(a.focus_ms)]),
      "Nobody with a practice log was there.")));
  // A list, not a table: long goals and notes wrap on a phone.
  const goals = section("goals", "Goals and results", (report.goals || []).length
    ? el("ul", { class: "goals" }, report.goals.map((g) => el("li", { dataset: { person: g.person_id } },
      el("span", { class: "who" }, g.name), ": ",
      el("span", { class: "goal" }, g.text), " — ",
      g.result ? el("span", { class: `result result-${g.result}` }, RESULT_LABELS[g.result] || g.result)
        : el("span", { class: "result muted" }, "not checked out"),
      g.note ? el("span", { class: "note muted" }, ` (${g.note})`) : null)))
    : el("p", { class: "muted" }, "No goals were set."));
  const turns = section("turns", "Turns", el("div", { class: "table-wrap" },
    table(["Name", "Length"], (report.turns || []).map((t) => [t.name, formatMmss(t.ms)]),
      "No turns were taken.")));
  const cards = (report.feedback || []).map((f) => {
    const reactions = reactionsText(f.reactions);
    return el("article", { class: `card${f.person_id === viewerId ? " mine" : ""}`, dataset: { person: f.person_id } },
      el("h3", {}, f.person_id === viewerId ? `${f.name} (you)` : f.name),
      reactions ? el("p", { class: "muted" }, `Reactions: ${reactions}`) : null,
      (f.comments || []).length
        ? el("ul", { class: "feed history-feed" }, f.comments.map(comment))
        : el("p", { class: "muted" }, "No comments."));
  });
  const feedback = section("feedback", "Feedback", cards.length
    ? el("div", { class: "dash" }, cards) : el("p", { class: "muted" }, "No feedback."));
  const parts = [attendance, goals, turns, feedback];
  if (Array.isArray(report.notes)) {
    parts.push(section("notes", "Mentors' notes (mentors only)", report.notes.length
      ? el("ul", { class: "feed history-feed" }, report.notes.map((n) => comment({ ...n, private: false })))
      : el("p", { class: "muted" }, "No notes.")));
  }
  return parts;
}
