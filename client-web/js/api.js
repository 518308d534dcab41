// The HTTP API (JSON). Errors become ApiError with the server's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, { body, hostKey } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (hostKey) headers.Authorization = `Bearer ${hostKey}`;
  let res;
  try {
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
