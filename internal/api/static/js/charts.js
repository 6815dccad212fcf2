// charts.js: the dashboard's pictures, drawn by Chart.js (vendored,
// loaded before this module as window.Chart).

import { CATEGORIES, categoryLabel, duration } from './format.js';
import { visible } from './text.js';

const Chart = window.Chart;
const live = new Map(); // canvas -> Chart, so a redraw replaces the old chart

function draw(canvas, config) {
  const old = live.get(canvas);
  if (old) old.destroy();
  const chart = new Chart(canvas, config);
  live.set(canvas, chart);
  return chart;
}

// forgetDetached destroys the charts of canvases no longer in the page.
export function forgetDetached() {
  for (const [canvas, chart] of live) {
    if (!canvas.isConnected) { chart.destroy(); live.delete(canvas); }
  }
}

function shortTime(ms, step) {
  const d = new Date(ms).toISOString();
  return step === 'day' ? d.slice(5, 10) : d.slice(5, 10) + ' ' + d.slice(11, 16);
}

// activity: stacked bars of events per bucket and category.
export function activity(canvas, data) {
  const labels = data.buckets.map((b) => shortTime(Date.parse(b), data.step));
  const datasets = CATEGORIES
    .map((c) => ({ c, s: data.series.find((s) => s.category === c.key) }))
    .filter(({ s }) => s && s.counts.some((n) => n > 0))
    .map(({ c, s }) => ({ label: c.label, data: s.counts, backgroundColor: c.color, stack: 'events' }));
  return draw(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: 'bottom' }, tooltip: { mode: 'index', intersect: false } },
    },
  });
}

// sparkline: a small line of scores, no axes.
export function sparkline(canvas, points) {
  return draw(canvas, {
    type: 'line',
    data: { labels: points.map((p) => p.t), datasets: [{ data: points.map((p) => p.score), borderColor: '#3056d3', backgroundColor: '#3056d3', borderWidth: 1.5, pointRadius: points.length === 1 ? 2 : 0, fill: false, tension: 0.25 }] },
    options: {
      animation: false, responsive: false, events: [],
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
    },
  });
}

// scoreHistory: the score over time, each point its cause's category.
export function scoreHistory(canvas, history) {
  const labels = history.map((p) => new Date(p.updated_at).toISOString().slice(0, 16).replace('T', ' '));
  return draw(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [{
        label: 'score', data: history.map((p) => p.score), borderColor: '#3056d3', backgroundColor: 'rgba(48,86,211,.12)',
        fill: true, stepped: 'before', pointRadius: 3,
      }],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { y: { beginAtZero: true } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { afterLabel: (ctx) => {
          const p = history[ctx.dataIndex];
          return p.cause_category ? 'cause: ' + categoryLabel(p.cause_category) : '';
        } } },
      },
    },
  });
}

// health: kept events per bucket (bars) and their lag (line, right axis),
// dead letters as a second bar series.
export function health(canvas, data) {
  const labels = data.buckets.map((b) => shortTime(Date.parse(b.start), data.step));
  return draw(canvas, {
    data: {
      labels,
      datasets: [
        { type: 'line', label: 'max lag', data: data.buckets.map((b) => b.lag_max_seconds), borderColor: '#b26a00', backgroundColor: '#b26a00', yAxisID: 'lag', pointRadius: 0, spanGaps: false },
        { type: 'line', label: 'avg lag', data: data.buckets.map((b) => b.lag_avg_seconds), borderColor: '#3056d3', backgroundColor: '#3056d3', yAxisID: 'lag', pointRadius: 0, spanGaps: false },
        { type: 'bar', label: 'kept events', data: data.buckets.map((b) => b.kept), backgroundColor: 'rgba(46,125,50,.35)', yAxisID: 'n' },
        { type: 'bar', label: 'dead letters', data: data.buckets.map((b) => b.dead_letters), backgroundColor: '#c62828', yAxisID: 'n' },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true } },
        n: { position: 'left', beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'events' } },
        lag: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'lag' }, ticks: { callback: (v) => duration(v) } },
      },
      plugins: { legend: { position: 'bottom' }, tooltip: { mode: 'index', intersect: false } },
    },
  });
}

// label makes an Okta-supplied string safe for a canvas label.
export const label = visible;
