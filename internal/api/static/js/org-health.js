// org-health.js: the org page's poller health: its current state and,
// over the range, kept events, their lag and dead letters per hour or day.

import { get, seg } from './api.js';
import { h } from './dom.js';
import { ago, duration, time, utc } from './format.js';
import { okta, visible } from './text.js';
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
      permissions(info),
    ));
    body.append(pollStrip(data));
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

// pollStrip shows the poller's own health in 5-minute windows (kept by the
// running riskpipe for 24 hours): green fine, amber backing off or some
// failing samples, red auth or write errors.
function pollStrip(data) {
  const box = h('div', { id: 'poll-history' });
  if (data.polls.length === 0) {
    box.append(h('p', { class: 'muted' }, 'Poll failures over time: none recorded in this range (riskpipe keeps them in memory for 24 hours).'));
    return box;
  }
  const strip = h('div', { class: 'poll-strip', role: 'img' });
  let failing = 0;
  for (const w of data.polls) {
    const cls = ['auth_error', 'write_error'].includes(w.worst_state) ? 'bad' : (w.failing > 0 || w.worst_state === 'backing_off') ? 'warn' : '';
    if (w.failing > 0) failing++;
    strip.append(h('span', { class: cls, dataset: { state: w.worst_state, failing: String(w.failing) },
      title: `${utc(w.start)}: ${w.worst_state.replace('_', ' ')}, ${w.failing} of ${w.samples} samples failing` + (w.last_error ? ` (${visible(w.last_error)})` : '') }));
  }
  const last = [...data.polls].reverse().find((w) => w.last_error);
  strip.setAttribute('aria-label', `${failing} of ${data.polls.length} five-minute windows with poll failures`);
  box.append(h('p', { class: 'muted' }, `Polls in 5-minute windows: ${failing} of ${data.polls.length} with failures`,
    last ? h('span', {}, '; last error ', okta(last.last_error), ' at ', time(last.start)) : ''), strip);
  return box;
}

// permissions shows the verdict on each feature of the org's credential
// (system_log, identity_matching, response): a feature held back says why
// and what to grant.
function permissions(info) {
  if (!info.permissions || info.permissions.length === 0) return null;
  return h('div', { id: 'org-permissions' }, h('span', { class: 'label' }, 'Permissions'),
    h('ul', {}, ...info.permissions.map((p) => h('li', { class: p.ok ? '' : 'error' },
      `${p.feature.replace('_', ' ')}: ${p.verdict.replace('_', ' ')}${p.ok ? '' : ' (held back)'}`,
      p.reason ? h('span', {}, ': ', okta(p.reason)) : ''))));
}
