// Rendering of kept sessions (My practice, the mentor's page per person) and
// the practice calendar. Pure helpers first, then DOM built with el() only.

import { el } from "./dom.js";
import { RESULT_LABELS } from "./goals.js";

export const DAY_MS = 24 * 3600 * 1000;

/** "YYYY-MM-DD" of an instant in the browser's zone. */
export function dayKey(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Practice days: local days of sessions present during focus. */
export function practiceDays(sessions) {
  return new Set(sessions.filter((s) => s.focus_ms > 0).map((s) => dayKey(s.started_at)));
}

/**
 * The calendar's days: `weeks` whole weeks (Monday first) ending with the
 * week of `now`, each {key, date, future}.
 */
export function calendarDays(now, weeks = 12) {
  const today = new Date(now);
  today.setHours(12, 0, 0, 0); // noon: DST shifts never move a day
  const monday = new Date(today);
  monday.setDate(today.getDate() - ((today.getDay() + 6) % 7) - 7 * (weeks - 1));
  const days = [];
  for (let i = 0; i < weeks * 7; i++) {
    const d = new Date(monday);
    d.setDate(monday.getDate() + i);
    days.push({ key: dayKey(d.getTime()), date: d, future: d.getTime() > today.getTime() });
  }
  return days;
}

/**
 * A group streak as words: scheduled meetings kept in a row, or days with a
 * group session in a row when the group has no schedule.
 */
export function groupStreakText(groupStreak, scheduled) {
  const { count, best } = groupStreak;
  const unit = scheduled ? (count === 1 ? "meeting" : "meetings") : (count === 1 ? "group day" : "group days");
  return `${count} ${unit} in a row (best ${best})`;
}

export function minutes(ms) {
  return `${Math.round((ms || 0) / 60000)} min`;
}

/** The goals kept ratio the server computed (a partial goal counts half). */
export function goalsKept(ratio) {
  return ratio === null || ratio === undefined ? "—" : `${Math.round(ratio * 100)}%`;
}

export function when(ms) {
  return typeof ms === "number" ? new Date(ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—";
}

function anchorText(a) {
  if (!a) return "";
  const parts = [];
  if (a.round != null && a.phase != null) parts.push(`round ${a.round} · ${a.phase}`);
  if (a.timer_ms != null) parts.push(`${Math.floor(a.timer_ms / 60000)}:${String(Math.floor(a.timer_ms / 1000) % 60).padStart(2, "0")} in`);
  return parts.join(" · ");
}

export function calendar(sessions, now) {
  const practised = practiceDays(sessions);
  const days = calendarDays(now);
  const cells = days.map((d) => {
    const on = practised.has(d.key);
    return el("span", {
      class: `day${on ? " on" : ""}${d.future ? " future" : ""}`,
      title: `${d.date.toLocaleDateString()}${on ? ": practised" : ""}`,
      dataset: { day: d.key, practised: String(on) },
    });
  });
  return el("div", { class: "calendar", role: "img", "aria-label": `${practised.size} practice days in the last 12 weeks` }, cells);
}

export function sessionCard(s, { groupName } = {}) {
  const reactions = Object.entries(s.reactions || {}).map(([emoji, n]) => `${emoji} × ${n}`).join("  ");
  return el("article", { class: "card session", dataset: { room: s.room_id } },
    el("h3", {}, s.title),
    el("p", { class: "muted" },
      `${when(s.started_at)} · ${s.role} · present ${minutes(s.present_ms)} · focus ${minutes(s.focus_ms)}`,
      groupName ? ` · ${groupName}` : ""),
    s.goals.length
      ? el("ul", { class: "goals" }, s.goals.map((goal) => el("li", {},
        el("span", { class: "goal" }, goal.text), " ",
        goal.result ? el("span", { class: `result-${goal.result}` }, RESULT_LABELS[goal.result] || goal.result)
          : el("span", { class: "muted" }, "not checked out"),
        goal.note ? el("span", { class: "muted" }, ` — ${goal.note}`) : null)))
      : el("p", { class: "muted" }, "No goal set."),
    s.turns.length ? el("p", { class: "muted" }, `Turns: ${s.turns.map((t) => minutes(t.ms)).join(", ")}`) : null,
    s.feedback.length
      ? el("ul", { class: "feed history-feed" }, s.feedback.map((c) => el("li", { class: c.private ? "is-private" : "" },
        el("div", { class: "meta" },
          el("span", { class: "who" }, c.from_name || "someone"),
          el("time", {}, when(c.at)),
          c.private ? el("span", { class: "badge private" }, "private") : null),
        el("div", { class: "text" }, c.text),
        el("div", { class: "anchor" }, anchorText(c.anchor)))))
      : null,
    reactions ? el("p", { class: "muted" }, `Reactions: ${reactions}`) : null);
}
