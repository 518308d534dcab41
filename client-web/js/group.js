// The group page: next session, start (mentors) or join today's session,
// its program and schedule (mentors edit the group: group-plan-panel.js),
// the opt-in board, the people (mentors open each person's page), past
// sessions (each opens its report), leaving (group-leave.js). An invite or
// mentor link (#invite=… / #mentor_key=…) joins.

import { $, el, copyText, fill } from "./dom.js";
import { getBoard, getGroup, joinGroup, leaveGroup, setBoard, startGroupSession, updateGroup } from "./api.js";
import { dropFromFragment, ensurePerson, fragment, loadPerson } from "./person.js";
import { groupStreakText, minutes, when } from "./history-view.js";
import { setupPlanPanel } from "./group-plan-panel.js";
import { setupLeave } from "./group-leave.js";

const groupId = decodeURIComponent(location.pathname.split("/")[2] || "");
let person = null;
let past = [];
let next = null;
let showPlan = null;

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

function roomLink(roomId) {
  return `/r/${encodeURIComponent(roomId)}#group=${encodeURIComponent(groupId)}`;
}

function reportLink(roomId) {
  return `/g/${encodeURIComponent(groupId)}/s/${encodeURIComponent(roomId)}`;
}

async function joinFromLink() {
  const f = fragment();
  const door = f.get("mentor_key") ? { mentor_key: f.get("mentor_key") } : f.get("invite") ? { invite: f.get("invite") } : null;
  if (!door) return;
  dropFromFragment("invite", "mentor_key");
  await joinGroup(person.person_key, groupId, door);
}

function renderBoard(board) {
  fill($("#board"), board.entries.length
    ? el("table", {},
      el("thead", {}, el("tr", {}, ["Name", "Streak", "In a row here", "Focus", "Goals done"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, board.entries.map((e) => el("tr", {},
        el("td", {}, e.name), el("td", {}, `${e.streak} d`), el("td", { class: "group-streak" }, String(e.group_streak.count)),
        el("td", {}, minutes(e.focus_ms)), el("td", {}, String(e.goals_done))))))
    : el("p", { class: "muted" }, "Nobody is on the board this week. Only people who opt in are shown."));
}

function renderPast() {
  fill($("#past"), past.length
    ? past.map((s) => el("li", { class: "past-session" },
      // Its report (kept in the history; the server filters it for this person).
      el("a", { class: "session-report", href: reportLink(s.room_id), dataset: { room: s.room_id } },
        `${s.title} · ${when(s.started_at)}`),
      el("span", { class: "muted" }, `${s.present} present`),
      // Mentors only (the server sends notes to mentors alone).
      s.notes?.length ? el("ul", { class: "notes" }, s.notes.map((n) => el("li", {}, `${n.from_name}: ${n.text}`))) : null))
    : el("li", { class: "muted" }, "No session yet."));
  $("#more").hidden = !next;
}

async function show() {
  let group;
  try {
    await joinFromLink();
    group = await getGroup(person.person_key, groupId);
  } catch (err) {
    notice(err.status === 403 ? "This group is for its members: ask for an invite link." : err.message);
    return;
  }
  render(group);
  renderBoard(await getBoard(person.person_key, groupId));
  $("#group").hidden = false;
}

/** The page from the group as GET /api/groups/{id} has it (past sessions: its first page). */
function render(group) {
  const mentor = group.role === "mentor";
  const scheduled = !!group.schedule?.days?.length;
  $("#group-title").textContent = group.name;
  document.title = `${group.name} — Ensemble`;
  $("#group-h").textContent = group.name;
  $("#next-session").textContent = group.next_session_at ? `Next session: ${when(group.next_session_at)}` : "No schedule.";
  const live = $("#join-live");
  live.hidden = !group.live_room;
  if (group.live_room) live.href = roomLink(group.live_room.room_id);
  $("#start").hidden = !mentor || !!group.live_room;
  $("#mentor-links").hidden = !mentor;
  if (mentor) {
    $("#invite-link").value = new URL(`/g/${encodeURIComponent(groupId)}#invite=${encodeURIComponent(group.invite)}`, location.href).href;
    $("#mentor-link").value = group.mentor_key
      ? new URL(`/g/${encodeURIComponent(groupId)}#mentor_key=${encodeURIComponent(group.mentor_key)}`, location.href).href : "";
  }
  fill($("#members"), group.members.map((m) => el("li", { dataset: { person: m.person_id } },
    mentor ? el("a", { href: `/g/${encodeURIComponent(groupId)}/p/${encodeURIComponent(m.person_id)}` }, m.name) : el("span", {}, m.name),
    el("span", { class: "muted" }, `${m.role} · ${m.streak} d streak · `,
      el("span", { class: "group-streak" }, groupStreakText(m.group_streak, scheduled))))));
  $("#board-opt-in").checked = group.board_opt_in;
  showPlan(group);
  past = group.sessions;
  next = group.next;
  renderPast();
}

function setupControls() {
  $("#start").addEventListener("click", async () => {
    try {
      const { room_id: roomId } = await startGroupSession(person.person_key, groupId);
      location.assign(roomLink(roomId));
    } catch (err) {
      $("#start-error").textContent = err.message;
    }
  });
  $("#board-opt-in").addEventListener("change", async (e) => {
    await setBoard(person.person_key, groupId, e.target.checked);
    renderBoard(await getBoard(person.person_key, groupId));
  });
  $("#more").addEventListener("click", async () => {
    const page = await getGroup(person.person_key, groupId, next);
    past = past.concat(page.sessions);
    next = page.next;
    renderPast();
  });
  showPlan = setupPlanPanel({
    save: (changes) => updateGroup(person.person_key, groupId, changes),
    onSaved: render,
  });
  setupLeave({
    leave: () => leaveGroup(person.person_key, groupId),
    onLeft: () => {
      $("#group").hidden = true;
      notice("You left the group. Your own practice history stays yours (My practice).");
    },
  });
  $("#invite-copy").addEventListener("click", () => copyText($("#invite-link").value, $("#invite-link")));
  $("#mentor-copy").addEventListener("click", () => copyText($("#mentor-link").value, $("#mentor-link")));
}

function main() {
  setupControls();
  person = loadPerson();
  if (person) {
    show();
    return;
  }
  $("#name-form").hidden = false;
  $("#name-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("#name-input").value.trim();
    if (!name) {
      $("#name-error").textContent = "Type your name.";
      return;
    }
    try {
      person = await ensurePerson(name);
    } catch (err) {
      $("#name-error").textContent = err.message;
      return;
    }
    $("#name-form").hidden = true;
    show();
  });
}

main();
