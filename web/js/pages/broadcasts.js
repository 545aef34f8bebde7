// broadcasts.js: the clinic's broadcasts with their status and counts (one
// opens with its delivery statistics), cancel, pause and resume, and the
// composer: a notice, a health tip or a campaign to the patients a criteria
// form selects. The server counts them first (/v1/segments/preview) and
// sending waits for that count; changing the criteria asks for it again.
// A notice names its patients (the API's rule), so it goes to the ids the
// preview returns, which it lists in full only for a small audience. The
// message is a text (English, Hindi), one of the clinic's templates, or A/B
// variants (each a text or a template, with a weight: each patient is given
// one at random in proportion, and the statistics split by variant).
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, badge, fmtDateTime, table, act, say, errorBox, wallToIso, showFieldError } from '../ui.js';

const KINDS = ['notice', 'tip', 'campaign'];
const CHANNELS = ['sms', 'whatsapp', 'email'];
const CATEGORIES = ['reminders', 'broadcasts', 'health_tips', 'marketing'];
const SOURCES = ['text', 'template', 'variants'];
const VARIANTS = ['A', 'B'];
const ACTIONS = { scheduled: ['pause', 'cancel'], sending: ['pause', 'cancel'], paused: ['resume', 'cancel'], stale: ['resume', 'cancel'], draft: ['cancel'] };

const opts = (values, words, empty) => [empty ? h('option', { value: '' }, empty) : null,
  ...values.map((v) => h('option', { value: v }, words ? t(words + v) : v))];
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

async function stats(box, id) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const b = (await api('GET', '/v1/broadcasts/' + id + '/stats')).data;
    const s = b.stats || {};
    // The whole broadcast, then a column per variant when it has several.
    const per = (b.variants || []).length > 1 ? Object.entries(b.variants_stats || {}) : [];
    const shown = (x, k) => (k === 'delivery_rate' ? Math.round(x[k] * 1000) / 10 + '%' : String(x[k]));
    const rows = ['total', 'queued', 'skipped', 'pending', 'sent', 'delivered', 'read', 'failed', 'cancelled', 'replied', 'booked', 'delivery_rate']
      .filter((k) => s[k] !== undefined && s[k] !== null).map((k) => ({ k }));
    box.replaceChildren(h('section', { class: 'card', 'data-broadcast-stats': id },
      h('h3', { tabindex: '-1' }, t('bc.statsof', { name: b.name })),
      table(t('bc.statsof', { name: b.name }), [{ label: t('bc.measure'), get: (r) => t('bc.s.' + r.k) },
        { label: per.length ? t('bc.all') : t('num.count'), get: (r) => shown(s, r.k) },
        ...per.map(([name, x]) => ({ label: t('bc.var.name', { name }), get: (r) => (x[r.k] === undefined ? '' : shown(x, r.k)) }))], rows)));
    box.querySelector('h3').focus();
  } catch (e) { box.replaceChildren(errorBox(e.message)); }
}

