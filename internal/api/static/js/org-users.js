// org-users.js: the org page's most attacked users (top 10 by score).

import { get, seg } from './api.js';
import { h, table } from './dom.js';
import { num, time } from './format.js';
import { href } from './router.js';
import { okta } from './text.js';
import { registerOrgSection } from './org.js';
import { signalList } from './home.js';

registerOrgSection({
  id: 'org-users', title: 'Most attacked users', order: 30,
  render: (ctx, section, org) => section.load(
    (signal) => get('users', { org, sort: 'score', order: 'desc', limit: 10, history: 0, from: ctx.range.from, to: ctx.range.to }, signal),
    (data, body) => {
      ctx.setFreshness({ scores: data.scores_updated_at });
      const t = table('org-top-users', ['User', 'Score', 'Level', 'Signals in the range', 'Last signal']);
      for (const u of data.users) {
        t.body.append(h('tr', { dataset: { user: u.user_id } },
          h('td', {}, h('a', { href: href('/user/' + seg(org) + '/' + seg(u.user_id), { range: ctx.query.get('range') }) }, okta(u.user_login || u.user_id))),
          h('td', { class: 'num' }, num(u.score)),
          h('td', {}, h('span', { class: 'level level-' + u.level }, u.level)),
          h('td', { class: 'cats' }, signalList(u.signals)),
          h('td', {}, time(u.last_signal))));
      }
      body.append(t.wrap, h('p', {}, h('a', { href: href('/', { org, range: ctx.query.get('range') }) }, `All ${data.total} scored users of ${org} →`)));
      return data.users.length ? {} : 'No scored users in this org yet.';
    }),
});
