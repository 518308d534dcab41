// The group page's "Leave group" button, with a confirm step: `leave()` asks
// the server (refusing the last mentor, whose reason is shown as text);
// `onLeft()` follows.

import { $ } from "./dom.js";

export function setupLeave({ leave, onLeft }) {
  const button = $("#leave");
  const confirm = $("#leave-confirm");
  const error = $("#leave-error");
  const ask = (asking) => {
    confirm.hidden = !asking;
    button.hidden = asking;
    (asking ? $("#leave-no") : button).focus();
  };
  button.addEventListener("click", () => {
    error.textContent = "";
    ask(true);
  });
  $("#leave-no").addEventListener("click", () => ask(false));
  $("#leave-yes").addEventListener("click", async () => {
    $("#leave-yes").disabled = true;
    try {
      await leave();
    } catch (err) {
      error.textContent = `Could not leave the group: ${err.message}`;
      ask(false);
      return;
    } finally {
      $("#leave-yes").disabled = false;
    }
    onLeft();
  });
}
