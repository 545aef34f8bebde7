// usage.js: a month's metered use for the clinic, as /v1/usage counts it:
// messages and units (an SMS counts its segments) against the tier's quota,
// the overage and its cost; then messages and units by channel as a chart
// with its table and CSV.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, field, table, csvButton, errorBox, rupees, localDate } from '../ui.js';
import { stackedChart, PALETTE } from '../charts.js';

const CHANNELS = ['sms', 'whatsapp', 'email'];

function draw(box, u) {
  const stats = [
    ['messages', String(u.messages)], ['units', String(u.units)],
    ['quota', u.quota === null ? t('us.unlimited') : String(u.quota)],
    ['overage', String(u.overage)], ['cost', rupees(u.cost_paise)],
    ['price', u.overage_paise === null ? t('us.noprice') : rupees(u.overage_paise)],
  ];
  const cols = [{ label: t('us.measure'), get: (r) => t('us.' + r[0]) }, { label: t('num.value'), get: (r) => r[1] }];
  const rows = ['messages', 'units'].map((m) => ({ label: t('us.' + m),
    values: Object.fromEntries(CHANNELS.map((c) => [c, u.channels[c][m]])) }));
  box.replaceChildren(
    h('p', {}, t('us.tier', { tier: u.tier || t('us.unmetered'), month: u.month })),
    h('div', { class: 'stats' }, stats.slice(0, 5).map(([k, v]) => h('div', { class: 'card', 'data-usage': k },
      h('div', { class: 'muted' }, t('us.' + k)), h('div', { class: 'stat' }, v)))),
    h('section', { class: 'card', 'data-chart': 'usage' }, h('h2', {}, t('us.summary')),
      table(t('us.summary'), cols, stats), csvButton('usage', cols, stats)),
    stackedChart('usage-by-channel', t('us.bychannel', { month: u.month }),
      CHANNELS.map((c, i) => ({ key: c, label: t('channel.' + c), colour: PALETTE[i] })), rows,
      { first: t('us.measure'), short: (l) => l }));
}

export default {
  id: 'usage',
  title: 'nav.usage',
  render(main) {
    const month = h('input', { id: 'us-month', type: 'month', value: localDate().slice(0, 7) });
    const box = h('div', { id: 'us-box' });
    const load = async () => {
      box.replaceChildren(h('p', { class: 'muted' }, t('loading')));
      try {
        draw(box, (await api('GET', '/v1/usage' + (month.value ? '?month=' + month.value : ''))).data);
      } catch (e) { box.replaceChildren(errorBox(e.message)); }
    };
    month.addEventListener('change', load);
    main.append(h('form', { class: 'card row', 'aria-label': t('us.month'), onsubmit: (e) => e.preventDefault() },
      field(t('us.month'), month)), box);
    load();
  },
};
