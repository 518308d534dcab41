import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CLOSE, TERMINAL_CLOSES } from "../js/connection.js";

const codes = JSON.parse(
  readFileSync(new URL("../../protocol/codes.json", import.meta.url), "utf8"),
);

test("the client knows every close code of the protocol, and which ones end the session", () => {
  const known = new Set(Object.values(CLOSE));
  for (const [code, entry] of Object.entries(codes.close_codes)) {
    const n = Number(code);
    assert.ok(known.has(n), `close code ${code} (${entry.name}) is missing`);
    // 1000 is terminal from the server, but this client also closes with it
    // itself to resync, so it reconnects after its own 1000.
    if (n === CLOSE.NORMAL) continue;
    assert.equal(TERMINAL_CLOSES.has(n), !entry.reconnect, `close code ${code} (${entry.name})`);
  }
});
