// today.js: the clinic's day. Appointments of a date in the clinic's zone
// (their start_at carries the clinic's offset, so its first ten characters
// are the clinic's date), each with its confirmation state, its planned
// messages and the messages sent for it with their delivery state; the
// actions of the API on each. Polls every 15 s while the tab is visible.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, badge, fmtTime, fmtDateTime, localDate, act, say, errorBox } from '../ui.js';

const POLL_MS = 15000;
const ACTIONS = ['confirm', 'complete', 'no-show', 'cancel'];
const OPEN = ['scheduled', 'confirmed', 'rescheduled'];

async function loadDay(day) {
  // The server keeps the day (with 14 hours either side, the widest UTC
  // offset: the clinic's zone decides which of them are its day).
  const mid = Date.parse(day + 'T00:00:00Z'), H14 = 14 * 3600e3;
  const range = '?from=' + new Date(mid - H14).toISOString() + '&to=' + new Date(mid + 24 * 3600e3 + H14).toISOString();
  const [appts, patients] = await Promise.all([apiAll('/v1/appointments' + range), apiAll('/v1/patients')]);
  const byId = new Map(patients.map((p) => [p.id, p]));
  const list = appts.filter((a) => a.start_at.slice(0, 10) === day).sort((a, b) => a.start_at.localeCompare(b.start_at));
  await Promise.all(list.map(async (a) => {
    a.patient = byId.get(a.patient_id) || null;
    a.plans = (await api('GET', '/v1/appointments/' + a.id + '/reminders')).data.data;
    const ids = [...new Set(a.plans.map((p) => p.notification_id).filter(Boolean))];
    a.sent = await Promise.all(ids.map(async (id) => (await api('GET', '/v1/notifications/' + id)).data));
  }));
  return list;
}

function resendBody(a, m) {
  // A sent message goes again as a direct one with the visit's details.
  const loc = m.language && m.language.startsWith('hi') ? 'hi-IN' : 'en-IN';
  const d = new Date(a.start_at);
  return {
    patient_id: a.patient_id, template: m.template, channel: m.channel,
    vars: {
      service: a.service, doctor: a.doctor || '',
      date: new Intl.DateTimeFormat(loc, { dateStyle: 'long', timeZone: a.tz }).format(d),
      time: new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit', timeZone: a.tz }).format(d),
    },
  };
}

