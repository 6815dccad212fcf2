// home.js: the overview (#/): the pollers' health summarised, the risk
// activity, and the users table with its filters, sort, pages and export.
// Address: #/?org=&range=&level=&cat=&changed=1&sort=&order=&page=

import { get, seg } from './api.js';
import { $$, h, table } from './dom.js';
import { ago, CATEGORIES, categoryColor, categoryLabel, duration, LEVELS, num, time } from './format.js';
import { href, registerView, setQuery } from './router.js';
import { okta, visible } from './text.js';
import { exportButtons } from './export.js';
import { Section } from './view.js';
import { runHooks } from './extensions.js';
import * as charts from './charts.js';

const PAGE = 25;
const SORTS = { score: 'desc', percentile: 'desc', signals: 'desc', last_signal: 'desc', login: 'asc' };

registerView({ name: 'home', path: /^\/$/, render });

async function render(ctx) {
  const pollers = new Section(ctx, 'pollers', 'Pollers');
  const activity = new Section(ctx, 'activity', 'Risk activity');
  const users = new Section(ctx, 'users', 'Users');
  await Promise.all([
    pollers.load(async () => ctx.orgs, (list, body) => drawPollers(ctx, list, body)),
    activity.load((signal) => activityData(ctx, signal), (data, body) => drawActivity(ctx, data, body)),
    users.load((signal) => usersData(ctx, signal), (data, body) => drawUsers(ctx, users, data, body)),
    runHooks('home', ctx),
  ]);
}

// ---- pollers ----

const SHOWN_PROBLEMS = 5;
const PROBLEM_ORDER = { auth_error: 0, permission_missing: 0, permission_denied: 0, write_error: 1, backing_off: 2, unknown: 3, starting: 4 };

// problem says what is wrong with an org's poller, or '' when nothing is.
export function problem(o) {
  if (!o.enabled) return '';
  if (o.state in PROBLEM_ORDER) return o.state.replace('_', ' ');
  if (o.stalled) return 'stalled';
  if (o.consecutive_failures > 0) return 'failing';
  return '';
}

export function stateBadge(o) {
  if (!o.enabled) return h('span', { class: 'badge' }, 'disabled');
  const cls = { caught_up: 'ok', polling: 'ok', starting: 'warn', backing_off: 'warn', unknown: 'warn', auth_error: 'bad', write_error: 'bad', permission_missing: 'bad', permission_denied: 'bad' }[o.state] || '';
  const parts = [h('span', { class: 'badge ' + cls }, o.state.replace('_', ' '))];
  if (o.stalled) parts.push(' ', h('span', { class: 'badge bad', title: 'no events for over ' + duration(o.stall_after_seconds) }, 'stalled'));
  return parts;
}

export function pollerRow(o, now) {
  return h('tr', { dataset: { org: o.tenant } },
    h('td', {}, h('a', { href: href('/org/' + seg(o.tenant)) }, h('strong', {}, o.tenant)), o.description ? h('div', { class: 'muted' }, okta(o.description)) : null),
    h('td', {}, stateBadge(o)),
    h('td', {}, o.last_poll ? time(o.last_poll, ago(o.last_poll, now)) : '–'),
    h('td', {}, o.last_received ? time(o.last_received, ago(o.last_received, now)) : '–'),
    h('td', { class: 'num' }, o.lag_seconds === null ? '–' : duration(o.lag_seconds)),
    h('td', {}, o.consecutive_failures > 0 ? h('span', { class: 'error' }, o.consecutive_failures + '× ', okta(o.last_error)) : 'none'),
  );
}

const POLLER_HEAD = ['Org', 'State', 'Last poll', 'Last events received', 'Lag', 'Errors'];

