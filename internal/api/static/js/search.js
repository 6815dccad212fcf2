// search.js: users found by login, display name or id across the orgs the
// token may read (#/search?q=...&org=), from the header's search box.

import { get, seg } from './api.js';
import { h, table } from './dom.js';
import { num } from './format.js';
import { href, registerView } from './router.js';
import { okta } from './text.js';
import { exportButtons } from './export.js';
import { Section } from './view.js';

registerView({ name: 'search', path: /^\/search$/, render });

async function render(ctx) {
  const q = (ctx.query.get('q') || '').trim();
  const results = new Section(ctx, 'search-results', 'Users matching');
  if (!q) {
    await results.load(async () => null, () => 'Type a login, a name or an Okta user id in the search box.');
    return;
  }
  await results.load((signal) => get('users/search', { q, org: ctx.org, limit: 100 }, signal), (data, body) => {
    body.append(h('p', { class: 'muted' }, 'For ', okta(data.query, { id: 'search-query' }), ' in ', ctx.org || `${data.orgs.length} orgs`,
      ': ' + data.users.length + (data.more ? '+' : '') + ' user' + (data.users.length === 1 ? '' : 's'),
      data.more ? ' (the first 100; refine the search)' : ''));
    const t = table('search-table', ['Org', 'User', 'Name', 'Okta id', 'Matched', 'Score', 'Level']);
    for (const u of data.users) {
      t.body.append(h('tr', { dataset: { user: u.user_id, org: u.tenant, field: u.field, match: u.match } },
        h('td', {}, u.tenant),
        h('td', {}, h('a', { href: href('/user/' + seg(u.tenant) + '/' + seg(u.user_id), { range: ctx.query.get('range') }) }, okta(u.user_login || u.user_id))),
        h('td', {}, okta(u.name)),
        h('td', {}, okta(u.user_id)),
        h('td', {}, `${u.field} (${u.match})`),
        h('td', { class: 'num' }, u.score === null ? '–' : num(u.score)),
        h('td', {}, u.level ? h('span', { class: 'level level-' + u.level }, u.level) : h('span', { class: 'muted' }, 'not scored')),
      ));
    }
    body.append(t.wrap);
    results.tools(...exportButtons(() => ({
      name: 'riskpipe-search',
      columns: ['tenant', 'user_id', 'user_login', 'name', 'field', 'match', 'score', 'percentile', 'level'],
      rows: data.users.map((u) => [u.tenant, u.user_id, u.user_login, u.name, u.field, u.match, u.score, u.percentile, u.level]),
      records: data.users,
      meta: { view: 'search', query: data.query, orgs: data.orgs, more: data.more },
    })));
    if (data.users.length === 0) return { empty: 'No user of these orgs has a login, name or id containing that.' };
    return {};
  });
}
