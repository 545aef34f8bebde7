// chart.js: a stacked bar chart drawn as SVG (no library: a few rectangles),
// always with the same numbers as a table (the accessible form) and as CSV.
// rows: [{label, values: {series: n}}]; series: [{key, label, colour}].
import { h, table, csvButton } from './ui.js';
import { t } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of kids) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Colours from a palette whose members keep 3:1 against white and apart.
export const PALETTE = ['#0b4f8a', '#b45309', '#15803d', '#7e22ce', '#b91c1c', '#0f766e', '#4b5563'];

export function stackedChart(id, title, series, rows) {
  const W = 640, H = 240, L = 40, B = 40, T = 10;
  const max = Math.max(1, ...rows.map((r) => series.reduce((n, x) => n + (r.values[x.key] || 0), 0)));
  const bw = rows.length ? (W - L - 10) / rows.length : 0;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title + ' (' + t('chart.seetable') + ')' });
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    svg.append(s('line', { x1: L, x2: W - 5, y1: y, y2: y, stroke: '#c5cbd3' }),
      s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, String(Math.round((max * i) / 4))));
  }
  rows.forEach((r, i) => {
    let y = H - B;
    for (const x of series) {
      const v = r.values[x.key] || 0;
      if (!v) continue;
      const bh = ((H - T - B) * v) / max;
      y -= bh;
      svg.append(s('rect', { x: L + i * bw + bw * 0.15, y, width: bw * 0.7, height: bh, fill: x.colour },
        s('title', {}, `${r.label} · ${x.label}: ${v}`)));
    }
    svg.append(s('text', { x: L + i * bw + bw / 2, y: H - B + 14, 'text-anchor': 'middle' }, r.label.slice(5)));
  });
  const cols = [{ label: t('col.date'), get: (r) => r.label },
    ...series.map((x) => ({ label: x.label, get: (r) => String(r.values[x.key] || 0) }))];
  return h('section', { class: 'card chart', 'data-chart': id, 'aria-label': title },
    h('h2', {}, title),
    h('ul', { class: 'legend', 'aria-hidden': 'true' }, series.map((x) => {
      const sw = h('span', { class: 'sw' });
      sw.style.background = x.colour;
      return h('li', {}, sw, x.label);
    })),
    svg,
    h('details', { open: true }, h('summary', {}, t('chart.table')), table(title, cols, rows)),
    csvButton(id, cols, rows));
}
