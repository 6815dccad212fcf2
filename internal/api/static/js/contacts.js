// contacts.js: an org's security contacts and notification history
// (GET /api/v1/orgs/<org>/contacts, GET /api/v1/notifications?org=<org>;
// both need a token with the admin role). Route: #/org/<org>/contacts.
// Self-contained: it creates its own view under <main>, so an org page can
// also embed it with renderContactsPanel(container, org).

import { get, seg, token, Unauthorized } from './api.js';
import { $, h, clear } from './dom.js';
import { utc } from './format.js';

export const CONTACTS_ROUTE = /^#\/org\/([^/]+)\/contacts$/;

async function post(path) {
  const resp = await fetch('/api/v1/' + path, { method: 'POST', headers: { Authorization: 'Bearer ' + token() } });
  if (resp.status === 401) throw new Unauthorized('token rejected');
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || resp.status + ' ' + resp.statusText);
  return body;
}

function view() {
  let v = $('#view-contacts');
  if (!v) {
    v = h('div', { id: 'view-contacts', hidden: true });
    $('main').append(v);
  }
  return v;
}

// hideContacts hides the view (other routes call it).
export function hideContacts() {
  const v = $('#view-contacts');
  if (v) v.hidden = true;
}

// renderContacts shows the contacts view of org (the #/org/<org>/contacts route).
export async function renderContacts(org) {
  const v = view();
  v.hidden = false;
  await renderContactsPanel(clear(v), org);
}

const when = (iso) => (!iso || iso.startsWith('0001-') ? 'never' : utc(iso));

// renderContactsPanel renders the contacts and notification history of org
// into container.
export async function renderContactsPanel(container, org) {
  const card = h('section', { class: 'card', id: 'contacts-card' }, h('h2', {}, 'Security contacts of ' + org));
  container.append(card);
  let c;
  try {
    c = await get('orgs/' + seg(org) + '/contacts');
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    card.append(h('p', { class: 'muted' }, 'Contacts and notifications need a token with the admin role (' + err.message + ').'));
    return;
  }
  const rows = [];
  for (const [role, list] of [['primary_security', c.primary_security], ['cio_ciso', c.cio_ciso], ['it', c.it]]) {
    for (const x of list) rows.push(h('tr', {}, h('td', {}, role), h('td', {}, x.name || '-'), h('td', {}, x.email || '-'), h('td', {}, x.webhook || '-')));
    if (role === 'it' && c.it_fallback) rows.push(h('tr', {}, h('td', {}, 'it'), h('td', { colspan: 3, class: 'muted' }, 'none: operational notices go to primary_security')));
  }
  card.append(h('table', { class: 'grid', id: 'contacts-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Role'), h('th', {}, 'Name'), h('th', {}, 'Email'), h('th', {}, 'Webhook'))),
    h('tbody', {}, rows)));
  const status = h('p', { id: 'contacts-status', class: 'muted' });
  const review = () => {
    status.textContent = 'Last reviewed: ' + when(c.reviewed_at) + (c.reviewed_by ? ' by ' + c.reviewed_by : '') +
      '. Review reminder due: ' + when(c.review_due) + '.';
  };
  review();
  card.append(status);
  for (const w of c.warnings) card.append(h('p', { class: 'error' }, 'Warning: ' + w));
  const out = h('p', { id: 'contacts-result', role: 'status' });
  card.append(h('p', {},
    h('button', { type: 'button', id: 'contacts-review', onclick: async () => {
      c = await post('orgs/' + seg(org) + '/contacts/review'); review(); out.textContent = 'Review recorded.';
    } }, 'Mark reviewed'), ' ',
    h('button', { type: 'button', id: 'contacts-test', onclick: async () => {
      out.textContent = 'Sending…';
      const r = await post('orgs/' + seg(org) + '/contacts/test');
      out.textContent = r.deliveries.map((d) => d.recipient + ': ' + d.status + (d.error ? ' (' + d.error + ')' : '')).join('; ') || 'no contacts';
    } }, 'Send test message')), out);

  const hist = await get('notifications', { org, limit: 100 });
  const body = hist.notifications.map((n) => h('tr', { class: n.stalled || n.status === 'failed' ? 'error' : '' },
    h('td', {}, utc(n.created_at)), h('td', {}, n.kind), h('td', {}, n.recipient), h('td', {}, n.subject),
    h('td', {}, n.status + (n.stalled ? ' (stalled)' : '')), h('td', { class: 'num' }, n.attempts), h('td', {}, n.last_error || '')));
  container.append(h('section', { class: 'card', id: 'notifications-card' }, h('h2', {}, 'Notification history'),
    body.length ? h('table', { class: 'grid', id: 'notifications-table' },
      h('thead', {}, h('tr', {}, ['When', 'Kind', 'Recipient', 'Subject', 'Status', 'Attempts', 'Last error'].map((t) => h('th', {}, t)))),
      h('tbody', {}, body)) : h('p', { class: 'muted' }, 'No notifications yet.')));
}
