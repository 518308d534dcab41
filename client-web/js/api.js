// The HTTP API (JSON). Errors become ApiError with the server's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, { body, hostKey, query } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (hostKey) headers.Authorization = `Bearer ${hostKey}`;
  let res;
  try {
    if (query) {
      const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined));
      if ([...q].length) path = `${path}?${q}`;
    }
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "unavailable", `cannot reach the server (${err.message})`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 204) return null;
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || String(res.status), e.message || res.statusText);
  }
  return data;
}

export const createRoom = (room) => call("POST", "/api/rooms", { body: room });
export const listRooms = () => call("GET", "/api/rooms");
export const getRoom = (id) => call("GET", `/api/rooms/${encodeURIComponent(id)}`);
export const getReport = (id, hostKey) => call("GET", `/api/rooms/${encodeURIComponent(id)}/report`, { hostKey });

// v2: people, groups and history. `key` is the person key (a Bearer secret).
const g = (id) => `/api/groups/${encodeURIComponent(id)}`;
export const createPerson = (person) => call("POST", "/api/people", { body: person });
export const getMe = (key) => call("GET", "/api/me", { hostKey: key });
export const updateMe = (key, changes) => call("PATCH", "/api/me", { hostKey: key, body: changes });
export const deleteMe = (key) => call("DELETE", "/api/me", { hostKey: key });
export const exportMe = (key) => call("GET", "/api/me/export", { hostKey: key });
export const mySessions = (key, cursor) => call("GET", "/api/me/sessions", { hostKey: key, query: { cursor } });
export const listGroups = (cursor, limit) => call("GET", "/api/groups", { query: { cursor, limit } });
export const createGroup = (key, group) => call("POST", "/api/groups", { hostKey: key, body: group });
// No door: a public group.
export const joinGroup = (key, id, door) => call("POST", `${g(id)}/members`, { hostKey: key, body: door });
export const getGroup = (key, id, cursor) => call("GET", g(id), { hostKey: key, query: { cursor } });
export const getGroupSession = (key, id, roomId) => call("GET", `${g(id)}/sessions/${encodeURIComponent(roomId)}`, { hostKey: key });
export const startGroupSession = (key, id) => call("POST", `${g(id)}/sessions`, { hostKey: key });
export const getBoard = (key, id) => call("GET", `${g(id)}/board`, { hostKey: key });
export const setBoard = (key, id, optIn) => call("PUT", `${g(id)}/board`, { hostKey: key, body: { opt_in: optIn } });
export const groupPerson = (key, id, personId, cursor) =>
  call("GET", `${g(id)}/people/${encodeURIComponent(personId)}`, { hostKey: key, query: { cursor } });
export const updateGroup = (key, id, changes) => call("PATCH", g(id), { hostKey: key, body: changes });
export const leaveGroup = (key, id) => call("DELETE", `${g(id)}/members/me`, { hostKey: key });
