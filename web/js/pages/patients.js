// patients.js: find a patient by name, phone or email and see their
// details, their consent as the API has it today (opt-outs by category and
// channel, preferred channel and time), loyalty points, visits, planned
// reminders and messages.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, badge, fmtDateTime, table, errorBox } from '../ui.js';

async function show(box, p) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const [visits, plans, msgs] = await Promise.all([
      apiAll('/v1/appointments?patient_id=' + p.id),
      api('GET', '/v1/patients/' + p.id + '/reminders').then((r) => r.data.data),
      apiAll('/v1/notifications?patient_id=' + p.id).then((l) => l.reverse()),
    ]);
    const dl = (pairs) => h('dl', { class: 'stats' }, pairs.map(([k, v]) => h('div', {}, h('dt', { class: 'muted' }, k), h('dd', {}, v))));
    box.replaceChildren(h('section', { class: 'card', 'data-patient': p.id, 'aria-label': p.name },
      h('h2', { tabindex: '-1' }, p.name),
      dl([[t('pat.phone'), p.phone || '—'], [t('pat.email'), p.email || '—'], [t('col.language'), p.language || '—'],
        [t('pat.channel'), p.preferred_channel ? t('channel.' + p.preferred_channel) : '—'], [t('pat.time'), p.preferred_time || '—'],
        [t('pat.loyalty'), String(p.loyalty_points)], [t('pat.lastvisit'), p.last_visit ? fmtDateTime(p.last_visit) : '—']]),
      h('h3', {}, t('pat.consent')),
      p.opt_outs && p.opt_outs.length ? h('ul', { 'data-optouts': '' }, p.opt_outs.map((o) => h('li', {}, t('pat.optedout', { what: o }))))
        : h('p', {}, t('pat.nooptouts')),
      h('p', { class: 'muted' }, t('pat.consentsoon')),
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
