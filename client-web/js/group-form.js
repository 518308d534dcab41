// The "create a group" form of My practice: the name, who can find the group
// (public: listed for anyone to join; invite-only), its default sprint
// program (a preset, a custom one, or none — as the home page offers for
// rooms) and an optional weekly schedule (days, time, time zone, the
// browser's zone by default). `groupRequest` is pure (node-tested); the
// server's own refusals are shown as text.

import { $, el } from "./dom.js";
import { programChooser } from "./program-editor.js";
import { localZone } from "./person.js";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/**
 * The POST /api/groups body from the form's values
 * `{name, visibility, program (or null), days: ["mon", …], time: "HH:MM" or "", tz}`,
 * or throws an Error whose message says what to fix.
 */
export function groupRequest({ name, visibility, program = null, days = [], time = "", tz = "" }) {
  const trimmed = (name || "").trim();
  if (!trimmed) throw new Error("Give the group a name.");
  if (visibility !== "public" && visibility !== "invite") throw new Error("Choose who can find the group.");
  const body = { name: trimmed, visibility };
  if (program) body.program = program;
  if (days.length || time) {
    if (!days.length) throw new Error("Pick the days the group meets, or clear the time.");
    if (!TIME.test(time)) throw new Error("Pick the time the group meets (HH:MM).");
    const ordered = WEEKDAYS.filter((d) => days.includes(d));
    body.schedule = { days: ordered, time, tz: (tz || "").trim() || "UTC" };
  }
  return body;
}

/** Every IANA zone this browser knows, or none (the field stays free text). */
function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

/**
 * Wire the form in me.html. `create(body)` sends it (resolves to the new
 * group, or rejects with the server's error); `onCreated(group)` follows.
 */
export function setupGroupForm({ create, onCreated }) {
  const form = $("#group-form");
  const error = $("#group-error");
  const chooser = programChooser({
    select: $("#group-preset"), box: $("#group-custom-program"), idPrefix: "group",
  });
  $("#group-tz").value = localZone();
  $("#group-tz-list").append(...zones().map((z) => el("option", { value: z })));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    let body;
    try {
      body = groupRequest({
        name: $("#group-name").value,
        visibility: form.elements["group-visibility"].value,
        program: chooser.program(),
        days: [...form.querySelectorAll("input[name=group-day]:checked")].map((c) => c.value),
        time: $("#group-time").value,
        tz: $("#group-tz").value,
      });
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      onCreated(await create(body));
    } catch (err) {
      error.textContent = `Could not create the group: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
