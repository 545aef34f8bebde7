// templates.js: the clinic's templates (its own and the built-in ones).
// Editing one shows, as you type, its preview in English and in Hindi with
// sample variables and each SMS's segment count and encoding, rendered by
// the server from the draft (POST /v1/templates/preview, called once typing
// pauses) so the dashboard holds no copy of the template rules; an error the
// API names a field for is shown beside that field. Save PUTs the whole
// template; the saved template is then rendered by POST .../render.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, table, act, say, errorBox, badge } from '../ui.js';

const LANGS = ['en', 'hi'];
const CATEGORIES = ['transactional', 'reminders', 'broadcasts', 'health_tips', 'marketing'];
const PARTS = ['sms', 'whatsapp', 'subject', 'text', 'html'];
const SAMPLES = {
  patient_name: 'Ram Lal', clinic_name: 'Smile Dental', clinic_phone: '+91 80 4123 4567', service: 'Teeth Cleaning',
  doctor: 'Dr. Mehta', date: '2 December 2026', time: '10:00', drug: 'Amoxicillin 500 mg', dose: '1 tablet',
  test_name: 'HbA1c', due_date: '15 December 2026', points: '120',
};
const DEBOUNCE_MS = 300;

// One language's preview: the server's rendering of the texts, or its error.
function previewBox(lang, draft, got) {
  return h('section', { class: 'card', 'data-preview': lang, 'aria-label': t('tpl.preview') + ' ' + t('lang.' + lang) },
    h('h3', {}, t('tpl.preview') + ': ' + t('lang.' + lang) + (draft ? ' · ' + t('tpl.draft') : '')),
    !got ? h('p', { class: 'muted' }, t('tpl.nolang'))
      : got.error ? errorBox(got.error)
        : [h('div', { class: 'preview', lang, 'data-sms': lang }, got.sms.body),
          h('p', { 'data-segments': lang }, t('tpl.segments', { n: got.sms.segments, enc: got.sms.encoding })),
          h('p', { class: 'muted' }, t('tpl.nocost'))]);
}

