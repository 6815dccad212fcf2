// org-attacks.js: the org page's ThreatInsight attacks (security.attack.start
// to .end) on a timeline of the range, and as a list.

import { get, seg } from './api.js';
import { h, table } from './dom.js';
import { duration, time, utc } from './format.js';
import { registerOrgSection } from './org.js';

registerOrgSection({
  id: 'org-attacks', title: 'ThreatInsight attacks on the org', order: 40,
  render: (ctx, section, org) => section.load(
    (signal) => get('orgs/' + seg(org) + '/attacks', { from: ctx.range.from, to: ctx.range.to }, signal),
    (data, body) => {
      const from = Date.parse(data.from), to = Date.parse(data.to), span = to - from;
      const line = h('div', { class: 'timeline', id: 'attack-timeline', role: 'img', 'aria-label': `${data.attacks.length} attacks between ${utc(data.from)} and ${utc(data.to)}` });
      const t = table('attack-list', ['Started', 'Ended', 'Duration']);
      for (const a of data.attacks) {
        const s = a.start ? Date.parse(a.start) : from;
        const e = a.end ? Date.parse(a.end) : to;
        const bar = h('div', { class: 'attack' + (a.end ? '' : ' ongoing'), title: `${a.start ? utc(a.start) : 'before the range'} → ${a.end ? utc(a.end) : 'ongoing'}` });
        bar.style.left = (100 * Math.max(0, s - from) / span) + '%';
        bar.style.width = (100 * Math.max(0, Math.min(e, to) - Math.max(s, from)) / span) + '%';
        line.append(bar);
        t.body.append(h('tr', { class: a.end ? 'ended' : 'ongoing' },
          h('td', {}, a.start ? time(a.start) : 'before the range'),
          h('td', {}, a.end ? time(a.end) : h('strong', { class: 'error' }, 'ongoing')),
          h('td', {}, a.start ? duration(((a.end ? Date.parse(a.end) : Date.parse(ctx.now)) - Date.parse(a.start)) / 1000) : '–')));
      }
      body.append(line, h('div', { class: 'timeline-axis' }, time(data.from, utc(data.from).slice(0, 16)), time(data.to, utc(data.to).slice(0, 16) + ' UTC')), t.wrap);
      return data.attacks.length ? {} : 'ThreatInsight reported no attack on this org in the range.';
    }),
});
