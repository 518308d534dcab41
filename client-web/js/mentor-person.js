// The mentor's page for one person of their group: goals and results over
// time, attendance, and every comment mentors gave (private ones included).

import { $, el, fill } from "./dom.js";
import { groupPerson } from "./api.js";
import { loadPerson } from "./person.js";
import { goalsKept, sessionCard } from "./history-view.js";

const [, , groupId, , personId] = location.pathname.split("/").map(decodeURIComponent);
const me = loadPerson();
let sessions = [];
let next = null;

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

function render(page) {
  $("#person-h").textContent = `${page.name}'s practice`;
  document.title = `${page.name} — Ensemble`;
  $("#streak-days").textContent = String(page.streak.days);
  $("#streak-best").textContent = String(page.streak.best);
  $("#group-streak").textContent = String(page.group_streak.count);
  $("#group-streak-best").textContent = String(page.group_streak.best);
  $("#attended").textContent = String(sessions.length) + (next ? "+" : "");
  $("#goals-kept").textContent = goalsKept(page.goals_kept);
  fill($("#sessions"), sessions.length ? sessions.map((s) => sessionCard(s))
    : el("p", { class: "muted" }, "No session in this group yet."));
  $("#more").hidden = !next;
}

async function load() {
  const page = await groupPerson(me.person_key, groupId, personId, next);
  sessions = sessions.concat(page.sessions);
  next = page.next;
  render(page);
}

async function main() {
  $("#back").href = `/g/${encodeURIComponent(groupId)}`;
  if (!me) {
    notice("Open this page on the device you use as the group's mentor.");
    return;
  }
  $("#more").addEventListener("click", load);
  try {
    await load();
  } catch (err) {
    notice(err.status === 403 ? "Only the group's mentors see this page." : err.message);
    return;
  }
  $("#person").hidden = false;
}

main();
