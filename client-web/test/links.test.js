import { test } from "node:test";
import assert from "node:assert/strict";
import { readSecrets, secretLink } from "../js/links.js";

test("a secret link puts the secret in the fragment, never the query", () => {
  assert.equal(secretLink("/r/r_1", { invite: "abc" }), "/r/r_1#invite=abc");
  assert.equal(secretLink("/r/r_1", { host_key: "k/+=" }), "/r/r_1#host_key=k%2F%2B%3D");
  assert.equal(secretLink("/r/r_1", {}), "/r/r_1");
});

test("the fragment form is read and left as it is", () => {
  const { secrets, clean } = readSecrets("http://x/r/r_1#host_key=hk");
  assert.equal(secrets.get("host_key"), "hk");
  assert.equal(clean, null);
});

test("the old query form is read and moved to the fragment", () => {
  const { secrets, clean } = readSecrets("http://x/r/r_1?invite=inv&lang=de");
  assert.equal(secrets.get("invite"), "inv");
  assert.equal(clean, "/r/r_1?lang=de#invite=inv");
  assert.ok(!clean.includes("?invite"));
});

test("an address without secrets needs no change", () => {
  assert.deepEqual([...readSecrets("http://x/r/r_1").secrets], []);
  assert.equal(readSecrets("http://x/r/r_1?lang=de").clean, null);
});
