// "My practice": streak, totals, a 12-week calendar of practice days, the
// person's groups and sessions (goals, results, feedback), the form that
// creates a group (group-form.js) and the public groups to join
// (public-groups.js). The key comes from this browser, or from a personal
// link (#person_key=…).

import { $, el, copyText, fill } from "./dom.js";
import { createGroup, deleteMe, exportMe, getMe, mySessions, updateMe } from "./api.js";
import { adoptPersonFromLink, ensurePerson, forgetPerson, loadPerson, practiceLink, savePerson } from "./person.js";
import { DAY_MS, calendar, goalsKept, minutes, sessionCard } from "./history-view.js";
import { setupGroupForm } from "./group-form.js";
import { setupPublicGroups } from "./public-groups.js";

const CALENDAR_MS = 12 * 7 * DAY_MS;
let person = null;
let sessions = [];
let next = null;
let myGroups = new Set();
let publicGroups = null;

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

function showStart() {
  $("#practice").hidden = true;
  $("#start-form").hidden = false;
}

// Set up once: after a refusal (no name, the server's error) the form stays usable.
function setupStart() {
  $("#start-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#start-name").value.trim();
    if (!name) {
      $("#start-error").textContent = "Type your name.";
      return;
    }
    $("#start-error").textContent = "";
    const button = e.target.querySelector("button[type=submit]");
    button.disabled = true; // one person, however often it is clicked
    try {
      person = await ensurePerson(name);
    } catch (err) {
      $("#start-error").textContent = err.message;
      return;
    } finally {
      button.disabled = false;
    }
    $("#start-form").hidden = true;
    await show();
  });
}

function renderMe(me) {
  $("#streak-days").textContent = String(me.streak.days);
  $("#streak-best").textContent = String(me.streak.best);
  $("#total-sessions").textContent = String(me.totals.sessions);
  $("#total-focus").textContent = minutes(me.totals.focus_ms);
  $("#goals-kept").textContent = goalsKept(me.goals_kept);
  $("#week-focus").textContent = minutes(me.week.focus_ms);
  $("#best-week").textContent = minutes(me.bests.week_focus_ms);
  $("#rename").value = me.name;
  myGroups = new Set(me.groups.map((g) => g.group_id));
  fill($("#groups"), me.groups.length
    ? me.groups.map((g) => el("li", {},
      el("a", { href: `/g/${encodeURIComponent(g.group_id)}` }, g.name),
      el("span", { class: "badge" }, g.role)))
    : el("li", { class: "muted" }, "No group yet."));
}

function renderSessions() {
  fill($("#sessions"), sessions.length ? sessions.map((s) => sessionCard(s))
    : el("p", { class: "muted" }, "No session kept yet: join a room and practise."));
  $("#more").hidden = !next;
  fill($("#calendar"), calendar(sessions, Date.now()));
}

async function loadPage() {
  const page = await mySessions(person.person_key, next);
  sessions = sessions.concat(page.sessions);
  next = page.next;
}

async function show() {
  let me;
  try {
    me = await getMe(person.person_key);
  } catch (err) {
    if (err.status === 401) {
      forgetPerson();
      notice("This browser's practice log no longer exists.");
      showStart();
      return;
    }
    notice(err.message);
    return;
  }
  savePerson({ ...person, name: me.name });
  renderMe(me);
  sessions = [];
  next = null;
  await loadPage();
  // The calendar covers 12 weeks: load what it needs (a few pages at most).
  for (let i = 0; i < 5 && next && sessions.at(-1).started_at > Date.now() - CALENDAR_MS; i++) await loadPage();
  renderSessions();
  $("#personal-link").value = practiceLink(person);
  $("#practice").hidden = false;
  await publicGroups.load();
}

function setupControls() {
  setupStart();
  $("#more").addEventListener("click", async () => {
    await loadPage();
    renderSessions();
  });
  $("#copy-link").addEventListener("click", () => copyText($("#personal-link").value, $("#personal-link")));
  $("#rename-save").addEventListener("click", async () => {
    const name = $("#rename").value.trim();
    if (!name) return;
    try {
      renderMe(await updateMe(person.person_key, { name }));
    } catch (err) {
      notice(err.message);
    }
  });
  $("#export").addEventListener("click", async () => {
    const data = await exportMe(person.person_key);
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
    const a = el("a", { href: url, download: "my-practice.json" });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  });
  $("#delete").addEventListener("click", async () => {
    if (!confirm("Delete your practice history for good?")) return;
    await deleteMe(person.person_key);
    forgetPerson();
    location.assign("/");
  });
  setupGroupForm({
    slot: $("#group-form-slot"),
    send: (body) => createGroup(person.person_key, body),
    onSaved: (group) => location.assign(`/g/${encodeURIComponent(group.group_id)}`),
  });
  publicGroups = setupPublicGroups({ memberOf: (id) => myGroups.has(id) });
}

async function main() {
  setupControls();
  try {
    person = await adoptPersonFromLink();
  } catch (err) {
    notice(`That personal link does not work (${err.message}).`);
    person = loadPerson();
  }
  if (person) await show();
  else showStart();
}

main();
