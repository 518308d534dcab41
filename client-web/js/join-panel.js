// The join form of the room page, and the credential a member joins with:
// the host key (mentor link), the invite (link or typed), or — in a room of
// a group (#group=…) — the person key alone. In any room the member is also
// this browser's person, when it has one.

import { ensurePerson, loadPerson } from "./person.js";
import { clearSession, saveSession, saveHostKey, loadHostKey, rememberName, rememberedName } from "./storage.js";
import { $ } from "./dom.js";

export class JoinPanel {
  /**
   * @param {{roomId: string, params: URLSearchParams,
   *   onJoin: (name: string, credential: object) => void}} options
   */
  constructor({ roomId, params, onJoin }) {
    this.roomId = roomId;
    this.onJoin = onJoin;
    this.invite = params.get("invite");
    // The host key arrives in the mentor link; once saved for this tab it leaves
    // the address bar (mentors share their screens). An invite link wins over a
    // host key remembered from earlier in the same tab.
    this.hostKey = params.get("host_key") || (this.invite ? null : loadHostKey(roomId));
    if (params.get("host_key")) saveHostKey(roomId, this.hostKey);
    this.groupRoom = params.has("group");
  }

  /** What `hello` carries to join as `role` (the host key decides the role itself). */
  credential(role) {
    const base = this.hostKey ? { host_key: this.hostKey } : this.invite ? { invite: this.invite, role } : {};
    const person = loadPerson();
    return person ? { ...base, person_key: person.person_key } : base;
  }

  setup() {
    $("#join-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = $("#join-name").value.trim();
      if (!name) {
        $("#join-error").textContent = "Type your name.";
        $("#join-name").focus();
        return;
      }
      if (!this.hostKey && !this.invite && !this.groupRoom) {
        this.invite = $("#join-invite").value.trim();
        if (!this.invite) {
          $("#join-error").textContent = "Type the invite code.";
          $("#join-invite").focus();
          return;
        }
      }
      rememberName(name);
      const role = this.hostKey ? undefined : new FormData(e.target).get("role") || "participant";
      clearSession(this.roomId);
      saveSession(this.roomId, { name, role });
      await ensurePerson(name).catch(() => null); // a guest when the log cannot be made
      this.onJoin(name, this.credential(role));
    });
  }

  show(error = "") {
    $("#room").hidden = true;
    $("#join").hidden = false;
    const name = $("#join-name");
    if (!name.value) name.value = rememberedName();
    $("#join-role-field").hidden = !!(this.hostKey || this.groupRoom);
    $("#join-mentor-note").hidden = !this.hostKey;
    $("#join-invite-field").hidden = !!(this.hostKey || this.invite || this.groupRoom);
    $("#join-error").textContent = error;
    name.focus();
  }
}
