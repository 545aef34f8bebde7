// ui.js: building the DOM without HTML strings (every datum goes in as
// text, so nothing a patient or provider wrote can become markup), dates in
// the clinic's zone, status badges, tables with CSV, and errors in words.
import { t, lang } from './i18n.js';

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let seq = 0;
export function uid(p) { return p + '-' + (++seq); }

// A labelled control: the label, the control and a place for its error.
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  const err = h('div', { class: 'error', id: control.id + '-err', hidden: true, role: 'alert' });
  control.setAttribute('aria-describedby', err.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), hint ? h('span', { class: 'muted' }, hint) : null,
    control, err);
}
export function fieldError(control, msg) {
  const err = document.getElementById(control.id + '-err');
  if (!err) return;
  err.textContent = msg || '';
  err.hidden = !msg;
  if (msg) control.setAttribute('aria-invalid', 'true'); else control.removeAttribute('aria-invalid');
}

// An error box in a container: the API's words, or nothing.
export function errorBox(msg) {
  return h('div', { class: 'error-box', role: 'alert' }, msg);
}
export function say(msg) {
  const live = document.getElementById('live');
  if (live) { live.textContent = ''; live.textContent = msg; }
}

// Times arrive with the clinic's offset; shown in the clinic's zone.
let zone = 'UTC';
export function setZone(z) { zone = z; }
export function clinicZone() { return zone; }
function locale() { return lang() === 'hi' ? 'hi-IN' : 'en-IN'; }
export function fmtTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}
export function fmtDateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale(), { timeZone: zone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}
// The clinic-local date (YYYY-MM-DD) of an instant.
export function localDate(iso) {
  const d = iso ? new Date(iso) : new Date();
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d);
  const g = (k) => p.find((x) => x.type === k).value;
  return g('year') + '-' + g('month') + '-' + g('day');
}

const TONE = {
  confirmed: 'ok', completed: 'ok', delivered: 'ok', read: 'ok', sent: 'info', enqueued: 'info',
  scheduled: 'warn', rescheduled: 'warn', pending: 'warn', planned: 'warn', sending: 'info',
  cancelled: 'bad', failed: 'bad', 'no-show': 'bad', expired: 'bad',
  open: 'warn', in_progress: 'info', resolved: 'ok', closed: '', escalated: 'bad',
  draft: '', paused: 'warn', stale: 'bad',
};
// words: the key prefix of the status's words (tickets and broadcasts have
// their own, as their "scheduled" is not a visit's "unconfirmed").
export function badge(status, words = 'status.') {
  return h('span', { class: 'badge ' + (TONE[status] || ''), 'data-status': status }, t(words + status));
}

// A datetime-local value (wall time in the clinic's zone) as an instant.
export function wallToIso(v) {
  const guess = Date.parse(v + (v.length > 16 ? 'Z' : ':00Z'));
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(guess));
  const g = (k) => p.find((x) => x.type === k).value;
  const shown = Date.parse(`${g('year')}-${g('month')}-${g('day')}T${g('hour')}:${g('minute')}:${g('second')}Z`);
  return new Date(guess - (shown - guess)).toISOString().slice(0, 19) + 'Z';
}
// Integer paise as rupees.
export function rupees(paise) {
  return new Intl.NumberFormat(lang() === 'hi' ? 'hi-IN' : 'en-IN', { style: 'currency', currency: 'INR' }).format(paise / 100);
}

// A table: columns [{label, get(row) -> text or node, csv(row) -> text}].
export function table(caption, cols, rows) {
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {}, h('caption', {}, caption),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, c.get(r))))))));
}

export function csvText(cols, rows) {
  const q = (v) => { const s = String(v === null || v === undefined ? '' : v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  return [cols.map((c) => q(c.label)).join(','), ...rows.map((r) => cols.map((c) => q(c.csv ? c.csv(r) : c.get(r))).join(','))].join('\n') + '\n';
}
export function csvButton(name, cols, rows) {
  return h('button', { type: 'button', class: 'plain', 'data-csv': name, onclick: () => {
    const url = URL.createObjectURL(new Blob([csvText(cols, rows)], { type: 'text/csv' }));
    const a = h('a', { href: url, download: name + '.csv' });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } }, t('csv.download', { name }));
}

// Runs an action from a button: disabled while it runs, its error in words.
export async function act(button, where, fn) {
  button.disabled = true;
  where.replaceChildren();
  try { await fn(); } catch (e) { where.append(errorBox(e.message)); say(e.message); } finally { button.disabled = false; }
}

// An API error beside the control its field names (byField: field name to
// control; "a.b.c" falls back to "a.b", then "a"); false when none is named.
export function showFieldError(e, byField) {
  const parts = (e.field || '').split('.');
  const x = e.field && (byField[e.field] || byField[parts.slice(0, 2).join('.')] || byField[parts[0]]);
  if (!x) return false;
  fieldError(x, e.message);
  x.focus();
  return true;
}
