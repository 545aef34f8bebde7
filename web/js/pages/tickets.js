// tickets.js: the ticket inbox (filtered by status by the API), a ticket's
// thread oldest first with reply, assign and close, and the clinic's FAQ
// entries (what automatic answers come from) with their form. Every ticket
// action is the API's POST /v1/tickets/{id}/{action}; an FAQ entry is added
// by POST /v1/faq and removed by /v1/faq/{id}/remove (an admin's), and as
// the API keeps no other change an edit adds the new wording, then removes
// the old. Each error goes beside the field it names.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, badge, fmtDateTime, table, act, say, errorBox, showFieldError } from '../ui.js';

const STATUSES = ['open', 'in_progress', 'escalated', 'resolved', 'closed'];

async function detail(box, id, reload) {
  box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  let k;
  try { k = (await api('GET', '/v1/tickets/' + id)).data; } catch (e) { box.replaceChildren(errorBox(e.message)); return; }
  const out = h('div', { 'aria-live': 'polite' });
  const text = h('textarea', { id: 'tk-reply', rows: 3 });
  const who = h('input', { id: 'tk-assign', autocomplete: 'off', value: k.assigned_to || '' });
  // One action: its body, its control (for the error) and what it says.
  const run = (button, action, body, control, done) => act(button, out, async () => {
    if (control) fieldError(control, '');
    try {
      await api('POST', '/v1/tickets/' + id + '/' + action, body);
    } catch (e) {
      if (control) { fieldError(control, e.message); control.focus(); }
      throw e;
    }
    say(done);
    await detail(box, id, reload);
    reload();
    const st = box.querySelector('[data-ticket-out]');
    if (st) st.append(h('p', { role: 'status' }, done));
  });
  const closed = k.status === 'closed';
  const thread = (k.messages || []).map((m) => h('li', { class: 'card', 'data-msg': m.id, 'data-direction': m.direction },
    h('p', { class: 'muted' }, fmtDateTime(m.created_at) + ' · ' + t(m.direction === 'in' ? 'tk.in' : 'tk.out') +
      (m.author ? ' · ' + m.author : '') + (m.channel ? ' · ' + m.channel : '')),
    h('p', { class: 'body' }, m.body)));
  const replyForm = h('form', { novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) { fieldError(text, t('tk.empty')); text.focus(); return; }
    run(ev.submitter || replyForm.querySelector('button'), 'reply', { text: text.value }, text, t('tk.replied'));
  } }, field(t('tk.reply'), text, k.patient_id ? null : t('tk.nopatient')), h('button', { type: 'submit', id: 'tk-reply-go' }, t('tk.send')));
  const assignForm = h('form', { class: 'row', novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    run(ev.submitter || assignForm.querySelector('button'), 'assign', { assigned_to: who.value.trim() }, who, t('tk.assigned'));
  } }, field(t('tk.assignto'), who), h('button', { type: 'submit', id: 'tk-assign-go' }, t('tk.assign')));
  box.replaceChildren(h('section', { class: 'card', 'data-ticket': k.id, 'aria-label': t('tk.detail', { id: k.id }) },
    h('h2', { tabindex: '-1' }, t('tk.detail', { id: k.id }) + ': ' + k.subject + ' ', badge(k.status, 'tk.status.')),
    h('p', {}, t('tk.priority') + ': ' + t('tk.prio.' + k.priority) + ' · ' + t('tk.assignee') + ': ' + (k.assigned_to || '—') +
      ' · ' + t('col.patient') + ': ' + (k.patient_id ? '#' + k.patient_id : '—')),
    h('p', { class: 'body' }, k.description),
    h('h3', {}, t('tk.thread', { n: thread.length })),
    thread.length ? h('ol', { class: 'thread', 'data-thread': k.id }, thread) : h('p', { class: 'muted', 'data-thread': k.id }, t('tk.nothread')),
    closed ? null : [replyForm, assignForm,
      h('button', { type: 'button', class: 'danger', id: 'tk-close', onclick: (ev) => run(ev.currentTarget, 'close', {}, null, t('tk.closed')) }, t('tk.close'))],
    h('div', { 'data-ticket-out': '' }), out));
  box.querySelector('h2').focus();
}

