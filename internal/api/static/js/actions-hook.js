// actions-hook.js: the response actions (actions.js) on the dashboard: the
// pending-approvals queue at the top of the overview (for the org picked,
// or every org), and a user's actions with a "propose" control on the
// user's page. Both stay hidden for a token without the respond role.

import { h } from './dom.js';
import { onView } from './extensions.js';
import { renderActionQueue, renderUserActions } from './actions.js';

// slot is the view's section with that id, made (hidden) on first render
// and kept across refreshes.
function slot(ctx, id, first) {
  let el = ctx.root.querySelector('#' + id);
  if (!el) {
    el = h('section', { id, class: 'card', hidden: true });
    if (first) ctx.root.prepend(el); else ctx.root.append(el);
  }
  return el;
}

onView('home', (ctx) => renderActionQueue(slot(ctx, 'actions-queue', true), ctx.query.get('org') || ''));
onView('user', (ctx, org, userID) => renderUserActions(slot(ctx, 'user-actions', false), org, userID));
