// loyalty.js: the clinic's loyalty rules (points for a visit, a service or a
// referral) from /v1/loyalty/rules, and the form that sets one (PUT, an
// admin's: the same kind and service replace the rule, 0 points remove it);
// the API's error goes beside the field it names. A patient's balance and
// ledger are on the Patients page.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, table, csvButton, errorBox, act, say, showFieldError } from '../ui.js';

const KINDS = ['visit', 'service', 'referral'];

export default {
  id: 'loyalty',
  title: 'nav.loyalty',
  render(main) {
    const box = h('div', { id: 'loy-rules' });
    const c = {
      kind: h('select', { id: 'loy-kind' }, KINDS.map((k) => h('option', { value: k }, t('loy.k.' + k)))),
      service: h('input', { id: 'loy-service', autocomplete: 'off' }),
      points: h('input', { id: 'loy-points', type: 'number', min: '0', step: '1', inputmode: 'numeric' }),
    };
    const out = h('div', { 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', id: 'loy-save' }, t('loy.save'));
    // One rule set (or removed, with 0 points): the list is read again after.
    const put = (button, rule, done) => act(button, out, async () => {
      for (const x of Object.values(c)) fieldError(x, '');
      try { await api('PUT', '/v1/loyalty/rules', rule); } catch (e) { showFieldError(e, c); throw e; }
      say(done);
      out.append(h('p', { role: 'status' }, done));
      await load();
    });
    const form = h('form', { class: 'card', novalidate: true, 'aria-label': t('loy.set'), onsubmit: (ev) => {
      ev.preventDefault();
      const rule = { kind: c.kind.value, points: c.points.value === '' ? null : Number(c.points.value) };
      if (c.service.value.trim() || rule.kind === 'service') rule.service = c.service.value.trim();
      put(save, rule, t('loy.saved', { kind: t('loy.k.' + rule.kind) }));
    } }, h('h2', {}, t('loy.set')), h('p', { class: 'muted' }, t('loy.sethint')),
      h('div', { class: 'row' }, field(t('loy.kind'), c.kind), field(t('pat.service'), c.service, t('loy.servicehint')),
        field(t('loy.points'), c.points)), save, out);
    const load = async () => {
      try {
        const { data } = await api('GET', '/v1/loyalty/rules');
        const cols = [{ label: t('loy.kind'), get: (r) => t('loy.k.' + r.kind) }, { label: t('pat.service'), get: (r) => r.service || '—' },
          { label: t('loy.points'), get: (r) => String(r.points) }];
        const actions = { label: t('loy.actions'), csv: () => '', get: (r) => h('span', { class: 'row' },
          h('button', { type: 'button', class: 'plain', 'data-edit-rule': r.kind + '/' + (r.service || ''), onclick: () => {
            c.kind.value = r.kind; c.service.value = r.service || ''; c.points.value = String(r.points); c.points.focus();
          } }, t('loy.edit')),
          h('button', { type: 'button', class: 'danger', 'data-remove-rule': r.kind + '/' + (r.service || ''),
            onclick: (ev) => put(ev.currentTarget, { kind: r.kind, service: r.service || undefined, points: 0 }, t('loy.removed', { kind: t('loy.k.' + r.kind) })) },
          t('loy.remove'))) };
        box.replaceChildren(h('section', { class: 'card', 'data-chart': 'loyalty-rules' }, h('h2', {}, t('loy.rules')),
          data.data.length ? table(t('loy.rules'), [...cols, actions], data.data) : h('p', {}, t('loy.none')),
          csvButton('loyalty-rules', cols, data.data)));
      } catch (e) { box.replaceChildren(errorBox(e.message)); }
    };
    main.append(h('p', { class: 'muted' }, t('loy.where')), box, form);
    load();
  },
};