function composer(reload) {
  const c = {
    kind: h('select', { id: 'bc-kind' }, opts(KINDS, 'bc.kind.')),
    name: h('input', { id: 'bc-name', autocomplete: 'off' }),
    text: h('textarea', { id: 'bc-text', rows: 3 }),
    texthi: h('textarea', { id: 'bc-text-hi', rows: 3, lang: 'hi' }),
    channel: h('select', { id: 'bc-channel' }, opts(CHANNELS, 'channel.', t('bc.anychannel'))),
    when: h('input', { id: 'bc-when', type: 'datetime-local' }),
    tags: h('input', { id: 'bc-tags', autocomplete: 'off' }),
    language: h('input', { id: 'bc-language', autocomplete: 'off' }),
    gender: h('select', { id: 'bc-gender' }, opts(['F', 'M', 'O'], 'bc.gender.', t('all'))),
    agemin: h('input', { id: 'bc-agemin', type: 'number', min: 0, max: 150 }),
    agemax: h('input', { id: 'bc-agemax', type: 'number', min: 0, max: 150 }),
    lastvisit: h('input', { id: 'bc-lastvisit', type: 'number', min: 1 }),
    future: h('input', { id: 'bc-future', type: 'checkbox' }),
    never: h('input', { id: 'bc-never', type: 'checkbox' }),
    consented: h('select', { id: 'bc-consented' }, opts(CATEGORIES, 'bc.cat.', t('bc.anycat'))),
    source: h('select', { id: 'bc-source' }, opts(SOURCES, 'bc.src.')),
    template: h('select', { id: 'bc-template' }),
  };
  // The variants' controls: A and B, each a weight, a text or a template.
  const v = VARIANTS.map((name) => ({ name,
    weight: h('input', { id: `bc-var-${name}-weight`, type: 'number', min: 1, max: 1000, value: '1' }),
    text: h('textarea', { id: `bc-var-${name}-text`, rows: 2 }),
    template: h('select', { id: `bc-var-${name}-template` }) }));
  api('GET', '/v1/templates').then(({ data }) => {
    const names = [...new Set(data.data.map((x) => x.name))].sort();
    c.template.replaceChildren(...opts(names));
    for (const x of v) x.template.replaceChildren(...opts(names, null, t('bc.var.notemplate')));
  }).catch((e) => fieldError(c.template, e.message));
  const parts = {
    text: h('div', {}, field(t('bc.text'), c.text, t('bc.texthint')), field(t('bc.texthi'), c.texthi)),
    template: h('div', {}, field(t('bc.template'), c.template, t('bc.templatehint'))),
    variants: h('fieldset', { 'data-variants': '' }, h('legend', {}, t('bc.variants')), h('p', { class: 'muted' }, t('bc.varhint')),
      v.map((x) => h('div', { class: 'card', 'data-variant': x.name }, h('h3', {}, t('bc.var.name', { name: x.name })),
        field(t('bc.var.weight'), x.weight), field(t('bc.text'), x.text, t('bc.texthint')), field(t('bc.template'), x.template)))),
  };
  const showSource = () => { for (const [k, el] of Object.entries(parts)) el.hidden = k !== c.source.value; };
  c.source.addEventListener('change', showSource);
  showSource();
  // The API's field names (criteria.x, text, ...) to the controls.
  const byField = { kind: c.kind, name: c.name, text: c.text, 'text.en': c.text, 'text.hi': c.texthi, channel: c.channel,
    scheduled_time: c.when, patient_ids: c.tags, criteria: c.tags, 'criteria.tags': c.tags, 'criteria.language': c.language,
    'criteria.gender': c.gender, 'criteria.age_range': c.agemin, 'criteria.last_visit_days': c.lastvisit,
    'criteria.has_future_appointment': c.future, 'criteria.never_visited': c.never, 'criteria.consented_to_category': c.consented,
    template: c.template };
  // With variants the API names "variants", "text" or "template" without
  // saying which: the first variant's controls carry it.
  const varFields = { variants: v[0].text, text: v[0].text, 'text.en': v[0].text, template: v[0].template };
  const count = h('p', { id: 'bc-count', role: 'status' }, t('bc.nocount'));
  const out = h('div', {});
  let preview = null;
  const criteria = () => {
    const k = {};
    if (list(c.tags.value).length) k.tags = list(c.tags.value);
    if (list(c.language.value).length) k.language = list(c.language.value);
    if (c.gender.value) k.gender = c.gender.value;
    if (c.agemin.value !== '' || c.agemax.value !== '') k.age_range = [Number(c.agemin.value || 0), Number(c.agemax.value || 150)];
    if (c.lastvisit.value !== '') k.last_visit_days = Number(c.lastvisit.value);
    if (c.future.checked) k.has_future_appointment = true;
    if (c.never.checked) k.never_visited = true;
    if (c.consented.value) k.consented_to_category = c.consented.value;
    return k;
  };
  const clearErrors = () => { for (const x of [...Object.values(c), ...v.flatMap((y) => [y.weight, y.text, y.template])]) fieldError(x, ''); };
  const showError = (e) => showFieldError(e, c.source.value === 'variants' ? { ...byField, ...varFields } : byField);
  const stale = () => { preview = null; send.disabled = true; count.textContent = t('bc.nocount'); delete count.dataset.count; };
  for (const k of ['tags', 'language', 'gender', 'agemin', 'agemax', 'lastvisit', 'future', 'never', 'consented', 'kind']) {
    c[k].addEventListener('input', stale);
    c[k].addEventListener('change', stale);
  }
  const previewButton = h('button', { type: 'button', id: 'bc-preview', onclick: (ev) => act(ev.currentTarget, out, async () => {
    clearErrors();
    const k = criteria();
    try {
      preview = { criteria: k, ...(await api('POST', '/v1/segments/preview', { criteria: k })).data };
    } catch (e) { showError(e); throw e; }
    count.textContent = t('bc.count', { n: preview.count });
    count.dataset.count = String(preview.count);
    send.disabled = false;
    say(count.textContent);
  }) }, t('bc.preview'));
  const send = h('button', { type: 'submit', id: 'bc-send', disabled: true }, t('bc.send'));
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': t('bc.compose'), onsubmit: (ev) => {
    ev.preventDefault();
    act(send, out, async () => {
      clearErrors();
      if (!preview) { count.textContent = t('bc.nocount'); previewButton.focus(); throw new Error(t('bc.previewfirst')); }
      const body = { kind: c.kind.value, name: c.name.value.trim() };
      if (c.source.value === 'template') body.template = c.template.value;
      else if (c.source.value === 'variants') {
        body.variants = v.map((x) => ({ name: x.name, weight: x.weight.value === '' ? 1 : Number(x.weight.value),
          ...(x.template.value ? { template: x.template.value } : { text: x.text.value }) }));
      } else {
        const texts = {};
        if (c.text.value.trim()) texts.en = c.text.value;
        if (c.texthi.value.trim()) texts.hi = c.texthi.value;
        if (Object.keys(texts).length) body.text = Object.keys(texts).length === 1 && texts.en ? texts.en : texts;
      }
      if (c.channel.value) body.channel = c.channel.value;
      if (c.when.value) body.scheduled_time = wallToIso(c.when.value);
      if (body.kind === 'notice') {
        if (preview.count > preview.sample.length || !preview.count) {
          fieldError(c.tags, t('bc.noticesize', { n: preview.sample.length }));
          throw new Error(t('bc.noticesize', { n: preview.sample.length }));
        }
        body.patient_ids = preview.sample;
      } else if (Object.keys(preview.criteria).length) body.criteria = preview.criteria;
      let b;
      try { b = (await api('POST', '/v1/broadcasts', body)).data; } catch (e) { showError(e); throw e; }
      out.append(h('p', { role: 'status', 'data-created': b.id }, t('bc.created', { name: b.name, id: b.id })));
      say(t('bc.created', { name: b.name, id: b.id }));
      await reload();
    });
  } },
  h('h2', {}, t('bc.compose')),
  field(t('bc.kindl'), c.kind, t('bc.kindhint')), field(t('bc.name'), c.name), field(t('bc.source'), c.source),
  parts.text, parts.template, parts.variants, field(t('col.channel'), c.channel), field(t('bc.when'), c.when, t('bc.whenhint')),
  h('fieldset', {}, h('legend', {}, t('bc.who')),
    field(t('bc.tags'), c.tags, t('bc.commas')), field(t('col.language'), c.language, t('bc.commas')), field(t('bc.genderl'), c.gender),
    h('div', { class: 'row' }, field(t('bc.agemin'), c.agemin), field(t('bc.agemax'), c.agemax)),
    field(t('bc.lastvisit'), c.lastvisit), field(t('bc.future'), c.future), field(t('bc.never'), c.never),
    field(t('bc.consented'), c.consented)),
  h('div', { class: 'row' }, previewButton, count), send, out);
  return form;
}

