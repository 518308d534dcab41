// Home: create a room, list the public ones with live member counts, and
// the public groups to join (public-groups.js).

import { $, el, copyText, replaceKeepingFocus } from "./dom.js";
import { createRoom, listRooms } from "./api.js";
import { programChooser } from "./program-editor.js";
import { secretLink } from "./links.js";
import { saveHostKey, saveInvite } from "./storage.js";
import { setupPublicGroups } from "./public-groups.js";

const REFRESH_MS = 10000;

function setupCreate() {
  const form = $("#create-form");
  const customBox = $("#custom-program");
  const error = $("#create-error");
  const chooser = programChooser({ select: $("#preset"), box: customBox, idPrefix: "home" });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const title = $("#title").value.trim();
    if (!title) {
      error.textContent = "Give the room a title.";
      $("#title").focus();
      return;
    }
    const body = { title, visibility: form.elements.visibility.value };
    try {
      const program = chooser.program();
      if (program !== null) body.program = program;
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const room = await createRoom(body);
      saveHostKey(room.room_id, room.host_key);
      saveInvite(room.room_id, room.invite);
      showCreated(room);
      refreshRooms();
    } catch (err) {
      error.textContent = `Could not create the room: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });

  $("#create-another").addEventListener("click", () => {
    form.reset();
    customBox.hidden = true;
    $("#created").hidden = true;
    form.hidden = false;
    $("#title").focus();
  });

  for (const b of document.querySelectorAll("button.copy")) {
    b.addEventListener("click", async () => {
      const input = document.getElementById(b.dataset.copy);
      const ok = await copyText(input.value, input);
      $("#copy-status").textContent = ok ? "Copied." : "Select the link and copy it.";
    });
  }
}

function absolute(url) {
  return new URL(url, location.href).href;
}

function showCreated(room) {
  const participant = room.links?.participant || secretLink(`/r/${room.room_id}`, { invite: room.invite });
  const mentor = room.links?.mentor || secretLink(`/r/${room.room_id}`, { host_key: room.host_key });
  $("#created-title").textContent = room.title || "";
  $("#participant-link").value = absolute(participant);
  $("#mentor-link").value = absolute(mentor);
  $("#open-mentor").href = mentor;
  $("#create-form").hidden = true;
  $("#created").hidden = false;
  $("#created-h").setAttribute("tabindex", "-1");
  $("#created-h").focus();
}

async function refreshRooms() {
  const status = $("#rooms-status");
  const list = $("#rooms");
  try {
    const { rooms } = await listRooms();
    status.textContent = rooms.length ? `${rooms.length} open room${rooms.length === 1 ? "" : "s"}` : "No public rooms right now.";
    replaceKeepingFocus(list, rooms.map((r) => {
      const href = secretLink(`/r/${r.room_id}`, { invite: r.invite });
      return el("li", { class: "room-item" },
        el("a", { href, "data-focus-key": r.room_id }, r.title),
        el("span", { class: "count", "aria-label": `${r.members} connected` }, `${r.members} here`));
    }));
  } catch (err) {
    status.textContent = `Could not load rooms: ${err.message}`;
  }
}

setupCreate();
refreshRooms();
setupPublicGroups().load();
setInterval(() => {
  if (document.visibilityState === "visible") refreshRooms();
}, REFRESH_MS);
