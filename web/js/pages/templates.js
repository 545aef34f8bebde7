// templates.js: the clinic's templates (its own and the built-in ones).
// Editing one shows, as you type, its preview in English and in Hindi with
// sample variables and each SMS's segment count (sms.js, before saving);
// Save PUTs the whole template, and an error the API names a field for is
// shown beside that field; the saved template is then rendered by the
// server (POST .../render), the reference for what patients get.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, table, act, say, errorBox, badge } from '../ui.js';
import { smsSegments, placeholders, render } from '../sms.js';

const LANGS = ['en', 'hi'];
const CATEGORIES = ['transactional', 'reminders', 'broadcasts', 'health_tips', 'marketing'];
const PARTS = ['sms', 'whatsapp', 'subject', 'text', 'html'];
const SAMPLES = {
  patient_name: 'Ram Lal', clinic_name: 'Smile Dental', clinic_phone: '+91 80 4123 4567', service: 'Teeth Cleaning',
  doctor: 'Dr. Mehta', date: '2 December 2026', time: '10:00', drug: 'Amoxicillin 500 mg', dose: '1 tablet',
  test_name: 'HbA1c', due_date: '15 December 2026', points: '120',
};

function previewBox(lang, tpl, vars, draft) {
  const sms = tpl ? render(tpl.sms || '', vars) : null;
  const seg = sms ? smsSegments(sms.text) : null;
  return h('section', { class: 'card', 'data-preview': lang, 'aria-label': t('tpl.preview') + ' ' + t('lang.' + lang) },
    h('h3', {}, t('tpl.preview') + ': ' + t('lang.' + lang) + (draft ? ' · ' + t('tpl.draft') : '')),
    !tpl ? h('p', { class: 'muted' }, t('tpl.nolang')) : [
      h('div', { class: 'preview', lang, 'data-sms': lang }, sms.text),
      h('p', { 'data-segments': lang }, t('tpl.segments', { n: seg.segments, enc: seg.encoding, units: seg.units })),
      h('p', { class: 'muted' }, t('tpl.nocost')),
      sms.missing.length ? errorBox(t('tpl.missing', { names: sms.missing.join(', ') })) : null,
    ]);
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
  const previews = h('div', { class: 'grid2', id: 'tpl-previews' });
  const server = h('div', { id: 'tpl-server' });
  const draw = () => {
    const names = placeholders(PARTS.map((p) => inputs[p].value).join('\n'));
    for (const n of names) if (!varInputs[n]) {
      varInputs[n] = h('input', { id: 'var-' + n, value: SAMPLES[n] || n.replace(/_/g, ' ') });
      varInputs[n].addEventListener('input', draw);
      varBox.append(field('{' + n + '}', varInputs[n]));
    }
    const vars = Object.fromEntries(Object.entries(varInputs).map(([k, v]) => [k, v.value]));
    const draft = { sms: inputs.sms.value };
    previews.replaceChildren(...LANGS.map((l) => l === language ? previewBox(l, draft, vars, true)
      : previewBox(l, all.find((x) => x.name === name && x.language === l), vars, false)));
    return vars;
  };
  for (const p of PARTS) inputs[p].addEventListener('input', draw);
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
      await serverPreview(draw());
    });
  } },
  h('h2', {}, t('tpl.editing', { name, lang: t('lang.' + language) })),
  field(t('tpl.category'), inputs.category),
  PARTS.map((p) => field(t('tpl.' + p), inputs[p])), save, out);
  box.replaceChildren(h('div', { class: 'grid2' }, form, h('div', {}, varBox, previews, server)));
  const vars = draw();
  if (mine) serverPreview(vars);
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
