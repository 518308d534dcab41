// Tiny DOM helpers. User text only ever goes in through textContent / text
// nodes, never through innerHTML.

/**
 * el("button", {class: "primary", type: "button", onclick: fn, dataset: {id}}, "Label", child)
 * Props: `class`, `text`, `dataset`, `on<event>` handlers, booleans
 * (`hidden`, `disabled`, `checked`...) as properties, everything else as attributes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else if (value === true) {
      if (key in node) node[key] = true;
      else node.setAttribute(key, "");
    } else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace a node's children (arrays flattened, null/false skipped). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/**
 * Replace a container's children, keeping keyboard focus on the element
 * with the same data-focus-key if it was focused before.
 */
export function replaceKeepingFocus(container, ...children) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren();
  append(container, children);
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/** Set text only when it changed (cheap enough to call every frame). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Short local time "14:05". */
export function clockTime(ms) {
  if (typeof ms !== "number") return "";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "just now", "3 min ago", "2 h ago". */
export function ago(ms, now) {
  if (typeof ms !== "number") return "—";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** Copy text to the clipboard; falls back to selecting an input. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand("copy");
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** A polite screen-reader announcer bound to an aria-live element. */
export function announcer(node) {
  return (text) => {
    // Clearing first makes repeated identical messages announce again.
    node.textContent = "";
    setTimeout(() => {
      node.textContent = text;
    }, 50);
  };
}

// Save `value` as a pretty-printed JSON file the browser downloads.
export function downloadJson(filename, value) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
