// router.js: every view has its own address, #/<path>?<query>, which is
// the whole state of the view (org, user, filters, range, sort, page): a
// link, a reload or a sign-in lands on the same view.
//
// Views register themselves (registerView); main.js renders the view
// matching the address whenever it changes.

const views = [];

// registerView adds a view: path is a RegExp over the part of the hash
// before "?" (its groups, URI-decoded, are the view's params); render
// (ctx) draws it into ctx.root (see view.js). nav, when given
// ({label, href}), adds a link to the header.
export function registerView(view) {
  views.push(view);
  if (view.nav && typeof document !== 'undefined') {
    const nav = document.querySelector('#nav');
    if (nav) {
      const a = document.createElement('a');
      a.href = view.nav.href;
      a.textContent = view.nav.label;
      nav.append(a);
    }
  }
}

// current parses the address: {path, params, query, view}.
export function current() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  const path = (i < 0 ? raw : raw.slice(0, i)) || '/';
  const query = new URLSearchParams(i < 0 ? '' : raw.slice(i + 1));
  for (const view of views) {
    const m = path.match(view.path);
    if (m) return { path, query, view, params: m.slice(1).map(decodeURIComponent) };
  }
  return { path, query, view: null, params: [] };
}

// href builds an address from a path and query parameters (empty values
// and defaults are left out, so addresses stay short).
export function href(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    for (const item of Array.isArray(v) ? v : [v]) if (item !== '') q.append(k, item);
  }
  const s = q.toString();
  return '#' + path + (s ? '?' + s : '');
}

let onChange = () => {};
export function listen(fn) { onChange = fn; }

// go moves to an address; replace: without a new history entry (filters
// being typed).
export function go(address, { replace = false } = {}) {
  if (address === location.hash) return;
  if (replace) {
    history.replaceState(null, '', address);
    onChange();
  } else {
    document.body.dataset.ready = ''; // until the new address is drawn
    location.hash = address; // hashchange calls onChange
  }
}

// setQuery changes some query parameters of the current address (null or
// '' removes one); page resets to the first unless changed itself.
export function setQuery(changes, opts = {}) {
  const { path, query } = current();
  const next = new URLSearchParams(query);
  if (!('page' in changes)) next.delete('page');
  for (const [k, v] of Object.entries(changes)) {
    next.delete(k);
    if (v === undefined || v === null || v === '' || v === false) continue;
    for (const item of Array.isArray(v) ? v : [v]) next.append(k, item);
  }
  const s = next.toString();
  go('#' + path + (s ? '?' + s : ''), opts);
}
