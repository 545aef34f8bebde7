// tickets.js: the ticket inbox (filtered by status by the API), a ticket's
// thread oldest first with reply, assign and close, and the clinic's FAQ
// entries (what automatic answers come from). Every action is the API's
// POST /v1/tickets/{id}/{action}; its error goes beside the field it names.
import { api, apiAll } from '../api.js';
import { t } from '../i18n.js';
import { h, field, fieldError, badge, fmtDateTime, table, act, say, errorBox } from '../ui.js';

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
    api('GET', '/v1/faq').then(({ data }) => faq.append(
      h('p', { class: 'muted' }, t('tk.threshold', { n: data.threshold })),
      table(t('tk.faq'), [
        { label: t('tk.question'), get: (f) => h('span', { lang: f.language }, f.question) },
        { label: t('tk.answer'), get: (f) => h('span', { lang: f.language }, f.answer) },
        { label: t('tk.keywords'), get: (f) => f.keywords },
        { label: t('col.language'), get: (f) => f.language }], data.data)))
      .catch((e) => faq.append(errorBox(e.message)));
  },
};
