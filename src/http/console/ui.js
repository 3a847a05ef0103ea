// DOM helpers and the page's shared state (one page, one state object).

export const $ = (id) => document.getElementById(id);
export const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
export const fmt = (n) => n.toLocaleString('en-US');

export const state = {
  models: [], balance: null, audioWanted: true,
  /** The valid start image ({file, width, height}); null while none or a refused one. */
  image: null,
  /** The optional last frame ({file}) and reference pictures ([{file}]), once checked (extras.js). */
  lastFrame: null, references: [],
  /** Set when the user picks an aspect by hand; a new image resets it, so the aspect follows every image. */
  aspectManual: false,
  /** The last submit's error ({code, field}), kept until the form no longer has that problem. */
  formError: null,
  watch: 0, tasksTimer: 0,
};

export function option(value, text = String(value)) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = text;
  return o;
}

/** Replace a select's options, keeping its value when still offered, else `preferred`. */
export function fill(select, values, preferred, label) {
  const all = values.map(String);
  const keep = all.includes(select.value) ? select.value : String(preferred ?? values[0]);
  select.replaceChildren(...values.map((v) => option(v, label ? label(v) : String(v))));
  select.value = all.includes(keep) ? keep : all[0] ?? '';
}

export function button(text, label, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

/** Each area has its own error line, next to the control that caused it. */
export function showError(id, e) {
  $(id).textContent = e ? (e.message || String(e)) : '';
}

/** The Clipboard API needs a secure context; a plain-http LAN address falls back to a selected text area. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch { /* fall through */ }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  area.remove();
  return ok;
}

export function timeElement(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  const t = document.createElement('time');
  t.dateTime = d.toISOString();
  const today = d.toDateString() === new Date().toDateString();
  t.textContent = today
    ? `today ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  t.title = d.toLocaleString();
  return t;
}
