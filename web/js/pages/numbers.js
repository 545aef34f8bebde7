// numbers.js: the clinic's numbers, computed in the browser from the list
// routes while there is no /v1/stats route: messages per day by channel and
// by status, delivery and read rates, confirmation and no-show rates. Each
// chart is also a table and a CSV file. Usage against the tier quota, the
// month's cost, replies and workflow runs wait for their routes and say so.
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
    Promise.all([apiAll('/v1/notifications' + since), apiAll('/v1/appointments' + since), api('GET', '/v1/queue/status')]).then(([msgs, appts, q]) => {
      const count = (st) => msgs.filter((m) => st.includes(m.status)).length;
      const ac = (st) => appts.filter((a) => st.includes(a.status)).length;
      const outgoing = count(['sent', 'delivered', 'read', 'failed']);
      const rates = [
        { key: 'delivery', value: pct(count(['delivered', 'read']), outgoing), basis: t('num.b.delivery') },
        { key: 'read', value: pct(count(['read']), count(['delivered', 'read'])), basis: t('num.b.read') },
        { key: 'failure', value: pct(count(['failed']), outgoing), basis: t('num.b.failure') },
        { key: 'confirmation', value: pct(ac(['confirmed']), ac(['scheduled', 'confirmed', 'rescheduled'])), basis: t('num.b.confirmation') },
        { key: 'noshow', value: pct(ac(['no-show']), ac(['completed', 'no-show'])), basis: t('num.b.noshow') },
      ];
      const rcols = [{ label: t('num.rate'), get: (r) => t('num.r.' + r.key) }, { label: t('num.value'), get: (r) => r.value },
        { label: t('num.basis'), get: (r) => r.basis }];
      const qrows = STATUSES.map((st) => ({ st, n: q.data[st] }));
      const qcols = [{ label: t('col.status'), get: (r) => t('status.' + r.st) }, { label: t('num.count'), get: (r) => String(r.n) }];
      box.replaceChildren(
        h('div', { class: 'stats' }, rates.map((r) => h('div', { class: 'card', 'data-rate': r.key },
          h('div', { class: 'muted' }, t('num.r.' + r.key)), h('div', { class: 'stat' }, r.value)))),
        stackedChart('messages-by-channel', t('num.bychannel', { days: DAYS }),
          CHANNELS.map((c, i) => ({ key: c, label: t('channel.' + c), colour: PALETTE[i] })), perDay(msgs, 'channel')),
        stackedChart('messages-by-status', t('num.bystatus', { days: DAYS }),
          STATUSES.map((c, i) => ({ key: c, label: t('status.' + c), colour: PALETTE[i] })), perDay(msgs, 'status')),
        h('section', { class: 'card', 'data-chart': 'rates' }, h('h2', {}, t('num.rates')), table(t('num.rates'), rcols, rates), csvButton('rates', rcols, rates)),
        h('section', { class: 'card', 'data-chart': 'queue' }, h('h2', {}, t('num.queue')), table(t('num.queue'), qcols, qrows), csvButton('queue', qcols, qrows)),
        h('section', { class: 'card' }, h('h2', {}, t('num.later')), h('ul', {},
          ['usage', 'replies', 'workflows'].map((k) => h('li', { 'data-not-landed': k }, t('num.soon.' + k))))));
    }).catch((e) => box.append(errorBox(e.message)));
  },
};
