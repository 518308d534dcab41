// Per-room session memory (sessionStorage: one tab, survives reloads) and the
// name a person last used (localStorage: remembered across visits).
// Storage can be unavailable (privacy modes): every call degrades to a no-op.

function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

const session = () => globalThis.sessionStorage;
const local = () => globalThis.localStorage;

const roomKey = (roomId) => `ensemble:room:${roomId}`;
const hostKeyKey = (roomId) => `ensemble:host_key:${roomId}`;
const inviteKey = (roomId) => `ensemble:invite:${roomId}`;

/** {token, name, member_id, role, epoch, seqs} saved for a room, or {}. */
export function loadSession(roomId) {
  return safe(() => JSON.parse(session().getItem(roomKey(roomId)) || "{}"), {}) || {};
}

export function saveSession(roomId, data) {
  safe(() => session().setItem(roomKey(roomId), JSON.stringify(data)));
}

export function updateSession(roomId, patch) {
  const next = { ...loadSession(roomId), ...patch };
  saveSession(roomId, next);
  return next;
}

export function clearSession(roomId) {
  safe(() => session().removeItem(roomKey(roomId)));
}

export function saveHostKey(roomId, key) {
  safe(() => session().setItem(hostKeyKey(roomId), key));
}
export function loadHostKey(roomId) {
  return safe(() => session().getItem(hostKeyKey(roomId)), null);
}
export function saveInvite(roomId, code) {
  safe(() => session().setItem(inviteKey(roomId), code));
}
export function loadInvite(roomId) {
  return safe(() => session().getItem(inviteKey(roomId)), null);
}

export function rememberName(name) {
  safe(() => local().setItem("ensemble:name", name));
}
export function rememberedName() {
  return safe(() => local().getItem("ensemble:name"), null) || "";
}

// This device's audio calibration (tap-along), per audio output device.
const latencyKey = (device) => `ensemble:audio-latency:${device || "default"}`;
/** Extra output latency in ms measured for `device`, or null. */
export function loadLatency(device) {
  const raw = safe(() => local().getItem(latencyKey(device)), null);
  const v = raw === null ? NaN : Number(raw);
  return Number.isFinite(v) ? v : null;
}
export function saveLatency(device, ms) {
  safe(() => (ms === null ? local().removeItem(latencyKey(device)) : local().setItem(latencyKey(device), String(ms))));
}
