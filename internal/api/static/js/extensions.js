// extensions.js: hooks by which a module adds to the home and user views
// without those views knowing it (actions-hook.js adds the response
// actions). A hook gets the view's context and the view's params, and
// draws into ctx.root; a failing hook never breaks the view.

import { Unauthorized } from './api.js';

const hooks = { home: [], user: [] };

// onView adds fn(ctx, ...params) to the view named name (home | user).
export function onView(name, fn) {
  hooks[name].push(fn);
}

// runHooks runs the hooks of the view named name, together.
export function runHooks(name, ctx, ...params) {
  return Promise.all(hooks[name].map((fn) => Promise.resolve().then(() => fn(ctx, ...params)).catch((err) => {
    if (err instanceof Unauthorized) throw err;
  })));
}
