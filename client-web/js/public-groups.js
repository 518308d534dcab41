// The list of public groups (GET /api/groups, home page and My practice):
// name, members, next session, and a Join button. Joining uses this
// browser's person; a browser without one makes it first from the name typed
// here, as the room's join form does. Later pages come from the API's `next`
// cursor ("More groups").

import { $, el, fill } from "./dom.js";
import { joinGroup, listGroups } from "./api.js";
import { ensurePerson, forgetPerson, loadPerson } from "./person.js";
import { rememberName, rememberedName } from "./storage.js";
import { when } from "./history-view.js";

/** "3 members · next session: 12 Mar 2026, 18:30" */
export function groupLine(group, whenText = when) {
  const members = `${group.members} member${group.members === 1 ? "" : "s"}`;
  return group.next_session_at ? `${members} · next session: ${whenText(group.next_session_at)}` : `${members} · no schedule`;
}

const PAGE = 10;
const groupPage = (id) => `/g/${encodeURIComponent(id)}`;

/**
 * Wire the section with #public-groups (the list), #public-groups-status,
 * #public-groups-more, #public-groups-name-field / #public-groups-name and
 * #public-groups-error. `memberOf(groupId)` tells the groups this person is
 * in already (they get a link instead of Join).
 */
export function setupPublicGroups({ memberOf = () => false } = {}) {
  const list = $("#public-groups");
  const status = $("#public-groups-status");
  const more = $("#public-groups-more");
  const nameField = $("#public-groups-name-field");
  const nameInput = $("#public-groups-name");
  const error = $("#public-groups-error");
  let groups = [];
  let next = null;

  function askName(show) {
    nameField.hidden = !show;
    if (show && !nameInput.value) nameInput.value = rememberedName();
  }

  async function join(group, button) {
    error.textContent = "";
    let person = loadPerson();
    if (!person) {
      const name = nameInput.value.trim();
      if (!name) {
        askName(true);
        error.textContent = "Type your name to join.";
        nameInput.focus();
        return;
      }
      rememberName(name);
      try {
        person = await ensurePerson(name);
      } catch (err) {
        error.textContent = `Could not start your practice log: ${err.message}`;
        return;
      }
    }
    button.disabled = true;
    try {
      await joinGroup(person.person_key, group.group_id);
      location.assign(groupPage(group.group_id));
    } catch (err) {
      if (err.status === 401) {
        forgetPerson();
        askName(true);
        error.textContent = "This browser's practice log no longer exists: type your name and join again.";
      } else error.textContent = `Could not join ${group.name}: ${err.message}`;
      button.disabled = false;
    }
  }

  function render() {
    fill(list, groups.map((g) => el("li", { class: "group-item", dataset: { group: g.group_id } },
      el("div", { class: "grow" },
        el("span", { class: "group-name" }, g.name),
        el("span", { class: "muted group-line" }, groupLine(g))),
      memberOf(g.group_id)
        ? el("a", { class: "button", href: groupPage(g.group_id) }, "Open")
        : el("button", { type: "button", class: "join-group", "aria-label": `Join ${g.name}`,
          onclick: (e) => join(g, e.currentTarget) }, "Join"))));
    status.textContent = groups.length ? "" : "No public group yet.";
    more.hidden = !next;
    askName(!loadPerson() && groups.length > 0);
  }

  async function load() {
    more.disabled = true;
    try {
      const page = await listGroups(next, PAGE);
      groups = groups.concat(page.groups);
      next = page.next;
      render();
    } catch (err) {
      status.textContent = `Could not load the groups: ${err.message}`;
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", load);
  return { load, render };
}
