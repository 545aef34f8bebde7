// notlanded.js: a page whose API has not landed yet says so plainly, naming
// the route it waits for, instead of showing anything made up. When the
// route lands, replace the entry in app.js's PAGES with the real module.
import { h } from '../ui.js';
import { t } from '../i18n.js';

export function notLanded(id, route) {
  return {
    id,
    title: 'nav.' + id,
    landed: false,
    render(main) {
      main.append(h('div', { class: 'card', 'data-not-landed': id },
        h('p', {}, t('soon.body', { what: t('nav.' + id) })),
        h('p', { class: 'muted' }, t('soon.route', { route }))));
    },
  };
}
