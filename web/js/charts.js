// charts.js: a stacked bar chart drawn by Chart.js (Debian's libjs-chart.js,
// embedded at build time as /dash/vendor/chart.min.js and loaded by
// index.html as the global Chart), always with the same numbers as a table
// (the accessible form) and as CSV. Chart.js styles its canvas through
// CSSOM (element.style), which the strict CSP allows; animation is off so a
// chart is drawn once, whole. rows: [{label, values: {series: n}}];
// series: [{key, label, colour}]; opts.first names the rows' column (default
// the date), opts.short gives a row's axis label (default MM-DD),
// opts.stacked false puts the bars side by side (counts that do not add up,
// like messages sent and replies) and opts.cols adds table and CSV columns.
import { h, table, csvButton } from './ui.js';
import { t } from './i18n.js';

// Colours from a palette whose members keep 3:1 against white and apart.
export const PALETTE = ['#0b4f8a', '#b45309', '#15803d', '#7e22ce', '#b91c1c', '#0f766e', '#4b5563'];

export function stackedChart(id, title, series, rows, opts = {}) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title + ' (' + t('chart.seetable') + ')' });
  const cols = [{ label: opts.first || t('col.date'), get: (r) => r.label },
    ...series.map((x) => ({ label: x.label, get: (r) => String(r.values[x.key] || 0) })), ...(opts.cols || [])];
  const stacked = opts.stacked !== false;
  const box = h('div', { class: 'canvas' }, canvas);
  const section = h('section', { class: 'card chart', 'data-chart': id, 'aria-label': title },
    h('h2', {}, title), box,
    h('details', { open: true }, h('summary', {}, t('chart.table')), table(title, cols, rows)),
    csvButton(id, cols, rows));
  // Drawn once the section is in the document, so Chart.js can size it.
  requestAnimationFrame(() => {
    const chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: rows.map((r) => (opts.short ? opts.short(r.label) : r.label.slice(5))),
        datasets: series.map((x) => ({ label: x.label, backgroundColor: x.colour,
          data: rows.map((r) => r.values[x.key] || 0) })),
      },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    section.dataset.drawn = String(chart.data.datasets.length);
  });
  return section;
}
