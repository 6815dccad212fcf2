// org-activity.js: the org page's risk activity (kept events by category).

import { get } from './api.js';
import { registerOrgSection } from './org.js';
import { drawActivity } from './home.js';

registerOrgSection({
  id: 'org-activity', title: 'Risk activity', order: 20,
  render: (ctx, section, org) => section.load((signal) => {
    const step = ctx.range.ms > 3 * 86400e3 ? 'day' : 'hour';
    return get('activity', { org, from: ctx.range.from, to: ctx.range.to, step }, signal);
  }, (data, body) => drawActivity({ ...ctx, org }, data, body)),
});
