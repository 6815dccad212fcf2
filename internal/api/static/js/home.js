// home.js: the pollers' health, the risk activity chart and the most
// attacked users of the picked org (or all).

import { get, seg } from './api.js';
import { $, h, clear } from './dom.js';
import { ago, categoryColor, categoryLabel, dateTime, duration, num, CATEGORIES } from './format.js';
import * as charts from './charts.js';

const PAGE = 25;
const state = { sort: 'score', order: 'desc', offset: 0 };

// renderHome draws the overview; the time range ends at the server's
// clock (not the browser's), as the data does.
export async function renderHome(ctx) {
  const list = await get('orgs');
  ctx.to = list.now;
  ctx.from = new Date(Date.parse(list.now) - ctx.rangeMs).toISOString();
  health(ctx, list);
  await Promise.all([activity(ctx), topUsers(ctx)]);
}

function health(ctx, list) {
  const body = clear($('#health tbody'));
  for (const o of list.orgs) {
    if (ctx.org && o.tenant !== ctx.org) continue;
    body.append(h('tr', { dataset: { org: o.tenant } },
      h('td', {}, h('strong', {}, o.tenant), o.description ? h('div', { class: 'muted' }, o.description) : null),
      h('td', {}, stateBadge(o)),
      h('td', {}, o.last_poll ? ago(o.last_poll, list.now) : '–'),
      h('td', {}, o.last_received ? ago(o.last_received, list.now) : '–'),
      h('td', { class: 'num' }, o.lag_seconds === null ? '–' : duration(o.lag_seconds)),
      h('td', {}, o.consecutive_failures > 0 ? h('span', { class: 'error', title: o.last_error }, o.consecutive_failures + '× ' + o.last_error) : 'none'),
    ));
  }
}

function stateBadge(o) {
  if (!o.enabled) return h('span', { class: 'badge' }, 'disabled');
  const parts = [];
  const cls = { caught_up: 'ok', polling: 'ok', starting: 'warn', backing_off: 'warn', auth_error: 'bad', write_error: 'bad', permission_missing: 'bad', permission_denied: 'bad' }[o.state] || '';
  parts.push(h('span', { class: 'badge ' + cls }, o.state.replace('_', ' ')));
  if (o.stalled) parts.push(' ', h('span', { class: 'badge bad', title: 'no events for over ' + duration(o.stall_after_seconds) }, 'stalled'));
  return parts;
}

async function activity(ctx) {
  const step = ctx.rangeMs > 3 * 86400e3 ? 'day' : 'hour';
  const data = await get('activity', { org: ctx.org, from: ctx.from, to: ctx.to, step });
  const total = data.series.reduce((n, s) => n + s.counts.reduce((a, b) => a + b, 0), 0);
  $('#activity-sub').textContent = `· ${num(total, 0)} events by ${step}, ${ctx.org || 'all orgs'}`;
  charts.activity($('#activity-chart'), data);
}

async function topUsers(ctx) {
  const data = await get('users', { org: ctx.org, sort: state.sort, order: state.order, limit: PAGE, offset: state.offset, history: 30 });
  const body = clear($('#top-users tbody'));
  for (const u of data.users) {
    const spark = h('canvas', { class: 'spark', width: 140, height: 30, 'aria-label': 'score history of ' + u.user_login });
    const link = '#/user/' + seg(u.tenant) + '/' + seg(u.user_id);
    body.append(h('tr', { dataset: { user: u.user_id, org: u.tenant } },
      h('td', {}, u.tenant),
      h('td', {}, h('a', { href: link }, u.user_login || u.user_id)),
      h('td', { class: 'num' }, num(u.score)),
      h('td', { class: 'num' }, num(u.percentile)),
      h('td', {}, h('span', { class: 'level-' + u.level }, u.level)),
      h('td', { class: 'cats' }, signalList(u.signals)),
      h('td', {}, dateTime(u.last_signal)),
      h('td', {}, spark),
    ));
    charts.sparkline(spark, u.history.map((p) => ({ t: p.updated_at, score: p.score })));
  }
  if (data.users.length === 0) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No scored users in this org yet.')));
  charts.forgetDetached();
  for (const th of document.querySelectorAll('#top-users th[data-sort]')) {
    th.classList.toggle('active', th.dataset.sort === state.sort);
    th.textContent = th.textContent.replace(/ [▲▼]$/, '') + (th.dataset.sort === state.sort ? (state.order === 'desc' ? ' ▼' : ' ▲') : '');
  }
  const last = Math.min(data.offset + data.users.length, data.total);
  $('#page-info').textContent = data.total ? `${data.offset + 1}–${last} of ${data.total}` : '';
  $('#prev-page').disabled = data.offset === 0;
  $('#next-page').disabled = last >= data.total;
}

// signalList shows signal counts per category, each with its colour.
export function signalList(signals) {
  return CATEGORIES.filter((c) => signals[c.key] > 0).map((c) => {
    const dot = h('span', { class: 'dot' });
    dot.style.background = categoryColor(c.key); // CSSOM: allowed by the CSP, unlike style attributes
    return h('span', { title: categoryLabel(c.key) }, dot, categoryLabel(c.key) + ' ' + signals[c.key]);
  });
}

// wireHome hooks the sort headers and the pager; rerender redraws.
export function wireHome(rerender) {
  for (const th of document.querySelectorAll('#top-users th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort;
      if (state.sort === key) state.order = state.order === 'desc' ? 'asc' : 'desc';
      else { state.sort = key; state.order = key === 'login' ? 'asc' : 'desc'; }
      state.offset = 0;
      rerender();
    });
  }
  $('#prev-page').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); rerender(); });
  $('#next-page').addEventListener('click', () => { state.offset += PAGE; rerender(); });
}

export function resetPaging() { state.offset = 0; }
