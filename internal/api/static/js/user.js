// user.js: one user's attack factor, its history and explanation, and the
// events behind it, each with its raw JSON on demand.

import { get, seg } from './api.js';
import { $, h, clear } from './dom.js';
import { categoryLabel, dateTime, num } from './format.js';
import { signalList } from './home.js';
import * as charts from './charts.js';

export async function renderUser(org, userID) {
  const u = await get('orgs/' + seg(org) + '/users/' + seg(userID));
  const cur = u.current;
  $('#user-title').textContent = (u.user_login || u.user_id) + ' · ' + u.tenant;
  $('#user-score').textContent = cur ? num(cur.score) : '–';
  $('#user-percentile').textContent = cur ? num(cur.percentile) : '–';
  const level = $('#user-level');
  level.textContent = cur ? cur.level : '–';
  level.className = 'big level-' + (cur ? cur.level : '');
  $('#user-updated').textContent = cur ? dateTime(cur.updated_at) : 'not scored yet';
  $('#user-explanation').textContent = cur && cur.explanation ? cur.explanation : 'No explanation recorded.';
  clear($('#user-signals')).append(...signalList(u.signals));
  if (Object.keys(u.signals).length === 0) $('#user-signals').textContent = 'No signals.';
  charts.scoreHistory($('#user-chart'), u.history);

  const body = clear($('#user-events tbody'));
  for (const e of u.events) {
    const rawRow = h('tr', { class: 'raw-row', hidden: true }, h('td', { colspan: 8 }, h('pre', { class: 'raw' }, 'loading…')));
    const btn = h('button', { type: 'button', class: 'show-raw' }, 'Raw JSON');
    btn.addEventListener('click', () => toggleRaw(org, e.event_id, rawRow, btn));
    body.append(h('tr', { dataset: { event: e.event_id } },
      h('td', {}, dateTime(e.published)),
      h('td', {}, categoryLabel(e.category)),
      h('td', {}, e.event_type, h('div', { class: 'muted' }, e.display_message)),
      h('td', { class: 'level-' + e.risk_level }, e.risk_level, e.risk_reasons ? h('div', { class: 'muted' }, e.risk_reasons) : null),
      h('td', {}, e.client_ip),
      h('td', {}, e.country),
      h('td', {}, e.outcome),
      h('td', {}, btn),
    ), rawRow);
  }
  if (u.events.length === 0) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No kept events for this user.')));
}

async function toggleRaw(org, id, row, btn) {
  row.hidden = !row.hidden;
  btn.textContent = row.hidden ? 'Raw JSON' : 'Hide';
  if (row.hidden || row.dataset.loaded) return;
  const pre = row.querySelector('pre');
  try {
    const e = await get('orgs/' + seg(org) + '/events/' + seg(id));
    pre.textContent = JSON.stringify(e.raw, null, 2);
    row.dataset.loaded = '1';
  } catch (err) {
    pre.textContent = 'Could not load: ' + err.message;
  }
}
