// user.js: one user's page (#/user/<org>/<user id>): the attack factor
// and its explanation, its history, and the events behind it, each with
// its raw JSON in its own scrolling box with a copy button.

import { get, seg } from './api.js';
import { h, table } from './dom.js';
import { categoryLabel, num, time } from './format.js';
import { href, registerView } from './router.js';
import { okta } from './text.js';
import { exportButtons } from './export.js';
import { signalList } from './home.js';
import { Section } from './view.js';
import { runHooks } from './extensions.js';
import * as charts from './charts.js';

registerView({ name: 'user', path: /^\/user\/([^/]+)\/(.+)$/, render });

async function render(ctx, org, userID) {
  const back = h('p', { class: 'crumbs' }, h('a', { href: href('/', { org, range: ctx.query.get('range') }) }, '← users'), ' · ',
    h('a', { href: href('/org/' + seg(org), { range: ctx.query.get('range') }) }, 'org ' + org));
  if (!ctx.refresh) ctx.root.append(back);
  const factor = new Section(ctx, 'user-factor', 'Attack factor');
  const history = new Section(ctx, 'user-history', 'Score over time');
  const events = new Section(ctx, 'user-events-card', 'Events behind it');
  let data;
  const fetch = async (signal) => {
    data = data || get('orgs/' + seg(org) + '/users/' + seg(userID), { events: 200 }, signal);
    return data;
  };
  await Promise.all([
    factor.load(fetch, (u, body) => drawFactor(ctx, u, body)),
    history.load(fetch, (u, body) => {
      const canvas = h('canvas', { id: 'user-chart', 'aria-label': 'Attack factor score over time' });
      body.append(h('div', { class: 'chart-box' }, canvas));
      if (u.history.length === 0) return { empty: 'No score recorded yet.' };
      return { after: () => charts.scoreHistory(canvas, u.history) };
    }),
    events.load(fetch, (u, body) => drawEvents(ctx, events, org, u, body)),
    runHooks('user', ctx, org, userID),
  ]);
}

function drawFactor(ctx, u, body) {
  const cur = u.current;
  const title = h('h2', { id: 'user-title' }, okta(u.user_login || u.user_id), h('span', { class: 'muted' }, ' · ' + u.tenant));
  body.append(title,
    h('p', { class: 'muted' }, 'Okta user id ', okta(u.user_id, { id: 'user-id' })),
    h('div', { class: 'facts' },
      h('div', {}, h('span', { class: 'label' }, 'Score'), h('span', { id: 'user-score', class: 'big' }, cur ? num(cur.score) : '–')),
      h('div', {}, h('span', { class: 'label' }, 'Percentile'), h('span', { id: 'user-percentile', class: 'big' }, cur ? num(cur.percentile) : '–')),
      h('div', {}, h('span', { class: 'label' }, 'Level'), h('span', { id: 'user-level', class: 'big level-' + (cur ? cur.level : '') }, cur ? cur.level : '–')),
      h('div', {}, h('span', { class: 'label' }, 'Updated'), h('span', { id: 'user-updated' }, cur ? time(cur.updated_at) : 'not scored yet')),
    ),
    h('h3', {}, 'Why'),
    h('p', { id: 'user-explanation', class: 'explanation' }, cur && cur.explanation ? cur.explanation : 'No explanation recorded.'),
    h('h3', {}, 'Signals (30 days)'),
    h('p', { id: 'user-signals', class: 'cats' }, Object.keys(u.signals).length ? signalList(u.signals) : 'No signals.'),
  );
  ctx.setFreshness({ scores: cur ? cur.updated_at : null });
}

function drawEvents(ctx, section, org, u, body) {
  const t = table('user-events', ['Published', 'Category', 'Event type', 'Risk', 'IP', 'Country', 'Outcome', '']);
  for (const e of u.events) {
    const pre = h('pre', { class: 'raw', tabindex: '0' }, 'loading…');
    const copy = h('button', { type: 'button', class: 'copy', disabled: true }, 'Copy');
    const rawRow = h('tr', { class: 'raw-row', hidden: true }, h('td', { colspan: 8, class: 'raw-cell' }, h('div', { class: 'raw-box' }, copy, pre)));
    const btn = h('button', { type: 'button', class: 'show-raw', 'aria-expanded': 'false' }, 'Raw JSON');
    btn.addEventListener('click', () => toggleRaw(ctx, org, e.event_id, rawRow, btn, pre, copy));
    copy.addEventListener('click', () => copyText(pre, copy));
    t.body.append(h('tr', { dataset: { event: e.event_id } },
      h('td', {}, time(e.published)),
      h('td', {}, categoryLabel(e.category)),
      h('td', {}, okta(e.event_type), h('div', { class: 'muted' }, okta(e.display_message))),
      h('td', { class: 'level-' + e.risk_level }, okta(e.risk_level), e.risk_reasons ? h('div', { class: 'muted' }, okta(e.risk_reasons)) : null),
      h('td', {}, okta(e.client_ip)),
      h('td', {}, okta(e.country)),
      h('td', {}, okta(e.outcome)),
      h('td', {}, btn),
    ), rawRow);
  }
  body.append(t.wrap);
  section.tools(...exportButtons(() => ({
    name: `riskpipe-events-${org}-${u.user_id}`,
    columns: ['tenant', 'event_id', 'published', 'category', 'event_type', 'risk_level', 'risk_reasons', 'client_ip', 'country', 'outcome', 'display_message'],
    rows: u.events.map((e) => [e.tenant, e.event_id, e.published, e.category, e.event_type, e.risk_level, e.risk_reasons, e.client_ip, e.country, e.outcome, e.display_message]),
    records: u.events,
    meta: { view: 'user events', org, user_id: u.user_id, user_login: u.user_login },
  })));
  if (u.events.length === 0) return { empty: 'No kept events for this user.' };
  return {};
}

async function toggleRaw(ctx, org, id, row, btn, pre, copy) {
  row.hidden = !row.hidden;
  btn.textContent = row.hidden ? 'Raw JSON' : 'Hide';
  btn.setAttribute('aria-expanded', String(!row.hidden));
  if (row.hidden || row.dataset.loaded) return;
  try {
    const e = await get('orgs/' + seg(org) + '/events/' + seg(id), {}, ctx.signal);
    pre.textContent = JSON.stringify(e.raw, null, 2);
    row.dataset.loaded = '1';
    copy.disabled = false;
  } catch (err) {
    if (!ctx.signal.aborted) pre.textContent = 'Could not load: ' + err.message;
  }
}

// copyText copies the box's text: the Clipboard API where the page may
// use it, else a selection and execCommand.
async function copyText(pre, btn) {
  const text = pre.textContent;
  try {
    await navigator.clipboard.writeText(text);
    btn.textContent = 'Copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(pre);
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    btn.textContent = document.execCommand('copy') ? 'Copied' : 'Selected: press Ctrl+C';
  }
  setTimeout(() => { btn.textContent = 'Copy'; }, 3000);
}
