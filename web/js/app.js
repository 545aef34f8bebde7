// app.js: the dashboard's frame. Sign-in with a key (checked against
// /v1/clinic before it is kept), the page list and the router (#/id). A page
// is one module exporting {id, title, render(main, ctx)} and one entry in
// PAGES below; render may return a function called when the page is left
// (to stop its polling).
import { api, apiOnSignedOut } from './api.js';
import { sessionGet, sessionStart, sessionEnd } from './session.js';
import { t, lang, setLang, applyLang } from './i18n.js';
import { h, field, errorBox, say, setZone } from './ui.js';
import today from './pages/today.js';
import messages from './pages/messages.js';
import templates from './pages/templates.js';
import patients from './pages/patients.js';
import numbers from './pages/numbers.js';
import tickets from './pages/tickets.js';
import broadcasts from './pages/broadcasts.js';
import loyalty from './pages/loyalty.js';
import usage from './pages/usage.js';

export const PAGES = [
  today,
  messages,
  templates,
  patients,
  numbers,
  tickets,
  broadcasts,
  loyalty,
  usage,
];

const ctx = { clinic: null };
let leave = null;
let expiryTimer = null;

function $(id) { return document.getElementById(id); }

function showSignIn(why) {
  if (leave) { leave(); leave = null; }
  clearTimeout(expiryTimer);
  sessionEnd();
  ctx.clinic = null;
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('clinic').textContent = '';
  $('expiry').textContent = '';
  const key = h('input', { type: 'password', id: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const out = h('div', { id: 'signin-error' });
  const button = h('button', { type: 'submit', id: 'signin-go' }, t('signin.go'));
  const form = h('form', { class: 'card signin', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren();
    const k = key.value.trim();
    if (!k) { out.append(errorBox(t('signin.empty'))); key.focus(); return; }
    button.disabled = true;
    try {
      const { data } = await api('GET', '/v1/clinic', undefined, k);
      sessionStart(k);
      key.value = '';
      enter(data);
    } catch (e) {
      out.append(errorBox(e.status === 401 ? t('signin.refused') : e.message));
      say(out.textContent);
      key.focus();
    } finally { button.disabled = false; }
  } },
  field(t('signin.key'), key, t('signin.hint')), button, out);
  $('main').replaceChildren(h('h1', {}, t('signin.title')), why ? errorBox(why) : null, form);
  document.title = t('signin.title') + ' · nudge';
  key.focus();
}

function navList() {
  const ul = h('ul', {}, PAGES.map((p) => h('li', {}, h('a', { href: '#/' + p.id, 'data-page': p.id },
    t(p.title)))));
  $('nav').replaceChildren(ul);
}

function enter(clinic) {
  ctx.clinic = clinic;
  setZone(clinic.timezone);
  $('clinic').textContent = clinic.name + ' · ' + clinic.timezone;
  const s = sessionGet();
  $('expiry').textContent = t('session.until', { time: new Date(s.expires).toLocaleTimeString(lang() === 'hi' ? 'hi-IN' : 'en-IN', { hour: '2-digit', minute: '2-digit' }) });
  clearTimeout(expiryTimer);
  expiryTimer = setTimeout(() => showSignIn(t('err.expired')), Math.max(0, s.expires - Date.now()));
  $('nav').hidden = false;
  $('signout').hidden = false;
  navList();
  if (!location.hash || location.hash === '#/') location.hash = '#/today';
  else route();
}

function route() {
  if (!ctx.clinic) return;
  const id = (location.hash.match(/^#\/([a-z-]+)/) || [])[1] || 'today';
  const page = PAGES.find((p) => p.id === id) || PAGES[0];
  if (leave) { leave(); leave = null; }
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === page.id) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const main = $('main');
  main.replaceChildren(h('h1', {}, t(page.title)));
  document.title = t(page.title) + ' · nudge';
  const body = h('div', {});
  main.append(body);
  try {
    const r = page.render(body, ctx);
    leave = typeof r === 'function' ? r : null;
  } catch (e) {
    body.append(errorBox(e.message));
  }
  main.focus();
}

async function start() {
  applyLang();
  $('lang').value = lang();
  $('lang').addEventListener('change', () => {
    setLang($('lang').value);
    if (ctx.clinic) { navList(); enter(ctx.clinic); } else showSignIn();
  });
  $('signout').addEventListener('click', () => { showSignIn(); say(t('signout.done')); });
  apiOnSignedOut((why) => showSignIn(why));
  window.addEventListener('hashchange', route);
  const s = sessionGet();
  if (!s) return showSignIn();
  try {
    const { data } = await api('GET', '/v1/clinic');
    enter(data);
  } catch (e) {
    showSignIn(e.message);
  }
}

start();
