// patients.js: find a patient by name, phone or email and see their
// details, their consent from the ledger (what it allows now per category
// and channel, and its entries), their loyalty balance with its ledger,
// visits, planned reminders and messages.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, badge, fmtDateTime, table, errorBox } from '../ui.js';

const CONSENT_CATS = ['reminders', 'broadcasts', 'health_tips', 'marketing'];
const CHANNELS = ['sms', 'whatsapp', 'email'];

async function show(box, p) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const [visits, plans, msgs, consent, loyalty] = await Promise.all([
      apiAll('/v1/appointments?patient_id=' + p.id),
      api('GET', '/v1/patients/' + p.id + '/reminders').then((r) => r.data.data),
      apiAll('/v1/notifications?patient_id=' + p.id).then((l) => l.reverse()),
      api('GET', '/v1/patients/' + p.id + '/consent').then((r) => r.data),
      api('GET', '/v1/patients/' + p.id + '/loyalty').then((r) => r.data),
    ]);
    const allowed = CONSENT_CATS.map((c) => ({ c, ...consent.allowed[c] }));
    const dl = (pairs) => h('dl', { class: 'stats' }, pairs.map(([k, v]) => h('div', {}, h('dt', { class: 'muted' }, k), h('dd', {}, v))));
    box.replaceChildren(h('section', { class: 'card', 'data-patient': p.id, 'aria-label': p.name },
      h('h2', { tabindex: '-1' }, p.name),
      dl([[t('pat.phone'), p.phone || '—'], [t('pat.email'), p.email || '—'], [t('col.language'), p.language || '—'],
        [t('pat.channel'), p.preferred_channel ? t('channel.' + p.preferred_channel) : '—'], [t('pat.time'), p.preferred_time || '—'],
        [t('pat.loyalty'), h('span', { 'data-balance': loyalty.balance }, String(loyalty.balance))], [t('pat.lastvisit'), p.last_visit ? fmtDateTime(p.last_visit) : '—']]),
      h('h3', {}, t('pat.consent')),
      h('div', { 'data-consent': p.id }, table(t('pat.consentnow'), [
        { label: t('pat.category'), get: (r) => t('bc.cat.' + r.c) },
        ...CHANNELS.map((ch) => ({ label: t('channel.' + ch), get: (r) => h('span', { class: 'badge ' + (r[ch] === 'allowed' ? 'ok' : 'bad'),
          'data-allowed': r.c + '/' + ch + '/' + r[ch] }, t('pat.c.' + r[ch])) }))], allowed)),
      consent.ledger.length ? table(t('pat.ledger'), [
        { label: t('col.when'), get: (e) => fmtDateTime(e.at) }, { label: t('pat.category'), get: (e) => e.category === '*' ? t('all') : t('bc.cat.' + e.category) },
        { label: t('col.channel'), get: (e) => e.channel === '*' ? t('all') : t('channel.' + e.channel) },
        { label: t('pat.state'), get: (e) => t('pat.s.' + e.state) }, { label: t('col.source'), get: (e) => e.source + ' · ' + e.actor },
        { label: t('col.detail'), get: (e) => e.wording || e.message || '' }], consent.ledger) : h('p', { class: 'muted' }, t('pat.noledger')),
      h('h3', {}, t('pat.loyalty') + ': ' + loyalty.balance),
      loyalty.entries.length ? table(t('pat.loyaltyledger'), [
        { label: t('col.when'), get: (e) => fmtDateTime(e.created_at) }, { label: t('loy.points'), get: (e) => (e.points > 0 ? '+' : '') + e.points },
        { label: t('loy.kind'), get: (e) => t('loy.r.' + e.ref_kind) }, { label: t('col.detail'), get: (e) => e.reason }], loyalty.entries)
        : h('p', { class: 'muted' }, t('pat.noloyalty')),
      table(t('pat.visits'), [
        { label: t('col.when'), get: (a) => fmtDateTime(a.start_at) }, { label: t('pat.service'), get: (a) => a.service },
        { label: t('pat.doctor'), get: (a) => a.doctor || '' }, { label: t('col.status'), get: (a) => badge(a.status) }], visits),
      table(t('pat.plans'), [
        { label: t('col.when'), get: (r) => fmtDateTime(r.due_at) }, { label: t('pat.kind'), get: (r) => t('kind.' + r.kind) },
        { label: t('col.template'), get: (r) => r.template }, { label: t('col.status'), get: (r) => badge(r.status) }], plans),
      table(t('nav.messages'), [
        { label: t('col.when'), get: (m) => fmtDateTime(m.sent_at || m.due_at) }, { label: t('col.channel'), get: (m) => t('channel.' + m.channel) },
        { label: t('col.template'), get: (m) => m.template }, { label: t('col.status'), get: (m) => badge(m.status) },
        { label: t('col.error'), get: (m) => m.last_error || '' }], msgs)));
    box.querySelector('h2').focus();
  } catch (e) { box.replaceChildren(errorBox(e.message)); }
}

export default {
  id: 'patients',
  title: 'nav.patients',
  render(main) {
    const q = h('input', { id: 'pat-q', type: 'search', autocomplete: 'off' });
    const list = h('div', { id: 'pat-list' });
    const box = h('div', { id: 'pat-detail' });
    let all = [];
    const draw = () => {
      const s = q.value.trim().toLowerCase();
      const found = all.filter((p) => !s || p.name.toLowerCase().includes(s) || (p.phone || '').includes(s) || (p.email || '').toLowerCase().includes(s));
      list.replaceChildren(table(t('pat.found', { n: found.length }), [
        { label: t('col.patient'), get: (p) => h('button', { type: 'button', class: 'plain', 'data-open-patient': p.id, onclick: () => show(box, p) }, p.name) },
        { label: t('pat.phone'), get: (p) => p.phone || '' }, { label: t('pat.email'), get: (p) => p.email || '' },
        { label: t('col.language'), get: (p) => p.language || '' }], found.slice(0, 100)));
    };
    q.addEventListener('input', draw);
    main.append(h('form', { role: 'search', class: 'card', 'aria-label': t('pat.find'), onsubmit: (e) => e.preventDefault() },
      field(t('pat.find'), q, t('pat.findhint'))), list, box);
    apiAll('/v1/patients').then((l) => { all = l; draw(); }).catch((e) => list.append(errorBox(e.message)));
  },
};
