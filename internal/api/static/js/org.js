// org.js: an org's page (#/org/<org>?range=). It is made of sections that
// modules register with registerOrgSection; adding a section to the org
// page is a new module calling it plus one import line in modules.js:
//
//   import { registerOrgSection } from './org.js';
//   registerOrgSection({
//     id: 'org-contacts', title: 'Contacts', order: 60,
//     render: (ctx, section, org) => section.load(
//       (signal) => get('orgs/' + seg(org) + '/contacts', {}, signal),
//       (data, body) => { body.append(...); /* or return 'empty message' */ }),
//   });
//
// ctx is the view's context (ctx.range, ctx.orgs, ctx.signal, ...), section
// a view.Section whose load() gives the loading, empty, error and stale
// states; order places it (health 10, activity 20, users 30, attacks 40).

import { h } from './dom.js';
import { registerView } from './router.js';
import { okta } from './text.js';
import { Section } from './view.js';
import { stateBadge } from './home.js';

const sections = [];

export function registerOrgSection(s) {
  sections.push(s);
  sections.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
}

registerView({ name: 'org', path: /^\/org\/([^/]+)$/, render });

async function render(ctx, org) {
  const info = ctx.orgs.orgs.find((o) => o.tenant === org);
  if (!ctx.refresh) {
    ctx.root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← overview')));
  }
  if (!info) {
    const s = new Section(ctx, 'org-missing', 'Org ' + org);
    await s.load(async () => null, () => 'This token may not read an org of that name.');
    return;
  }
  let head = ctx.root.querySelector('#org-head');
  const fresh = h('div', { id: 'org-head', class: 'card' },
    h('h2', {}, 'Org ', h('span', { id: 'org-name' }, org), ' ', stateBadge(info)),
    info.description ? h('p', { class: 'muted' }, okta(info.description)) : null);
  if (head) head.replaceWith(fresh); else ctx.root.append(fresh);
  head = fresh;
  const grid = ctx.root.querySelector('#org-sections') || h('div', { id: 'org-sections' });
  if (!grid.isConnected) ctx.root.append(grid);
  await Promise.all(sections.map((s) => {
    const sec = new Section(ctx, s.id, s.title, { parent: grid });
    return s.render(ctx, sec, org, info);
  }));
}
