// messages.js: the queue and its history, newest first. Status and channel
// are filtered by the API (?status, ?channel); template, patient name and
// the day it is due over what it returned. A message opens
// with its attempts and the providers' events; a failed one can be retried
// and a pending one cancelled.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, badge, fmtDateTime, localDate, table, act, say, errorBox } from '../ui.js';

const STATUSES = ['pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled'];
const CHANNELS = ['sms', 'whatsapp', 'email'];

function select(id, all, values, label) {
  return h('select', { id }, h('option', { value: '' }, all), values.map((v) => h('option', { value: v }, label(v))));
}

async function detail(box, id, reload) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  let m;
  try { m = (await api('GET', '/v1/notifications/' + id)).data; } catch (e) { box.replaceChildren(errorBox(e.message)); return; }
  const out = h('div', {});
  const buttons = [];
  if (m.status === 'failed' || m.status === 'cancelled')
    buttons.push(h('button', { type: 'button', 'data-retry': m.id, onclick: (ev) => act(ev.currentTarget, out, async () => {
      await api('POST', '/v1/notifications/' + m.id + '/retry'); say(t('msg.retried', { id: m.id })); await reload(m.id);
    }) }, t('act.retry')));
  if (m.status === 'pending')
    buttons.push(h('button', { type: 'button', class: 'danger', onclick: (ev) => act(ev.currentTarget, out, async () => {
      await api('POST', '/v1/notifications/' + m.id + '/cancel'); say(t('msg.cancelled', { id: m.id })); await reload(m.id);
    }) }, t('act.cancel')));
  box.replaceChildren(h('section', { class: 'card', 'aria-label': t('msg.detail', { id: m.id }), 'data-detail': m.id },
    h('h2', { tabindex: '-1' }, t('msg.detail', { id: m.id }), ' ', badge(m.status)),
    h('p', {}, t('channel.' + m.channel) + ' · ' + m.recipient + ' · ' + m.template + ' (' + m.language + ')'),
    m.last_error ? h('p', { class: 'error-box' }, t('msg.reason') + ': ' + m.last_error) : null,
    h('div', { class: 'preview', lang: m.language }, m.subject ? m.subject + '\n\n' + m.body : m.body),
    h('div', { class: 'actions' }, buttons), out,
    m.attempts.length ? table(t('msg.attempts'), [
      { label: t('col.when'), get: (x) => fmtDateTime(x.at) }, { label: t('col.transport'), get: (x) => x.transport },
      { label: t('col.outcome'), get: (x) => x.outcome }, { label: t('col.provider_id'), get: (x) => x.provider_id || '' },
      { label: t('col.detail'), get: (x) => x.detail || '' }], m.attempts) : h('p', { class: 'muted' }, t('msg.noattempts')),
    m.delivery_events.length ? table(t('msg.events'), [
      { label: t('col.when'), get: (x) => fmtDateTime(x.at) }, { label: t('col.provider'), get: (x) => x.provider },
      { label: t('col.status'), get: (x) => x.status }, { label: t('col.error'), get: (x) => x.error_code || '' },
      { label: t('col.applied'), get: (x) => (x.applied ? t('yes') : t('no')) }], m.delivery_events) : h('p', { class: 'muted' }, t('msg.noevents'))));
  box.querySelector('h2').focus(); // keyboard users land on what they opened
}

export default {
  id: 'messages',
  title: 'nav.messages',
  render(main) {
    const status = select('f-status', t('all'), STATUSES, (v) => t('status.' + v));
    const channel = select('f-channel', t('all'), CHANNELS, (v) => t('channel.' + v));
    const template = h('input', { id: 'f-template', type: 'search' });
    const patient = h('input', { id: 'f-patient', type: 'search' });
    const date = h('input', { id: 'f-date', type: 'date' });
    const err = h('div', {});
    const results = h('div', { id: 'msg-list' });
    const box = h('div', { id: 'msg-detail' });
    let rows = [], names = new Map();
    const draw = () => {
      const tp = template.value.trim().toLowerCase(), pp = patient.value.trim().toLowerCase();
      const shown = rows.filter((m) => (!tp || m.template.toLowerCase().includes(tp)) &&
        (!pp || (names.get(m.patient_id) || '').toLowerCase().includes(pp) || m.recipient.includes(pp)) &&
        (!date.value || localDate(m.due_at) === date.value));
      results.replaceChildren(h('p', { class: 'muted' }, t('msg.count', { n: shown.length, all: rows.length })), table(t('nav.messages'), [
        { label: t('col.id'), get: (m) => h('button', { type: 'button', class: 'plain', 'data-open': m.id, onclick: () => detail(box, m.id, load) }, '#' + m.id) },
        { label: t('col.when'), get: (m) => fmtDateTime(m.sent_at || m.due_at) },
        { label: t('col.patient'), get: (m) => names.get(m.patient_id) || '#' + m.patient_id },
        { label: t('col.channel'), get: (m) => t('channel.' + m.channel) },
        { label: t('col.template'), get: (m) => m.template },
        { label: t('col.status'), get: (m) => badge(m.status) },
        { label: t('col.attempts'), get: (m) => String(m.attempts) },
        { label: t('col.error'), get: (m) => m.last_error || '' }], shown));
    };
    const query = () => {
      const q = new URLSearchParams([['status', status.value], ['channel', channel.value]].filter((x) => x[1])).toString();
      return q ? '?' + q : '';
    };
    const load = async (open) => {
      try {
        const [list, pats] = await Promise.all([apiAll('/v1/notifications' + query()), apiAll('/v1/patients')]);
        names = new Map(pats.map((p) => [p.id, p.name]));
        rows = list.reverse();
        err.replaceChildren();
        draw();
        if (open) await detail(box, open, load);
      } catch (e) { err.replaceChildren(errorBox(e.message)); }
    };
    for (const c of [status, channel]) c.addEventListener('change', () => load());
    for (const c of [template, patient, date]) c.addEventListener('input', draw);
    main.append(h('form', { class: 'row card', role: 'search', 'aria-label': t('msg.filters'), onsubmit: (e) => e.preventDefault() },
      field(t('col.status'), status), field(t('col.channel'), channel), field(t('col.template'), template),
      field(t('col.patient'), patient), field(t('col.date'), date),
      h('button', { type: 'button', class: 'plain', onclick: () => load() }, t('today.refresh'))), err, box, results);
    load();
  },
};
