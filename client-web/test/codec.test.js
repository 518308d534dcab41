import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as msgpack from "@msgpack/msgpack";
import { makeCodec, hexToBytes, bytesToHex } from "../js/codec.js";

const codec = makeCodec(msgpack);
const vectorsPath = fileURLToPath(new URL("../../protocol/vectors/vectors.json", import.meta.url));

test("hex helpers round-trip", () => {
  const bytes = new Uint8Array([0, 1, 0x7f, 0x80, 0xff]);
  assert.equal(bytesToHex(bytes), "00017f80ff");
  assert.deepEqual(hexToBytes("00017F80ff"), bytes);
  assert.throws(() => hexToBytes("abc"), RangeError);
});

test("makeCodec refuses something that is not a msgpack module", () => {
  assert.throws(() => makeCodec({}), TypeError);
});

test("codec round-trips a frame and drops undefined fields", () => {
  const frame = { type: "chat.send", ref: 7, text: "héllo 👋", to: undefined };
  const back = codec.decode(codec.encode(frame));
  assert.deepEqual(back, { type: "chat.send", ref: 7, text: "héllo 👋" });
});

test("codec rejects a frame that is not a map", () => {
  assert.throws(() => codec.decode(msgpack.encode([1, 2])), TypeError);
});

test("server times (epoch ms) decode as plain numbers", () => {
  const t = 1_763_980_000_123;
  const back = codec.decode(codec.encode({ type: "pong", t0: 12.5, server_time: t }));
  assert.equal(back.server_time, t);
  assert.equal(back.t0, 12.5);
});

test("every protocol vector round-trips through the client codec", (t) => {
  if (!existsSync(vectorsPath)) {
    t.skip(`no vectors at ${vectorsPath}`);
    return;
  }
  const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));
  assert.ok(Array.isArray(vectors) && vectors.length > 0, "vectors.json must be a non-empty list");
  let sameBytes = 0;
  for (const v of vectors) {
    assert.equal(typeof v.name, "string");
    const decoded = codec.decode(hexToBytes(v.msgpack_hex));
    assert.deepEqual(decoded, v.json, `decode(msgpack_hex) of ${v.name}`);
    const reencoded = codec.encode(v.json);
    assert.deepEqual(codec.decode(reencoded), v.json, `encode(json) of ${v.name}`);
    if (bytesToHex(reencoded) === v.msgpack_hex.toLowerCase()) sameBytes++;
  }
  t.diagnostic(`${vectors.length} vectors round-tripped; ${sameBytes} re-encode byte-identical`);
});
