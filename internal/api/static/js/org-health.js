// org-health.js: the org page's poller health: its current state and,
// over the range, kept events, their lag and dead letters per hour or day.

import { get, seg } from './api.js';
import { h } from './dom.js';
import { ago, duration, time } from './format.js';
import { okta } from './text.js';
import { registerOrgSection } from './org.js';
import { exportButtons } from './export.js';
import * as charts from './charts.js';

registerOrgSection({
  id: 'org-health', title: 'Poller health', order: 10,
  render: (ctx, section, org, info) => section.load((signal) => {
    const step = ctx.range.ms > 3 * 86400e3 ? 'day' : 'hour';
    return get('orgs/' + seg(org) + '/health', { from: ctx.range.from, to: ctx.range.to, step }, signal);
  }, (data, body) => {
    body.append(h('div', { class: 'facts' },
      h('div', {}, h('span', { class: 'label' }, 'Last poll'), info.last_poll ? time(info.last_poll, ago(info.last_poll, ctx.now)) : '–'),
      h('div', {}, h('span', { class: 'label' }, 'Lag now'), info.lag_seconds === null ? '–' : duration(info.lag_seconds)),
      h('div', {}, h('span', { class: 'label' }, 'Consecutive failures'), String(info.consecutive_failures)),
      h('div', {}, h('span', { class: 'label' }, 'Last error'), info.last_error ? okta(info.last_error) : 'none'),
    ));
    const canvas = h('canvas', { id: 'org-health-chart', 'aria-label': 'Kept events, lag and dead letters over time' });
    body.append(h('p', { class: 'muted' }, `Per ${data.step} (UTC): kept events and dead letters (left), how long after Okta published them events were stored (right).`),
      h('div', { class: 'chart-box small' }, canvas));
    section.tools(...exportButtons(() => ({
      name: `riskpipe-health-${org}`,
      columns: ['start', 'kept', 'lag_avg_seconds', 'lag_max_seconds', 'dead_letters'],
      rows: data.buckets.map((b) => [b.start, b.kept, b.lag_avg_seconds, b.lag_max_seconds, b.dead_letters]),
      records: data.buckets,
      meta: { view: 'org health', org, step: data.step, from: data.from, to: data.to },
    })));
    const any = data.buckets.some((b) => b.kept > 0 || b.dead_letters > 0);
    return { after: () => charts.health(canvas, data), empty: any ? '' : 'No events and no dead letters in this range.' };
  }),
});