// The FAQ: its entries, and one form that adds an entry or edits the one
// chosen (editing: the form names it, and cancelling it starts afresh).
function faqs(box) {
  const c = {
    question: h('textarea', { id: 'faq-question', rows: 2 }),
    answer: h('textarea', { id: 'faq-answer', rows: 3 }),
    keywords: h('input', { id: 'faq-keywords', autocomplete: 'off' }),
    language: h('select', { id: 'faq-language' }, ['en', 'hi'].map((l) => h('option', { value: l }, t('lang.' + l)))),
  };
  let editing = null;
  const list = h('div', { id: 'faq-list' });
  const out = h('div', { 'aria-live': 'polite' });
  const title = h('h3', {});
  const save = h('button', { type: 'submit', id: 'faq-save' });
  const cancel = h('button', { type: 'button', class: 'plain', id: 'faq-new', onclick: () => start(null) }, t('tk.faqnew'));
  const start = (f) => {
    editing = f;
    for (const [k, x] of Object.entries(c)) { x.value = f ? f[k] || '' : (k === 'language' ? 'en' : ''); fieldError(x, ''); }
    title.textContent = f ? t('tk.faqedit', { id: f.id }) : t('tk.faqadd');
    save.textContent = f ? t('tk.faqsave') : t('tk.faqaddgo');
    cancel.hidden = !f;
    if (f) c.question.focus();
  };
  const done = async (msg) => { say(msg); await load(); out.replaceChildren(h('p', { role: 'status' }, msg)); };
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': t('tk.faqform'), onsubmit: (ev) => {
    ev.preventDefault();
    act(save, out, async () => {
      for (const x of Object.values(c)) fieldError(x, '');
      const body = { question: c.question.value, answer: c.answer.value, keywords: c.keywords.value, language: c.language.value };
      let made;
      try { made = (await api('POST', '/v1/faq', body)).data; } catch (e) { showFieldError(e, c); throw e; }
      const old = editing;
      if (old) await api('POST', '/v1/faq/' + old.id + '/remove');
      start(null);
      await done(t(old ? 'tk.faqsaved' : 'tk.faqadded', { id: made.id }));
    });
  } }, title, h('p', { class: 'muted' }, t('tk.faqhint')), field(t('tk.question'), c.question), field(t('tk.answer'), c.answer),
    h('div', { class: 'row' }, field(t('tk.keywords'), c.keywords, t('tk.keywordshint')), field(t('col.language'), c.language)),
    h('div', { class: 'row' }, save, cancel), out);
  const load = async () => {
    try {
      const { data } = await api('GET', '/v1/faq');
      list.replaceChildren(h('p', { class: 'muted' }, t('tk.threshold', { n: data.threshold })),
        table(t('tk.faq'), [
          { label: t('tk.question'), get: (f) => h('span', { lang: f.language }, f.question) },
          { label: t('tk.answer'), get: (f) => h('span', { lang: f.language, 'data-faq-answer': f.id }, f.answer) },
          { label: t('tk.keywords'), get: (f) => f.keywords },
          { label: t('col.language'), get: (f) => f.language },
          { label: t('loy.actions'), get: (f) => h('span', { class: 'row' },
            h('button', { type: 'button', class: 'plain', 'data-edit-faq': f.id, onclick: () => start(f) }, t('loy.edit')),
            h('button', { type: 'button', class: 'danger', 'data-remove-faq': f.id, onclick: (ev) => act(ev.currentTarget, out, async () => {
              await api('POST', '/v1/faq/' + f.id + '/remove');
              if (editing && editing.id === f.id) start(null);
              await done(t('tk.faqremoved', { id: f.id }));
            }) }, t('loy.remove'))) }], data.data));
    } catch (e) { list.replaceChildren(errorBox(e.message)); }
  };
  start(null);
  box.append(list, form);
  load();
}

export default {
  id: 'tickets',
  title: 'nav.tickets',
  render(main) {
    const status = h('select', { id: 'tk-status' }, h('option', { value: '' }, t('all')),
      STATUSES.map((s) => h('option', { value: s }, t('tk.status.' + s))));
    const list = h('div', { id: 'tk-list' });
    const box = h('div', { id: 'tk-detail' });
    const faq = h('div', { id: 'tk-faq' });
    const load = async () => {
      try {
        const rows = await apiAll('/v1/tickets' + (status.value ? '?status=' + status.value : ''));
        rows.reverse();
        list.replaceChildren(table(t('tk.count', { n: rows.length }), [
          { label: t('tk.ticket'), get: (k) => h('button', { type: 'button', class: 'plain', 'data-open-ticket': k.id,
            onclick: () => detail(box, k.id, load) }, '#' + k.id + ' ' + k.subject) },
          { label: t('col.status'), get: (k) => badge(k.status, 'tk.status.') },
          { label: t('tk.priority'), get: (k) => t('tk.prio.' + k.priority) },
          { label: t('tk.assignee'), get: (k) => k.assigned_to || '' },
          { label: t('col.when'), get: (k) => fmtDateTime(k.updated_at) }], rows));
      } catch (e) { list.replaceChildren(errorBox(e.message)); }
    };
    status.addEventListener('change', load);
    main.append(h('form', { class: 'card row', 'aria-label': t('tk.filter'), onsubmit: (e) => e.preventDefault() },
      field(t('col.status'), status)), list, box, h('h2', {}, t('tk.faq')), faq);
    load();
    faqs(faq);
  },
};
