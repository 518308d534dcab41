// One kept session of a group, as its report: /g/{group_id}/s/{room_id}.
// Read from the history with the person key of a member of the group; the
// server leaves out what this person may not read (others' private
// comments, the mentors' notes for anyone but mentors).

import { $, downloadJson, fill } from "./dom.js";
import { getGroupSession } from "./api.js";
import { loadPerson } from "./person.js";
import { when } from "./history-view.js";
import { reportSections, summaryText } from "./group-report-view.js";

const [, , groupId, , roomId] = location.pathname.split("/").map(decodeURIComponent);

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

async function main() {
  $("#back").href = `/g/${encodeURIComponent(groupId)}`;
  const me = loadPerson();
  if (!me) {
    notice("Open this page on the device you use with the group (your practice link moves you here).");
    return;
  }
  let report;
  try {
    report = await getGroupSession(me.person_key, groupId, roomId);
  } catch (err) {
    notice(err.status === 403 ? "This session belongs to a group you are not in."
      : err.status === 404 ? "There is no such session in this group." : `Could not load the report: ${err.message}`);
    return;
  }
  const title = report.room.title;
  document.title = `Report: ${title} — Ensemble`;
  $("#report-h").textContent = `Session report: ${title}`;
  $("#report-meta").textContent = when(report.room.started_at);
  $("#report-summary").textContent = summaryText(report);
  fill($("#sections"), reportSections(report, me.person_id));
  // What this person may read of it, as the page shows it.
  $("#download").onclick = () => downloadJson(`ensemble-session-${roomId}.json`, report);
  $("#report").hidden = false;
}

main();
