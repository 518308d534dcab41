// The group page's plan panel: the group's program and schedule for everyone;
// for its mentors an "Edit group" button that opens the group form
// (group-form.js) prefilled, and saves through `save(body)`.

import { $, fill } from "./dom.js";
import { setupGroupForm } from "./group-form.js";
import { programView, scheduleText } from "./group-plan-view.js";

/**
 * `save(body)` sends the changes and resolves to the group as GET has it;
 * `onSaved(group)` follows. Returns `show(group)`, to call with each view.
 */
export function setupPlanPanel({ save, onSaved }) {
  const button = $("#edit-group");
  const box = $("#group-edit");
  let group = null;

  function close() {
    box.hidden = true;
    fill(box);
    button.hidden = group?.role !== "mentor";
    button.focus();
  }

  button.addEventListener("click", () => {
    button.hidden = true;
    box.hidden = false;
    setupGroupForm({
      slot: box, group, submitLabel: "Save changes", send: save, onCancel: close,
      onSaved: (saved) => {
        onSaved(saved);
        close();
      },
    });
    $("#group-name", box).focus();
  });

  return function show(shown) {
    group = shown;
    $("#schedule-view").textContent = scheduleText(group.schedule);
    fill($("#program-view"), programView(group.program));
    button.hidden = group.role !== "mentor" || !box.hidden;
  };
}