async function editor(box, name, language, all) {
  const mine = all.find((x) => x.name === name && x.language === language);
  const inputs = {};
  const out = h('div', {});
  inputs.category = h('select', { id: 'tpl-category' }, CATEGORIES.map((c) => h('option', { value: c }, c)));
  inputs.category.value = mine ? mine.category : 'transactional';
  for (const p of PARTS) {
    inputs[p] = h('textarea', { id: 'tpl-' + p, lang: language, rows: p === 'html' ? 6 : 3, spellcheck: 'false' });
    inputs[p].value = (mine && mine[p]) || '';
  }
  const varBox = h('fieldset', { class: 'card' }, h('legend', {}, t('tpl.samples')));
  const varInputs = {};
  const addVar = (n) => {
    varInputs[n] = h('input', { id: 'var-' + n, value: SAMPLES[n] || n.replace(/_/g, ' ') });
    varInputs[n].addEventListener('input', () => later());
    varBox.append(field('{' + n + '}', varInputs[n]));
  };
  Object.keys(SAMPLES).forEach(addVar);
  const previews = h('div', { class: 'grid2', id: 'tpl-previews' });
  const server = h('div', { id: 'tpl-server' });
  const getVars = () => Object.fromEntries(Object.entries(varInputs).map(([k, v]) => [k, v.value]));
  const textsOf = (x) => Object.fromEntries(PARTS.map((p) => [p, (x && x[p]) || '']));
  // Both languages rendered by the server: this one as typed, the other as
  // saved. A later draw supersedes an earlier one still in flight.
  let seq = 0, timer = null;
  const draw = async () => {
    const mySeq = ++seq;
    const vars = getVars();
    const shown = await Promise.all(LANGS.map(async (l) => {
      const draft = l === language;
      const tpl = draft ? textsOf(Object.fromEntries(PARTS.map((p) => [p, inputs[p].value])))
        : all.find((x) => x.name === name && x.language === l);
      if (!tpl) return { l, draft, got: null };
      try {
        return { l, draft, got: (await api('POST', '/v1/templates/preview', { ...textsOf(tpl), vars })).data };
      } catch (e) {
        return { l, draft, got: { error: e.message, field: e.field } };
      }
    }));
    if (mySeq !== seq) return;
    for (const k of [...PARTS, ...Object.keys(varInputs)]) fieldError(inputs[k] || varInputs[k], '');
    for (const { draft, got } of shown) {
      const f = got && got.field;
      if (!f) continue;
      if (draft) fieldError(inputs[f] || varInputs[f.slice(5)] || inputs.sms, got.error);
    }
    const missing = shown.flatMap(({ got }) => (got && got.missing) || []).filter((n) => !varInputs[n]);
    if (missing.length) { new Set(missing).forEach(addVar); return draw(); }
    previews.replaceChildren(...shown.map(({ l, draft, got }) => previewBox(l, draft, got)));
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(draw, DEBOUNCE_MS); };
  for (const p of PARTS) inputs[p].addEventListener('input', later);
  const serverPreview = async (vars) => {
    for (const [k, v] of Object.entries(varInputs)) fieldError(v, '');
    try {
      const { data } = await api('POST', '/v1/templates/' + name + '/' + language + '/render', { channel: 'sms', vars });
      server.replaceChildren(h('h3', {}, t('tpl.server')), h('div', { class: 'preview', lang: language }, data.body));
    } catch (e) {
      const v = e.field && e.field.startsWith('vars.') && varInputs[e.field.slice(5)];
      if (v) fieldError(v, e.message);
      server.replaceChildren(errorBox(e.message));
    }
  };
  const save = h('button', { type: 'submit', id: 'tpl-save' }, t('tpl.save'));
  const form = h('form', { novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    act(save, out, async () => {
      for (const k of Object.keys(inputs)) fieldError(inputs[k], '');
      const body = { category: inputs.category.value };
      for (const p of PARTS) body[p] = inputs[p].value;
      if (!body.whatsapp) body.whatsapp = null;
      try {
        await api('PUT', '/v1/templates/' + name + '/' + language, body);
      } catch (e) {
        const k = e.field && e.field.split('.')[0];
        if (inputs[k]) { fieldError(inputs[k], e.message); inputs[k].focus(); }
        throw e;
      }
      const idx = all.findIndex((x) => x.name === name && x.language === language);
      const saved = Object.assign({ name, language, source: 'clinic' }, body);
      if (idx >= 0) all[idx] = saved; else all.push(saved);
      out.append(h('p', { role: 'status' }, t('tpl.saved')));
      say(t('tpl.saved'));
      await serverPreview(getVars());
    });
  } },
  h('h2', {}, t('tpl.editing', { name, lang: t('lang.' + language) })),
  field(t('tpl.category'), inputs.category),
  PARTS.map((p) => field(t('tpl.' + p), inputs[p])), save, out);
  box.replaceChildren(h('div', { class: 'grid2' }, form, h('div', {}, varBox, previews, server)));
  draw().then(() => mine && serverPreview(getVars()));
  box.scrollIntoView();
  inputs.sms.focus();
}

export default {
  id: 'templates',
  title: 'nav.templates',
  render(main) {
    const box = h('div', { id: 'tpl-editor' });
    const list = h('div', {});
    main.append(box, list);
    api('GET', '/v1/templates').then(({ data }) => {
      const all = data.data;
      list.append(table(t('nav.templates'), [
        { label: t('col.template'), get: (x) => x.name },
        { label: t('col.language'), get: (x) => t('lang.' + x.language) },
        { label: t('tpl.category'), get: (x) => x.category },
        { label: t('col.source'), get: (x) => badge(x.source === 'clinic' ? 'clinic' : 'built-in') },
        { label: t('col.sms'), get: (x) => h('span', { lang: x.language }, (x.sms || '').slice(0, 80)) },
        { label: t('col.edit'), get: (x) => h('button', { type: 'button', class: 'plain', 'data-edit': x.name + '/' + x.language,
          'aria-label': t('tpl.edit') + ' ' + x.name + ' ' + t('lang.' + x.language),
          onclick: () => editor(box, x.name, x.language, all) }, t('tpl.edit')) }], all));
    }).catch((e) => list.append(errorBox(e.message)));
  },
};