export default {
  id: 'broadcasts',
  title: 'nav.broadcasts',
  render(main) {
    const listBox = h('div', { id: 'bc-list' });
    const statsBox = h('div', { id: 'bc-stats' });
    const out = h('div', { 'aria-live': 'polite' });
    const load = async () => {
      try {
        const rows = (await api('GET', '/v1/broadcasts')).data.data;
        listBox.replaceChildren(table(t('bc.count.list', { n: rows.length }), [
          { label: t('bc.name'), get: (b) => h('button', { type: 'button', class: 'plain', 'data-broadcast': b.id,
            onclick: () => stats(statsBox, b.id) }, b.name) },
          { label: t('bc.kindl'), get: (b) => t('bc.kind.' + b.kind) },
          { label: t('col.status'), get: (b) => badge(b.status, 'bc.status.') },
          { label: t('bc.s.total'), get: (b) => String(b.total ?? '') },
          { label: t('bc.s.queued'), get: (b) => String(b.queued ?? '') },
          { label: t('bc.s.skipped'), get: (b) => String(b.skipped ?? '') },
          { label: t('bc.when'), get: (b) => (b.scheduled_time ? fmtDateTime(b.scheduled_time) : '') },
          { label: t('bc.actions'), get: (b) => h('span', { class: 'actions' }, (ACTIONS[b.status] || []).map((a) =>
            h('button', { type: 'button', class: a === 'cancel' ? 'danger' : 'plain', 'data-bc-action': a + '/' + b.id,
              'aria-label': t('bc.act.' + a) + ': ' + b.name,
              onclick: (ev) => act(ev.currentTarget, out, async () => {
                await api('POST', '/v1/broadcasts/' + b.id + '/' + a);
                say(t('bc.done', { action: t('bc.act.' + a), name: b.name }));
                await load();
              }) }, t('bc.act.' + a)))) }], rows));
      } catch (e) { listBox.replaceChildren(errorBox(e.message)); }
    };
    main.append(listBox, out, statsBox, composer(load));
    load();
  },
};