function drawPollers(ctx, list, body) {
  const orgs = list.orgs.filter((o) => !ctx.org || o.tenant === ctx.org);
  if (orgs.length === 0) return 'This token may read no org.';
  const counts = {};
  for (const o of orgs) {
    const k = o.enabled ? o.state : 'disabled';
    counts[k] = (counts[k] || 0) + 1;
  }
  const stalled = orgs.filter((o) => o.enabled && o.stalled).length;
  const problems = orgs.filter((o) => problem(o)).sort((a, b) =>
    (PROBLEM_ORDER[a.state] ?? 9) - (PROBLEM_ORDER[b.state] ?? 9) || a.tenant.localeCompare(b.tenant));
  const rest = orgs.filter((o) => !problem(o));
  const chips = h('div', { class: 'summary-counts', id: 'poller-counts' },
    h('span', { class: 'badge', dataset: { state: 'total' } }, `${orgs.length} org${orgs.length === 1 ? '' : 's'}`),
    Object.keys(counts).sort().map((k) => h('span', {
      class: 'badge ' + ({ caught_up: 'ok', polling: 'ok', auth_error: 'bad', write_error: 'bad', disabled: '' }[k] ?? 'warn'),
      dataset: { state: k },
    }, `${k.replace('_', ' ')} ${counts[k]}`)),
    stalled ? h('span', { class: 'badge bad', dataset: { state: 'stalled' } }, `stalled ${stalled}`) : null,
  );
  body.append(chips);
  if (problems.length) {
    // The worst few; the others one click away.
    const t = table('poller-problems', POLLER_HEAD);
    for (const o of problems.slice(0, SHOWN_PROBLEMS)) t.body.append(pollerRow(o, list.now));
    body.append(h('h3', {}, `Problems (${problems.length})`), t.wrap);
    if (problems.length > SHOWN_PROBLEMS) {
      const more = table('poller-more-problems', POLLER_HEAD);
      for (const o of problems.slice(SHOWN_PROBLEMS)) more.body.append(pollerRow(o, list.now));
      body.append(h('details', { class: 'rest more-problems' }, h('summary', {}, `${problems.length - SHOWN_PROBLEMS} more problems`), more.wrap));
    }
  } else {
    body.append(h('p', { class: 'ok-note' }, 'Every enabled poller is healthy.'));
  }
  if (rest.length) {
    const t = table('poller-rest', POLLER_HEAD);
    for (const o of rest) t.body.append(pollerRow(o, list.now));
    // Few orgs: shown; many: collapsed under their count.
    const open = orgs.length <= 10 && problems.length === 0 ? true : orgs.length <= 5;
    body.append(h('details', { class: 'rest', open }, h('summary', {}, `${rest.length} healthy or disabled org${rest.length === 1 ? '' : 's'}`), t.wrap));
  }
  return '';
}

// ---- activity ----

function activityData(ctx, signal) {
  const step = ctx.range.ms > 3 * 86400e3 ? 'day' : 'hour';
  return get('activity', { org: ctx.org, from: ctx.range.from, to: ctx.range.to, step }, signal);
}

export function drawActivity(ctx, data, body) {
  const total = data.series.reduce((n, s) => n + s.counts.reduce((a, b) => a + b, 0), 0);
  body.append(h('p', { class: 'muted sub' }, `${num(total, 0)} kept event${total === 1 ? '' : 's'} by ${data.step} (UTC), ${ctx.org || (data.orgs.length + ' orgs')}, `,
    time(data.from, 'from ' + data.from.slice(0, 16).replace('T', ' ')), ' ', time(data.to, 'to ' + data.to.slice(0, 16).replace('T', ' ') + ' UTC')));
  const canvas = h('canvas', { id: 'activity-chart', 'aria-label': 'Risk events over time by category' });
  body.append(h('div', { class: 'chart-box' }, canvas));
  if (total === 0) return { empty: 'No kept risk events in this range.' };
  return { after: () => charts.activity(canvas, data) };
}

// ---- users ----

// userFilters reads the users table's filters from the address.
export function userFilters(ctx) {
  const q = ctx.query;
  const sort = SORTS[q.get('sort')] ? q.get('sort') : 'score';
  const order = ['asc', 'desc'].includes(q.get('order')) ? q.get('order') : SORTS[sort];
  const page = Math.max(1, parseInt(q.get('page') || '1', 10) || 1);
  return {
    sort, order, page,
    level: q.getAll('level').filter((l) => LEVELS.includes(l)),
    cat: q.getAll('cat').filter((c) => CATEGORIES.some((x) => x.key === c)),
    changed: q.get('changed') === '1',
  };
}

function usersData(ctx, signal) {
  const f = userFilters(ctx);
  return get('users', {
    org: ctx.org, sort: f.sort, order: f.order, limit: PAGE, offset: (f.page - 1) * PAGE, history: 30,
    level: f.level, category: f.cat, changed: f.changed ? 'true' : '', from: ctx.range.from, to: ctx.range.to,
  }, signal);
}

function filterBar(ctx, f) {
  const levelBoxes = LEVELS.map((l) => h('label', {},
    h('input', { type: 'checkbox', name: 'level', value: l, checked: f.level.includes(l), onchange: () => {
      setQuery({ level: $$('#user-filters input[name=level]:checked').map((i) => i.value) });
    } }), l));
  const cat = h('select', { name: 'cat', 'aria-label': 'Category of signal', onchange: (ev) => setQuery({ cat: ev.target.value }) },
    h('option', { value: '' }, 'any category'),
    CATEGORIES.map((c) => h('option', { value: c.key, selected: f.cat.includes(c.key) }, c.label)));
  const changed = h('label', {}, h('input', { type: 'checkbox', name: 'changed', checked: f.changed,
    onchange: (ev) => setQuery({ changed: ev.target.checked ? '1' : '' }) }), 'changed in the range');
  const reset = (f.level.length || f.cat.length || f.changed)
    ? h('a', { href: href('/', { org: ctx.org, range: ctx.query.get('range') }), class: 'reset' }, 'clear filters') : null;
  return h('div', { class: 'toolbar', id: 'user-filters' }, h('span', { class: 'muted' }, 'Level:'), levelBoxes, cat, changed, reset);
}

