// org-contacts.js: an org's security contacts, their last review and the
// notification history (contacts.js; the endpoints need the admin role).
// It is a section of the org page and a view of its own at
// #/org/<org>/contacts, the address notification messages link to.

import { h } from './dom.js';
import { registerView } from './router.js';
import { registerOrgSection } from './org.js';
import { Section } from './view.js';
import { renderContactsPanel } from './contacts.js';

// panel renders the contacts panel of org off-screen, so that a section
// shows it whole or not at all (loading, error and stale states).
async function panel(org) {
  const div = h('div', {});
  await renderContactsPanel(div, org);
  return div;
}

registerOrgSection({
  id: 'org-contacts', title: 'Security contacts and notifications', order: 60,
  render: (ctx, section, org) => section.load(() => panel(org), (div, body) => { body.append(div); }),
});

registerView({
  name: 'contacts', path: /^\/org\/([^/]+)\/contacts$/,
  render: async (ctx, org) => {
    if (!ctx.refresh) {
      ctx.root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/org/' + encodeURIComponent(org) }, '← ' + org)));
    }
    const s = new Section(ctx, 'contacts', 'Contacts of ' + org);
    await s.load(() => panel(org), (div, body) => { body.append(div); });
  },
});
