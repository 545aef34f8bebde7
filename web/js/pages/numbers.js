// numbers.js: the clinic's numbers over the last two weeks. Messages per day
// by channel and by status and the delivery and read rates come from the
// message list (/v1/stats has no per-day split); the confirmation and no-show
// rates, the replies per day (by the clinic's day) and the workflow runs by
// outcome are /v1/stats's own. Each chart is also a table and a CSV file.
// Usage and its cost are on the Usage page.
import { apiAll, api } from '../api.js';
import { t } from '../i18n.js';
import { h, table, csvButton, localDate, errorBox } from '../ui.js';
import { stackedChart, PALETTE } from '../charts.js';

const DAYS = 14;
const CHANNELS = ['sms', 'whatsapp', 'email'];
const STATUSES = ['pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'cancelled'];

function days() {
  const out = [];
  const today = localDate();
  const base = Date.parse(today + 'T12:00:00Z');
  for (let i = DAYS - 1; i >= 0; i--) out.push(new Date(base - i * 86400000).toISOString().slice(0, 10));
  return out;
}

function perDay(msgs, key) {
  const rows = days().map((d) => ({ label: d, values: {} }));
  const at = new Map(rows.map((r) => [r.label, r]));
  for (const m of msgs) {
    const r = at.get(localDate(m.created_at));
    if (r) r.values[m[key]] = (r.values[m[key]] || 0) + 1;
  }
  return rows;
}

const pct = (a, b) => (b ? Math.round((1000 * a) / b) / 10 + '%' : '—');

export default {
  id: 'numbers',
  title: 'nav.numbers',
  render(main) {
    const box = h('div', {});
    main.append(h('p', { class: 'muted' }, t('num.from', { days: DAYS })), box);
    const since = '?from=' + new Date(Date.parse(days()[0] + 'T00:00:00Z') - 14 * 3600e3).toISOString();
    Promise.all([apiAll('/v1/notifications' + since), api('GET', '/v1/stats' + since), api('GET', '/v1/queue/status')]).then(([msgs, st, q]) => {
      const count = (s) => msgs.filter((m) => s.includes(m.status)).length;
      const { visits, workflows, replies } = st.data;
      const rate = (r, d) => (d ? Math.round(1000 * r) / 10 + '%' : '—');
      const outgoing = count(['sent', 'delivered', 'read', 'failed']);
      const rates = [
        { key: 'delivery', value: pct(count(['delivered', 'read']), outgoing), basis: t('num.b.delivery') },
        { key: 'read', value: pct(count(['read']), count(['delivered', 'read'])), basis: t('num.b.read') },
        { key: 'failure', value: pct(count(['failed']), outgoing), basis: t('num.b.failure') },
        { key: 'reply', value: rate(replies.reply_rate, replies.sent), basis: t('num.b.reply', replies) },
        { key: 'confirmation', value: rate(st.data.confirmation_rate, visits.booked), basis: t('num.b.confirmation', visits) },
        { key: 'noshow', value: rate(st.data.no_show_rate, visits.completed + visits.no_shows), basis: t('num.b.noshow', visits) },
      ];
      const wrows = ['executed', 'succeeded', 'partly_failed', 'failed', 'unfinished'].map((k) => ({ k, n: workflows[k] }));
      const wcols = [{ label: t('num.outcome'), get: (r) => t('num.w.' + r.k) }, { label: t('num.count'), get: (r) => String(r.n) }];
      const rcols = [{ label: t('num.rate'), get: (r) => t('num.r.' + r.key) }, { label: t('num.value'), get: (r) => r.value },
        { label: t('num.basis'), get: (r) => r.basis }];
      const byDay = new Map(replies.days.map((d) => [d.date, d]));
      const rrows = days().map((d) => ({ label: d, values: byDay.get(d) || { sent: 0, replies: 0, reply_rate: 0 } }));
      const rextra = [{ label: t('num.r.reply'), get: (r) => rate(r.values.reply_rate, r.values.sent) }];
      const qrows = STATUSES.map((st) => ({ st, n: q.data[st] }));
      const qcols = [{ label: t('col.status'), get: (r) => t('status.' + r.st) }, { label: t('num.count'), get: (r) => String(r.n) }];
      box.replaceChildren(
        h('div', { class: 'stats' }, rates.map((r) => h('div', { class: 'card', 'data-rate': r.key },
          h('div', { class: 'muted' }, t('num.r.' + r.key)), h('div', { class: 'stat' }, r.value)))),
        stackedChart('messages-by-channel', t('num.bychannel', { days: DAYS }),
          CHANNELS.map((c, i) => ({ key: c, label: t('channel.' + c), colour: PALETTE[i] })), perDay(msgs, 'channel')),
        stackedChart('messages-by-status', t('num.bystatus', { days: DAYS }),
          STATUSES.map((c, i) => ({ key: c, label: t('status.' + c), colour: PALETTE[i] })), perDay(msgs, 'status')),
        stackedChart('replies', t('num.replies', { days: DAYS }), [{ key: 'sent', label: t('num.sent'), colour: PALETTE[0] },
          { key: 'replies', label: t('num.replied'), colour: PALETTE[1] }], rrows, { stacked: false, cols: rextra }),
        h('section', { class: 'card', 'data-chart': 'rates' }, h('h2', {}, t('num.rates')), table(t('num.rates'), rcols, rates), csvButton('rates', rcols, rates)),
        h('section', { class: 'card', 'data-chart': 'queue' }, h('h2', {}, t('num.queue')), table(t('num.queue'), qcols, qrows), csvButton('queue', qcols, qrows)),
        h('section', { class: 'card', 'data-chart': 'workflows' }, h('h2', {}, t('num.workflows')),
          h('div', { class: 'stats' }, ['succeeded', 'failed'].map((k) => h('div', { class: 'card', 'data-workflows': k },
            h('div', { class: 'muted' }, t('num.w.' + k)), h('div', { class: 'stat' }, String(workflows[k]))))),
          table(t('num.workflows'), wcols, wrows), csvButton('workflows', wcols, wrows)),
        h('p', {}, h('a', { href: '#/usage' }, t('num.seeusage'))));
    }).catch((e) => box.append(errorBox(e.message)));
  },
};
