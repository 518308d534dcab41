// The session report: attendance, goals and results, turns, feedback per
// participant; downloadable as JSON. Needs the host key: from #host_key= (or
// the old ?host_key=, see links.js) or from what the room page saved in this tab.

import { $, downloadJson, el } from "./dom.js";
import { getReport } from "./api.js";
import { formatMmss } from "./timer.js";
import { loadHostKey, saveHostKey } from "./storage.js";
import { pageSecrets } from "./links.js";
import { RESULT_LABELS } from "./goals.js";

const roomId = decodeURIComponent(location.pathname.split("/")[2] || "");
const params = pageSecrets();

function when(ms) {
  return typeof ms === "number" ? new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "medium" }) : "—";
}
function dur(ms) {
  return typeof ms === "number" ? formatMmss(ms) : "—";
}

function table(headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted" }, empty);
  return el("table", {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
}

function anchorText(a) {
  if (!a) return "";
  const parts = [];
  if (a.round != null && a.phase != null) parts.push(`round ${a.round} · ${a.phase}`);
  if (a.timer_ms != null) parts.push(`${formatMmss(a.timer_ms)} in`);
  return parts.join(" · ");
}

function render(report) {
  const names = {};
  for (const a of report.attendance || []) names[a.member_id] = a.name;
  for (const f of report.feedback || []) names[f.member_id] = f.name;
  const title = report.room?.title || "Room";
  $("#room-title").textContent = title;
  document.title = `Report: ${title} — Ensemble`;
  $("#report-h").textContent = `Session report: ${title}`;
  $("#report-meta").textContent = `Opened ${when(report.room?.created_at)}${report.room?.closed_at ? ` · closed ${when(report.room.closed_at)}` : ""} · generated ${when(report.generated_at)}`;

  $("#attendance").replaceChildren(table(["Name", "Role", "Joined", "Left", "Time present"],
    (report.attendance || []).map((a) => [a.name, a.role, when(a.joined_at), a.left_at ? when(a.left_at) : "still here", dur(a.present_ms)]),
    "Nobody attended yet."));

  $("#goals").replaceChildren(table(["Name", "Goal", "Result", "Note"],
    (report.goals || []).map((g) => [g.name, g.text, g.result ? el("span", { class: `result-${g.result}` }, RESULT_LABELS[g.result] || g.result) : "not checked out", g.note || ""]),
    "No goals were set."));

  $("#turns").replaceChildren(table(["Name", "Started", "Length"],
    (report.turns || []).map((t) => [t.name, when(t.started_at), dur(t.ms)]),
    "No turns were taken."));

  const fb = (report.feedback || []).map((f) => {
    const reactions = Object.entries(f.reactions || {}).map(([emoji, n]) => `${emoji} × ${n}`).join("  ");
    return el("article", { class: "card" },
      el("h3", {}, f.name),
      el("p", { class: "muted" }, reactions ? `Reactions: ${reactions}` : "No reactions."),
      (f.comments || []).length
        ? el("ul", { class: "feed" }, f.comments.map((c) => el("li", { class: c.private ? "is-private" : "" },
          el("div", { class: "meta" },
            el("span", { class: "who" }, names[c.from] || c.from || "someone"),
            el("time", {}, when(c.at)),
            c.private ? el("span", { class: "badge private" }, "private") : null),
          el("div", { class: "text" }, c.text),
          el("div", { class: "anchor" }, anchorText(c.anchor)))))
        : el("p", { class: "muted" }, "No comments."));
  });
  $("#feedback").replaceChildren(fb.length ? el("div", { class: "dash" }, fb) : el("p", { class: "muted" }, "No feedback yet."));

  $("#download").onclick = () => downloadJson(`ensemble-report-${roomId}.json`, report);
  $("#back").href = `/r/${encodeURIComponent(roomId)}`;
  $("#key-form").hidden = true;
  $("#report").hidden = false;
}

async function load(key) {
  const n = $("#notice");
  n.hidden = true;
  try {
    const report = await getReport(roomId, key);
    saveHostKey(roomId, key);
    render(report);
  } catch (err) {
    n.textContent = err.status === 401 ? "That host key is not valid for this room." : err.status === 404 ? "There is no such room." : `Could not load the report: ${err.message}`;
    n.hidden = false;
    $("#key-form").hidden = false;
  }
}

$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = $("#key-input").value.trim();
  if (key) load(key);
});

const key = params.get("host_key") || loadHostKey(roomId);
if (key) load(key);
else $("#key-form").hidden = false;