function apptCard(a, refresh, ctx) {
  const out = h('div', { class: 'out', 'aria-live': 'polite' });
  a.tz = ctx.clinic.timezone;
  const open = OPEN.includes(a.status);
  const doAct = (action, body) => async (ev) => act(ev.currentTarget, out, async () => {
    await api('POST', '/v1/appointments/' + a.id + '/' + action, body);
    say(t('today.done', { action: t('act.' + action), who: a.patient ? a.patient.name : '#' + a.patient_id }));
    await refresh();
  });
  const when = h('input', { type: 'datetime-local', 'data-field': 'start_at' });
  const resched = h('form', { class: 'row', onsubmit: (ev) => {
    ev.preventDefault();
    if (!when.value) { out.replaceChildren(errorBox(t('today.pick'))); when.focus(); return; }
    doAct('reschedule', { start_at: when.value })({ currentTarget: ev.submitter || resched.querySelector('button') });
  } }, field(t('today.newtime'), when), h('button', { type: 'submit' }, t('act.reschedule')));
  const planned = a.plans.filter((p) => p.status === 'planned');
  return h('li', { class: 'card appt', 'data-appointment': a.id },
    h('h2', {}, fmtTime(a.start_at) + ' · ' + (a.patient ? a.patient.name : '#' + a.patient_id) + ' ', badge(a.status)),
    h('p', {}, a.service + (a.doctor ? ' · ' + a.doctor : '') + ' · ' + t('today.minutes', { n: a.duration_minutes }) +
      (a.patient && a.patient.preferred_channel ? ' · ' + t('channel.' + a.patient.preferred_channel) : '')),
    open ? h('div', { class: 'actions' }, ACTIONS.map((x) => h('button', { type: 'button', class: x === 'cancel' || x === 'no-show' ? 'danger' : '', 'data-action': x, onclick: doAct(x) }, t('act.' + x)))) : null,
    open ? h('details', {}, h('summary', {}, t('act.reschedule')), resched) : null,
    h('h3', {}, t('today.planned', { n: planned.length })),
    planned.length ? h('ul', { class: 'msgs plans' }, planned.map((p) => h('li', { 'data-plan': p.id },
      fmtDateTime(p.due_at) + ' · ' + t('kind.' + p.kind) + ' · ' + p.template + ' ', badge(p.status), ' ',
      h('button', { type: 'button', class: 'plain', 'data-cancel-plan': p.id, 'aria-label': t('today.cancelplan') + ': ' + t('kind.' + p.kind) + ' ' + fmtDateTime(p.due_at),
        onclick: (ev) => act(ev.currentTarget, out, async () => { await api('POST', '/v1/reminders/' + p.id + '/cancel'); say(t('today.plancancelled')); await refresh(); }) },
      t('today.cancelplan'))))) : h('p', { class: 'muted' }, t('today.noplans')),
    h('h3', {}, t('today.sent', { n: a.sent.length })),
    a.sent.length ? h('ul', { class: 'msgs sent' }, a.sent.map((m) => h('li', { 'data-notification': m.id },
      fmtDateTime(m.sent_at || m.due_at) + ' · ' + t('channel.' + m.channel) + ' · ' + m.template + ' ', badge(m.status),
      m.last_error ? h('span', { class: 'muted' }, ' ' + m.last_error) : null, ' ',
      h('button', { type: 'button', class: 'plain', 'data-resend': m.id, onclick: (ev) => act(ev.currentTarget, out, async () => {
        let id = m.id;
        if (m.status === 'failed' || m.status === 'cancelled') await api('POST', '/v1/notifications/' + m.id + '/retry');
        else id = (await api('POST', '/v1/notifications', resendBody(a, m))).data.id;
        say(t('today.resent', { id }));
        await refresh();
        const card = document.querySelector(`[data-appointment="${a.id}"] .out`);
        if (card) card.append(h('p', { role: 'status', 'data-resent': id }, t('today.resent', { id })));
      }) }, t('act.resend'))))) : h('p', { class: 'muted' }, t('today.nosent')),
    out);
}

// The date chosen, kept while the tab is open: switching the language or
// visiting another page and coming back shows the same day again.
let chosenDay = null;

export default {
  id: 'today',
  title: 'nav.today',
  render(main, ctx) {
    const day = h('input', { type: 'date', id: 'today-date', value: chosenDay || localDate() });
    const list = h('ul', { class: 'appts' });
    const state = h('p', { class: 'muted', id: 'today-state' });
    const err = h('div', {});
    let timer = null, busy = false, gone = false;
    const refresh = async () => {
      if (busy || gone) return;
      busy = true;
      try {
        const appts = await loadDay(day.value);
        if (gone) return;
        err.replaceChildren();
        // Keep an open reschedule form and the focus across a refresh.
        const focused = document.activeElement && document.activeElement.closest('[data-appointment]');
        const keepOpen = new Set([...list.querySelectorAll('details[open]')].map((d) => d.closest('[data-appointment]').dataset.appointment));
        if (focused && document.activeElement.tagName === 'INPUT') return;
        list.replaceChildren(...appts.map((a) => apptCard(a, refresh, ctx)));
        for (const d of list.querySelectorAll('details')) if (keepOpen.has(d.closest('[data-appointment]').dataset.appointment)) d.open = true;
        state.textContent = appts.length ? t('today.count', { n: appts.length }) : t('today.none');
        state.dataset.loaded = day.value;
      } catch (e) {
        if (!gone) err.replaceChildren(errorBox(e.message));
      } finally { busy = false; }
    };
    day.addEventListener('change', () => { chosenDay = day.value || null; list.replaceChildren(); refresh(); });
    const tick = () => { if (!document.hidden) refresh(); };
    timer = setInterval(tick, POLL_MS);
    main.append(h('div', { class: 'row' }, field(t('today.date'), day),
      h('button', { type: 'button', class: 'plain', onclick: refresh }, t('today.refresh'))),
      h('p', { class: 'muted' }, t('today.zone', { zone: ctx.clinic.timezone, every: POLL_MS / 1000 })), err, state, list);
    refresh();
    return () => { gone = true; clearInterval(timer); };
  },
};
