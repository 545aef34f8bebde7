// loyalty.js: the clinic's loyalty rules (points for a visit, a service or a
// referral) from /v1/loyalty/rules. A patient's balance and ledger are on
// the Patients page.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, table, csvButton, errorBox } from '../ui.js';

export default {
  id: 'loyalty',
  title: 'nav.loyalty',
  render(main) {
    const box = h('div', { id: 'loy-rules' });
    main.append(h('p', { class: 'muted' }, t('loy.where')), box);
    api('GET', '/v1/loyalty/rules').then(({ data }) => {
      const cols = [{ label: t('loy.kind'), get: (r) => t('loy.k.' + r.kind) }, { label: t('pat.service'), get: (r) => r.service || '—' },
        { label: t('loy.points'), get: (r) => String(r.points) }];
      box.append(h('section', { class: 'card', 'data-chart': 'loyalty-rules' }, h('h2', {}, t('loy.rules')),
        data.data.length ? table(t('loy.rules'), cols, data.data) : h('p', {}, t('loy.none')),
        csvButton('loyalty-rules', cols, data.data)));
    }).catch((e) => box.append(errorBox(e.message)));
  },
};
