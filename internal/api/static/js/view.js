// view.js: the frame every view draws in. Each section of a view has one
// of the states loading, ready, empty, error or stale (its data-state
// attribute):
//
//   - a new address empties the view at once and shows its sections
//     loading: nothing of the previous address stays on screen;
//   - a request of an address that is no longer shown is aborted and its
//     answer, if any, dropped (the view's AbortSignal);
//   - a failed load shows the error, never older data, with a retry;
//   - a failed periodic refresh keeps the data of the same address but
//     marks it stale, with when it was loaded and why the refresh failed.

import { h, clear } from './dom.js';
import { Superseded, Unauthorized } from './api.js';
import { utc } from './format.js';

// Section is one card of a view.
export class Section {
  constructor(ctx, id, title, { parent } = {}) {
    this.ctx = ctx;
    const existing = ctx.refresh ? ctx.root.querySelector('#' + CSS.escape(id)) : null;
    if (existing && existing._section) {
      // A refresh reuses the section and its data until new data come.
      const s = existing._section;
      s.ctx = ctx;
      return s;
    }
    this.el = h('section', { class: 'card', id, 'data-state': 'loading', 'aria-busy': 'true' });
    this.el._section = this;
    this.head = h('div', { class: 'head-row' }, h('h2', {}, title));
    this.note = h('p', { class: 'stale-note', hidden: true, role: 'status' });
    this.body = h('div', { class: 'body' });
    this.el.append(this.head, this.note, this.body);
    this.loadedAt = null;
    (parent || ctx.root).append(this.el);
    this.setState('loading');
    this.body.append(h('div', { class: 'state loading' }, 'Loading…'));
  }

  setState(s) {
    this.el.dataset.state = s;
    this.el.setAttribute('aria-busy', s === 'loading' ? 'true' : 'false');
  }

  // tools replaces the section's header tools (export buttons...).
  tools(...nodes) {
    const old = this.head.querySelector('.tools');
    if (old) old.remove();
    this.head.append(h('div', { class: 'tools toolbar' }, nodes));
  }

  // load runs fetch(signal), then draw(data, body) into a fresh body,
  // which then replaces the old one. draw returns nothing, a message to
  // show the empty state instead of the body, or {empty, after}: a
  // message to show below the body, and a function to run once the body
  // is in the page (charts need their size).
  // It never draws data of a superseded view, and never keeps data of
  // another address.
  async load(fetch, draw) {
    const ctx = this.ctx;
    try {
      const data = await fetch(ctx.signal);
      if (ctx.signal.aborted) return;
      const body = h('div', { class: 'body' });
      let r = draw(data, body);
      if (ctx.signal.aborted) return;
      if (typeof r === 'string') r = r ? { empty: r, replace: true } : {};
      r = r || {};
      if (r.empty && r.replace) body.replaceChildren();
      if (r.empty) body.append(h('div', { class: 'state empty' }, r.empty));
      this.body.replaceWith(body);
      this.body = body;
      this.setState(r.empty ? 'empty' : 'ready');
      if (r.after) r.after();
      this.note.hidden = true;
      this.loadedAt = new Date().toISOString();
    } catch (err) {
      if (err instanceof Superseded || ctx.signal.aborted) return;
      if (err instanceof Unauthorized) throw err;
      this.fail(err);
    }
  }

  // fail shows err: stale data of this address when a refresh failed and
  // there is data, else the error with a retry.
  fail(err) {
    if (this.ctx.refresh && this.loadedAt && this.el.dataset.state !== 'error') {
      this.note.textContent = `Stale: showing data loaded at ${utc(this.loadedAt)}; the refresh failed: ${err.message}`;
      this.note.hidden = false;
      this.setState('stale');
      return;
    }
    const retry = h('button', { type: 'button', class: 'retry', onclick: () => this.ctx.retry() }, 'Retry');
    clear(this.body).append(h('div', { class: 'state error', role: 'alert' }, 'Could not load: ' + err.message + ' ', retry));
    this.note.hidden = true;
    this.loadedAt = null;
    this.setState('error');
  }
}
