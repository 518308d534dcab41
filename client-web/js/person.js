// The person this browser is: {person_id, person_key, name} kept in
// localStorage, so the practice log follows from room to room. The key is a
// secret: it only ever travels in a URL fragment (never sent to a server by
// the browser) or an Authorization header.

import { createPerson, getMe } from "./api.js";
import { addressOf } from "./links.js";

const KEY = "ensemble:person";

function safe(fn, fallback) {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** {person_id, person_key, name} or null. */
export function loadPerson() {
  const p = safe(() => JSON.parse(globalThis.localStorage.getItem(KEY) || "null"), null);
  return p && typeof p.person_key === "string" ? p : null;
}

export function savePerson(person) {
  const kept = { person_id: person.person_id, person_key: person.person_key, name: person.name };
  safe(() => globalThis.localStorage.setItem(KEY, JSON.stringify(kept)));
  return kept;
}

export function forgetPerson() {
  safe(() => globalThis.localStorage.removeItem(KEY));
}

/** The browser's time zone (IANA), or UTC. */
export function localZone() {
  return safe(() => Intl.DateTimeFormat().resolvedOptions().timeZone, "UTC") || "UTC";
}

/** This browser's person, created on first use with `name`. */
export async function ensurePerson(name) {
  const known = loadPerson();
  if (known) return known;
  return savePerson(await createPerson({ name, tz: localZone() }));
}

/** Values in the URL fragment (`#a=1&b=2`). */
export function fragment() {
  return new URLSearchParams(location.hash.slice(1));
}

/** Remove named values from the fragment (secrets leave the address bar). */
export function dropFromFragment(...names) {
  const f = fragment();
  for (const n of names) f.delete(n);
  history.replaceState(null, "", addressOf(location.pathname, new URLSearchParams(location.search), f));
}

/**
 * A personal link (`#person_key=…`) moves the key to this browser: checked
 * with the server, kept, and taken out of the address bar.
 */
export async function adoptPersonFromLink() {
  const key = fragment().get("person_key");
  if (!key) return loadPerson();
  dropFromFragment("person_key");
  const me = await getMe(key);
  return savePerson({ person_id: me.person_id, person_key: key, name: me.name });
}

export function practiceLink(person) {
  return new URL(`/me#person_key=${encodeURIComponent(person.person_key)}`, location.href).href;
}