export function signalList(signals) {
  return CATEGORIES.filter((c) => signals[c.key] > 0).map((c) => {
    const dot = h('span', { class: 'dot' });
    dot.style.background = categoryColor(c.key); // CSSOM: allowed by the CSP, unlike style attributes
    return h('span', { title: categoryLabel(c.key) }, dot, categoryLabel(c.key) + ' ' + signals[c.key]);
  });
}

function sortHeader(f, key, label, title) {
  const active = f.sort === key;
  const arrow = active ? (f.order === 'desc' ? ' ▼' : ' ▲') : '';
  return h('th', { class: active ? 'active' : '', title, dataset: { sort: key }, 'aria-sort': active ? (f.order === 'desc' ? 'descending' : 'ascending') : 'none' },
    h('button', { type: 'button', class: 'sort', onclick: () => {
      const order = active ? (f.order === 'desc' ? 'asc' : 'desc') : SORTS[key];
      setQuery({ sort: key === 'score' && order === 'desc' ? '' : key, order: order === SORTS[key] ? '' : order });
    } }, label + arrow));
}

function drawUsers(ctx, section, data, body) {
  const f = userFilters(ctx);
  ctx.setFreshness({ scores: data.scores_updated_at });
  body.append(filterBar(ctx, f));
  const t = table('top-users', [h('th', {}, 'Org'), sortHeader(f, 'login', 'User'), sortHeader(f, 'score', 'Score'),
    sortHeader(f, 'percentile', 'Percentile'), h('th', {}, 'Level'), sortHeader(f, 'signals', 'Signals', 'Kept events per category in the range; sorted by the attack factor\'s signal count (30 days)'),
    sortHeader(f, 'last_signal', 'Last signal'), h('th', {}, 'Score over time')]);
  const sparks = [];
  for (const u of data.users) {
    const spark = h('canvas', { class: 'spark', width: 140, height: 30, 'aria-label': 'score history of ' + visible(u.user_login) });
    t.body.append(h('tr', { dataset: { user: u.user_id, org: u.tenant } },
      h('td', {}, h('a', { href: href('/org/' + seg(u.tenant), { range: ctx.query.get('range') }) }, u.tenant)),
      h('td', { class: 'login' }, h('a', { href: href('/user/' + seg(u.tenant) + '/' + seg(u.user_id), { range: ctx.query.get('range') }) }, okta(u.user_login || u.user_id))),
      h('td', { class: 'num' }, num(u.score)),
      h('td', { class: 'num' }, num(u.percentile)),
      h('td', {}, h('span', { class: 'level level-' + u.level }, u.level)),
      h('td', { class: 'cats' }, signalList(u.signals)),
      h('td', {}, time(u.last_signal)),
      h('td', {}, spark),
    ));
    sparks.push([spark, u.history.map((p) => ({ t: p.updated_at, score: p.score }))]);
  }
  body.append(t.wrap);
  const last = Math.min(data.offset + data.users.length, data.total);
  const pageLink = (p, label, disabled) => h('button', { type: 'button', class: label === 'Previous' ? 'prev-page' : 'next-page', id: label === 'Previous' ? 'prev-page' : 'next-page',
    disabled, onclick: () => setQuery({ page: p > 1 ? String(p) : '' }) }, label);
  body.append(h('div', { class: 'pager' },
    pageLink(f.page - 1, 'Previous', f.page <= 1),
    h('span', { class: 'muted', id: 'page-info' }, data.total ? `${data.offset + 1}–${last} of ${data.total}` : ''),
    pageLink(f.page + 1, 'Next', last >= data.total)));
  section.tools(...exportButtons(() => ({
    name: 'riskpipe-users',
    columns: ['tenant', 'user_id', 'user_login', 'score', 'percentile', 'level', 'signal_count', ...CATEGORIES.map((c) => 'signals_' + c.key), 'last_signal', 'updated_at'],
    rows: data.users.map((u) => [u.tenant, u.user_id, u.user_login, u.score, u.percentile, u.level, u.signal_count,
      ...CATEGORIES.map((c) => u.signals[c.key] || 0), u.last_signal || '', u.updated_at]),
    records: data.users.map(({ history, ...u }) => u),
    meta: { view: 'users', orgs: data.orgs, filters: data.filters, sort: data.sort, order: data.order, offset: data.offset, total: data.total },
  })));
  const after = () => {
    for (const [c, points] of sparks) charts.sparkline(c, points);
    charts.forgetDetached();
  };
  if (data.users.length === 0) {
    return { after, empty: data.total === 0 && !(f.level.length || f.cat.length || f.changed)
      ? 'No scored users in ' + (ctx.org || 'these orgs') + ' yet.' : 'No users match these filters.' };
  }
  return { after };
}
