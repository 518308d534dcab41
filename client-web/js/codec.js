// The wire codec for `ensemble.v1.msgpack`: one msgpack map per binary frame.
//
// The msgpack implementation is injected so the same module runs in the
// browser (which imports the vendored @msgpack/msgpack from the server) and
// in node's test runner (which imports it from node_modules).

export const SUBPROTOCOL = "ensemble.v1.msgpack";

/**
 * Build the client codec around an @msgpack/msgpack module namespace
 * (anything with `encode` and `decode`).
 */
export function makeCodec(msgpack) {
  if (!msgpack || typeof msgpack.encode !== "function" || typeof msgpack.decode !== "function") {
    throw new TypeError("makeCodec expects the @msgpack/msgpack module (encode, decode)");
  }
  const encodeOptions = { ignoreUndefined: true };
  return {
    /** Encode one frame (a plain object with a string `type`) to bytes. */
    encode(frame) {
      return msgpack.encode(frame, encodeOptions);
    },
    /** Decode one frame from bytes (Uint8Array or ArrayBuffer). */
    decode(bytes) {
      const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
      const frame = msgpack.decode(view);
      if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
        throw new TypeError("a frame must be a msgpack map");
      }
      return frame;
    },
  };
}

/** Hex string -> bytes. */
export function hexToBytes(hex) {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 !== 0) throw new RangeError("odd-length hex string");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    const byte = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
    if (Number.isNaN(byte)) throw new RangeError(`bad hex at ${i * 2}`);
    out[i] = byte;
  }
  return out;
}

/** Bytes -> lowercase hex string. */
export function bytesToHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
