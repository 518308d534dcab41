// The group form: made on "My practice" (create) and on the group page (a
// mentor's edit, prefilled). The name, who can find the group (public: listed
// for anyone to join; invite-only), its default sprint program (a preset, a
// custom one, or none — as the home page offers for rooms) and an optional
// weekly schedule (days, time, time zone, the browser's zone by default).
// `groupRequest` is pure (node-tested); the server's own refusals are shown
// as text.

import { $, el, fill } from "./dom.js";
import { programChooser } from "./program-editor.js";
import { localZone } from "./person.js";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const DAY_LABELS = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/**
 * The POST /api/groups body from the form's values
 * `{name, visibility, program (or null), days: ["mon", …], time: "HH:MM" or "", tz}`,
 * or throws an Error whose message says what to fix. With `edit`, the
 * PATCH /api/groups/{id} body: no program or no schedule is sent as null (cleared).
 */
export function groupRequest({ name, visibility, program = null, days = [], time = "", tz = "" }, { edit = false } = {}) {
  const trimmed = (name || "").trim();
  if (!trimmed) throw new Error("Give the group a name.");
  if (visibility !== "public" && visibility !== "invite") throw new Error("Choose who can find the group.");
  const body = { name: trimmed, visibility };
  if (program) body.program = program;
  else if (edit) body.program = null;
  if (days.length || time) {
    if (!days.length) throw new Error("Pick the days the group meets, or clear the time.");
    if (!TIME.test(time)) throw new Error("Pick the time the group meets (HH:MM).");
    const ordered = WEEKDAYS.filter((d) => days.includes(d));
    body.schedule = { days: ordered, time, tz: (tz || "").trim() || "UTC" };
  } else if (edit) body.schedule = null;
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

function formElement(group, submitLabel, cancel) {
  const schedule = group?.schedule;
  const visibility = group?.visibility || "invite";
  const radio = (value, text) => el("label", { class: "inline" },
    el("input", { type: "radio", name: "group-visibility", value, checked: value === visibility }), text);
  return el("form", { id: "group-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: "group-name" }, "Group name"),
      el("input", { id: "group-name", type: "text", maxlength: 80, required: true, autocomplete: "off", placeholder: "Thursday strings", value: group?.name })),
    el("fieldset", { class: "field" },
      el("legend", {}, "Who can find it"),
      radio("invite", " Invite-only — people join with its invite link"),
      radio("public", " Public — listed for anyone to join")),
    el("div", { class: "field" },
      el("label", { for: "group-preset" }, "Sprint program of its sessions"),
      el("select", { id: "group-preset" })),
    el("div", { id: "group-custom-program", hidden: true }),
    el("fieldset", { class: "field" },
      el("legend", {}, "Weekly schedule (optional)"),
      el("div", { class: "days" }, WEEKDAYS.map((d) => el("label", { class: "inline" },
        el("input", { type: "checkbox", name: "group-day", value: d, checked: !!schedule?.days.includes(d) }), ` ${DAY_LABELS[d]}`))),
      el("div", { class: "schedule-time" },
        el("label", { for: "group-time" }, "Time"),
        el("input", { id: "group-time", type: "time", value: schedule?.time }),
        el("label", { for: "group-tz" }, "Time zone"),
        el("input", { id: "group-tz", type: "text", list: "group-tz-list", autocomplete: "off", spellcheck: "false", value: schedule?.tz || localZone() }),
        el("datalist", { id: "group-tz-list" }, zones().map((z) => el("option", { value: z }))))),
    el("p", { id: "group-error", class: "error", role: "alert" }),
    el("div", { class: "row" },
      el("button", { type: "submit", class: "primary" }, submitLabel),
      cancel ? el("button", { type: "button", id: "group-cancel", onclick: cancel }, "Cancel") : null));
}

/**
 * Put the form in `slot`: empty to create a group, or prefilled with `group`
 * (as GET /api/groups/{id} has it) to edit it. `send(body)` sends it (resolves
 * to the answer, or rejects with the server's error); `onSaved(answer)`
 * follows; `onCancel`, when given, adds a Cancel button.
 */
export function setupGroupForm({ slot, group = null, submitLabel = "Create the group", send, onSaved, onCancel = null }) {
  const form = formElement(group, submitLabel, onCancel);
  fill(slot, form);
  const error = $("#group-error", form);
  const chooser = programChooser({
    select: $("#group-preset", form), box: $("#group-custom-program", form), idPrefix: "group",
    initial: group ? group.program : undefined,
  });
  const edit = !!group;

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    let body;
    try {
      body = groupRequest({
        name: $("#group-name", form).value,
        visibility: form.elements["group-visibility"].value,
        program: chooser.program(),
        days: [...form.querySelectorAll("input[name=group-day]:checked")].map((c) => c.value),
        time: $("#group-time", form).value,
        tz: $("#group-tz", form).value,
      }, { edit });
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      onSaved(await send(body));
    } catch (err) {
      error.textContent = `Could not ${edit ? "save" : "create"} the group: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
