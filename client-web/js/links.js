// Secrets in page links (the invite code, the host key) ride in the URL
// fragment: `/r/ROOM#invite=…`. Browsers never send a fragment to a server, so
// no access log or proxy sees them. Links from before carried them in the
// query (`?invite=…`); they still work, and the secrets move to the fragment
// at once so a reload does not send them again.

const SECRETS = ["invite", "host_key"];

/** A page link with `secrets` ({invite} or {host_key}) in its fragment. */
export function secretLink(path, secrets) {
  const fragment = new URLSearchParams();
  for (const name of SECRETS) if (secrets[name]) fragment.set(name, secrets[name]);
  const text = fragment.toString();
  return text ? `${path}#${text}` : path;
}

/**
 * Read the secrets of an address (fragment first, then the old query form).
 * Returns {secrets: URLSearchParams, clean}: `clean` is the address to put in
 * the bar instead (path, query without secrets, secrets in the fragment), or
 * null when the address is fine as it is.
 */
export function readSecrets(href) {
  const url = new URL(href);
  const secrets = new URLSearchParams(url.hash.replace(/^#/, ""));
  const query = new URLSearchParams(url.search);
  let moved = false;
  for (const name of SECRETS) {
    if (!query.has(name)) continue;
    if (!secrets.has(name)) secrets.set(name, query.get(name));
    query.delete(name);
    moved = true;
  }
  if (!moved) return { secrets, clean: null };
  return { secrets, clean: addressOf(url.pathname, query, secrets) };
}

/** The address with `secrets` as the fragment (dropped when empty). */
export function addressOf(pathname, query, secrets) {
  const q = query.toString();
  const f = secrets.toString();
  return `${pathname}${q ? `?${q}` : ""}${f ? `#${f}` : ""}`;
}

/**
 * The secrets of this page's address; an old query form leaves the address bar
 * at once. Opening a link that differs only in its fragment does not load the
 * page again, so a new secret there reloads it.
 */
export function pageSecrets() {
  const { secrets, clean } = readSecrets(location.href);
  if (clean !== null) history.replaceState(null, "", clean);
  const seen = secrets.toString();
  addEventListener("hashchange", () => {
    const now = readSecrets(location.href).secrets;
    if (now.toString() && now.toString() !== seen) location.reload();
  });
  return secrets;
}
