// main.js: sign-in, the header (search, org and range pickers, freshness,
// legend) and rendering the view of the address (router.js), again every
// minute while the tab is visible.

import { forgetToken, get, redeemCode, setToken, token, Unauthorized, Superseded } from './api.js';
import { $, h, clear, show } from './dom.js';
import { current, go, href, listen, setQuery } from './router.js';
import { ago, CATEGORIES, DEFAULT_RANGE, LEVEL_MEANING, rangeOf, RANGES, num } from './format.js';
import './modules.js';

const REFRESH_MS = 60e3;

let controller = null; // the view being shown (or loaded)
let gen = 0;
let loading = false;
const fresh = { asOf: null, scores: null, received: null, offset: 0, stale: false };

// context is what a view's render gets.
function context(route, refresh) {
  const myGen = ++gen;
  if (controller) controller.abort();
  controller = new AbortController();
  const root = $('#view');
  return {
    route, refresh, root, gen: myGen, signal: controller.signal,
    query: route.query,
    org: route.query.get('org') || '',
    rangeName: RANGES[route.query.get('range')] ? route.query.get('range') : DEFAULT_RANGE,
    retry: () => render(false),
    setFreshness: (f) => Object.assign(fresh, f),
  };
}

async function render(refresh = false) {
  const route = current();
  if (!token()) return askToken('');
  // A refresh of a view that never drew (its load failed as a whole, or
  // is still loading) is a fresh load.
  if (refresh && (!$('#view section[data-state]') || $('#view-error, #view-loading'))) refresh = false;
  show('#login', false);
  show('#logout', true);
  syncHeader(route);
  const ctx = context(route, refresh);
  const root = ctx.root;
  document.body.dataset.view = route.view ? route.view.name : 'unknown';
  document.body.dataset.gen = String(ctx.gen);
  if (!refresh) {
    fresh.asOf = null; // the freshness of the previous address is not this one's
    fresh.scores = null;
    fresh.stale = false;
    tickFreshness();
    document.body.dataset.ready = '';
    clear(root).append(h('div', { class: 'state loading', 'data-state': 'loading', id: 'view-loading' }, 'Loading…'));
  }
  loading = true;
  try {
    const orgs = await get('orgs', {}, ctx.signal);
    ctx.orgs = orgs;
    ctx.now = orgs.now;
    ctx.range = rangeOf(ctx.rangeName, orgs.now);
    fresh.offset = Date.parse(orgs.now) - Date.now();
    fresh.received = newestReceived(orgs);
    fillPickers(orgs, route);
    fillLegend(orgs.levels);
    if (!refresh || !route.view) clear(root);
    if (!route.view) {
      root.append(h('section', { class: 'card', 'data-state': 'empty' }, h('h2', {}, 'No such page'),
        h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/' }, 'Go to the overview'), '.')));
      document.body.dataset.ready = 'notfound';
      return;
    }
    await route.view.render(ctx, ...route.params);
    if (ctx.signal.aborted) return;
    const states = [...root.querySelectorAll('section[data-state]')].map((s) => s.dataset.state);
    fresh.asOf = Date.now();
    fresh.stale = states.includes('stale');
    tickFreshness();
    document.body.dataset.ready = states.includes('error') ? 'error' : route.view.name;
  } catch (err) {
    if (err instanceof Superseded || ctx.signal.aborted) return;
    if (err instanceof Unauthorized) return askToken('That token was not accepted.');
    if (refresh && root.querySelector('section[data-state]')) {
      for (const s of root.querySelectorAll('section[data-state]')) if (s._section) s._section.fail(err);
      fresh.stale = true;
      tickFreshness();
      return;
    }
    clear(root).append(h('section', { class: 'card', id: 'view-error', 'data-state': 'error' },
      h('div', { class: 'state error', role: 'alert' }, 'Could not load: ' + err.message + ' ',
        h('button', { type: 'button', class: 'retry', onclick: () => render(false) }, 'Retry'))));
    document.body.dataset.ready = 'error';
  } finally {
    if (ctx.gen === gen) loading = false;
  }
}

function newestReceived(orgs) {
  let best = null;
  for (const o of orgs.orgs) if (o.newest_published && (!best || o.newest_published > best)) best = o.newest_published;
  return best;
}

// tickFreshness writes "data as of 12 s ago; scores refreshed 4 min ago".
function tickFreshness() {
  const p = $('#freshness');
  const bar = $('#freshness-bar');
  if (!token()) { bar.hidden = true; return; }
  if (!fresh.asOf) {
    p.textContent = 'Loading…';
    bar.classList.remove('stale');
    bar.hidden = false;
    return;
  }
  const serverNow = Date.now() + fresh.offset;
  const parts = ['Data as of ' + ago(fresh.asOf, Date.now())];
  if (fresh.scores) parts.push('scores refreshed ' + ago(fresh.scores, serverNow));
  if (fresh.received) parts.push('newest event published ' + ago(fresh.received, serverNow));
  if (fresh.stale) parts.push('STALE: the last refresh failed');
  p.textContent = parts.join(' · ');
  bar.classList.toggle('stale', fresh.stale);
  bar.hidden = false;
}

let pickersFilled = false;
function fillPickers(orgs, route) {
  const picker = $('#org-picker');
  if (!pickersFilled) {
    for (const o of orgs.orgs) picker.append(h('option', { value: o.tenant }, o.tenant));
    $('#whoami').textContent = orgs.orgs.length + (orgs.orgs.length === 1 ? ' org' : ' orgs');
    pickersFilled = true;
  }
  syncHeader(route);
}

// syncHeader shows the address's org and range in the pickers.
function syncHeader(route) {
  const org = route.view && route.view.name === 'org' ? route.params[0] : route.query.get('org') || '';
  const picker = $('#org-picker');
  if ([...picker.options].some((o) => o.value === org)) picker.value = org;
  $('#range-picker').value = RANGES[route.query.get('range')] ? route.query.get('range') : DEFAULT_RANGE;
  if (route.view && route.view.name === 'search') $('#search-input').value = route.query.get('q') || '';
}

let legendFilled = false;
function fillLegend(levels) {
  if (legendFilled || !levels) return;
  const lv = $('#legend-levels tbody');
  for (const b of [...levels].reverse()) {
    lv.append(h('tr', { dataset: { level: b.level } },
      h('td', {}, h('span', { class: 'level level-' + b.level }, b.level)),
      h('td', { class: 'num' }, b.level === 'critical' ? `≥ ${num(b.from)}` : `${num(b.from)} – < ${num(b.to)}`),
      h('td', {}, LEVEL_MEANING[b.level] || '')));
  }
  const cats = $('#legend-categories tbody');
  for (const c of CATEGORIES) {
    const dot = h('span', { class: 'dot' });
    dot.style.background = c.color;
    cats.append(h('tr', { dataset: { category: c.key } }, h('td', {}, dot, c.label), h('td', {}, c.events)));
  }
  show('#legend', true);
  legendFilled = true;
}

function askToken(msg) {
  if (controller) controller.abort();
  clear($('#view'));
  for (const id of ['#logout', '#freshness-bar', '#legend']) show(id, false);
  show('#login', true);
  $('#login-error').textContent = msg;
  document.body.dataset.ready = 'login';
  $('#token-input').focus();
}

// signInWithCode handles #/sign-in/<code>: the code is exchanged once,
// then the address becomes the overview (the code is void anyway).
async function signInWithCode() {
  if (/^#token=|[#&]token=/.test(location.hash)) {
    // An old link with the token in it: take it out of the address, and
    // do not use it (sign in with the form).
    history.replaceState(null, '', location.pathname + '#/');
    if (!token()) {
      askToken('Links holding a token are not used any more (they leave it in the browser history): enter the token here.');
      return true;
    }
  }
  const m = location.hash.match(/^#\/sign-in\/([A-Za-z0-9_-]+)$/);
  if (!m) return false;
  history.replaceState(null, '', location.pathname + '#/');
  let ok = false;
  try { ok = await redeemCode(m[1]); } catch { ok = false; }
  if (!ok) {
    askToken('That sign-in link is used or expired. Enter the API token (riskpipe demo prints it) instead.');
    return true;
  }
  render();
  return true;
}

function boot() {
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken($('#token-input').value.trim());
    $('#token-input').value = '';
    render(); // the address (a deep link) is kept through the sign-in
  });
  $('#logout').addEventListener('click', () => {
    forgetToken();
    pickersFilled = false;
    fresh.asOf = null;
    clear($('#org-picker')).append(h('option', { value: '' }, 'All orgs'));
    $('#whoami').textContent = '';
    askToken('Token forgotten.');
  });
  $('#org-picker').addEventListener('change', () => {
    const org = $('#org-picker').value;
    const route = current();
    const name = route.view && route.view.name;
    if (name === 'org') go(org ? href('/org/' + encodeURIComponent(org), { range: route.query.get('range') }) : href('/', { range: route.query.get('range') }));
    else if (name === 'home' || name === 'search') setQuery({ org });
    else go(href('/', { org, range: route.query.get('range') }));
  });
  $('#range-picker').addEventListener('change', () => {
    const r = $('#range-picker').value;
    setQuery({ range: r === DEFAULT_RANGE ? '' : r });
  });
  $('#search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = $('#search-input').value.trim();
    if (q) go(href('/search', { q, org: current().query.get('org') }));
  });
  $('#refresh').addEventListener('click', () => { if (!loading) render(true); });
  listen(() => render(false));
  window.addEventListener('hashchange', async () => {
    if (await signInWithCode()) return;
    render(false);
  });
  setInterval(() => {
    if (document.visibilityState === 'visible' && token() && !loading && document.body.dataset.ready !== 'login') render(true);
  }, REFRESH_MS);
  setInterval(tickFreshness, 1000);
  signInWithCode().then((handled) => { if (!handled) render(false); });
}

boot();
