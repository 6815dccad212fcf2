// actions.js: response actions (docs/response.md) for tokens holding the
// respond role: the pending-approvals queue with the evidence behind each
// proposal and approve/reject buttons, and on a user's page that user's
// actions with a "propose" control. The token travels in the
// Authorization header (never a cookie), so there is no CSRF; approving
// always takes a deliberate click (a POST).
//
// Hook: renderActionQueue(section, org) and renderUserActions(section,
// org, userId) fill a <section>; they hide it when the token lacks the
// respond role (the API answers 403). window.riskpipeActions exposes the
// same two functions for a dashboard that mounts them elsewhere.

import { get, seg, token } from './api.js';
import { h, clear } from './dom.js';

const ACTIONS = ['clear_sessions', 'suspend', 'unsuspend', 'add_to_group', 'remove_from_group'];

async function post(path, body) {
  const resp = await fetch('/api/v1/' + path, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token(), 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  const out = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const state = out.state ? ' (now ' + out.state + ')' : '';
    throw new Error((out.error || resp.status + ' ' + resp.statusText) + state);
  }
  return out;
}

// listOrHide returns the actions, or null (section hidden) without the role.
async function listOrHide(section, params) {
  try {
    return await get('actions', params);
  } catch (err) {
    if (/lacks the role/.test(err.message) || /not enabled/.test(err.message)) {
      section.hidden = true;
      return null;
    }
    // Anything else is shown here, without breaking the rest of the page.
    clear(section).append(h('p', { class: 'error' }, 'Response actions: ' + err.message));
    section.hidden = false;
    return null;
  }
}

function evidence(a) {
  const e = a.evidence || {};
  const parts = [];
  if (e.level) parts.push(e.level + (e.score ? ' (' + e.score.toFixed(1) + ')' : ''));
  if (e.event_ids && e.event_ids.length) parts.push(e.event_ids.length + ' event(s): ' + e.event_ids.slice(-3).join(', '));
  if (e.proposals > 1) parts.push('proposed ' + e.proposals + ' times');
  return parts.join(' · ');
}

function candidates(a, onPick) {
  if (a.state !== 'needs_identity') return null;
  if (!a.candidates || !a.candidates.length) return h('p', { class: 'muted' }, 'No Okta user matches ' + a.identity + '.');
  return h('ul', { class: 'candidates' }, a.candidates.map((c) => h('li', {},
    h('button', { type: 'button', onclick: () => onPick(c.user_id) }, 'Approve for ' + c.user_login),
    ' ', (c.confidence * 100).toFixed(0) + '% · ' + c.reasons.join(', '))));
}

function row(a, refresh, status) {
  const act = async (fn) => {
    try {
      await fn();
      status.textContent = '';
    } catch (err) {
      status.textContent = err.message;
    }
    await refresh();
  };
  const approve = (userId) => act(() => post('actions/' + seg(a.id) + '/approve', userId ? { user_id: userId } : {}));
  const reject = () => act(() => post('actions/' + seg(a.id) + '/reject', { reason: 'rejected from the dashboard' }));
  const revert = () => act(() => post('actions/' + seg(a.id) + '/revert'));
  const buttons = [];
  if (a.state === 'proposed') buttons.push(h('button', { type: 'button', onclick: () => approve('') }, 'Approve'));
  if (a.state === 'proposed' || a.state === 'needs_identity') buttons.push(h('button', { type: 'button', onclick: reject }, 'Reject'));
  if (a.state === 'succeeded' && (a.action === 'suspend' || a.action === 'add_to_group') && !a.reverted_at) {
    buttons.push(h('button', { type: 'button', onclick: revert }, 'Revert'));
  }
  return h('tr', { dataset: { action: a.id, state: a.state } },
    h('td', {}, a.tenant),
    h('td', {}, a.action),
    h('td', {}, a.user_login || a.identity || a.user_id),
    h('td', {}, a.state + (a.flagged ? ' ⚑' : '') + (a.verified_at ? ' ✓' : '')),
    h('td', {}, a.proposed_by),
    h('td', {}, a.reason, h('div', { class: 'muted' }, evidence(a)), candidates(a, approve)),
    h('td', {}, a.error || a.note || ''),
    h('td', {}, buttons));
}

function table(list, refresh, status) {
  return h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, ['Org', 'Action', 'User', 'State', 'Proposed by', 'Why', 'Okta', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, list.map((a) => row(a, refresh, status))));
}

// renderActionQueue fills section with the actions waiting for a person.
export async function renderActionQueue(section, org) {
  const refresh = () => renderActionQueue(section, org);
  const [proposed, identity] = await Promise.all([
    listOrHide(section, { org, state: 'proposed' }),
    listOrHide(section, { org, state: 'needs_identity' }),
  ]);
  if (!proposed || !identity) return;
  const list = proposed.actions.concat(identity.actions);
  const status = h('p', { class: 'error', role: 'alert' });
  clear(section).append(h('h2', {}, 'Pending approvals'), status,
    list.length ? table(list, refresh, status) : h('p', { class: 'muted' }, 'Nothing waits for approval.'));
  section.hidden = false;
}

// renderUserActions fills section with one user's actions and a propose form.
export async function renderUserActions(section, org, userId) {
  const refresh = () => renderUserActions(section, org, userId);
  const got = await listOrHide(section, { org, user_id: userId });
  if (!got) return;
  const status = h('p', { class: 'error', role: 'alert' });
  const pick = h('select', { 'aria-label': 'Action' }, ACTIONS.map((a) => h('option', { value: a }, a)));
  const reason = h('input', { type: 'text', placeholder: 'reason', 'aria-label': 'Reason' });
  const form = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await post('actions', { org, action: pick.value, user_id: userId, reason: reason.value });
        status.textContent = '';
      } catch (err) {
        status.textContent = err.message;
      }
      await refresh();
    },
  }, pick, ' ', reason, ' ', h('button', { type: 'submit' }, 'Propose'));
  clear(section).append(h('h2', {}, 'Response actions'), form, status,
    got.actions.length ? table(got.actions, refresh, status) : h('p', { class: 'muted' }, 'No actions for this user.'));
  section.hidden = false;
}

window.riskpipeActions = { renderActionQueue, renderUserActions };
