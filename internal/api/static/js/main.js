// main.js: token, org and range pickers, and the hash routes
// #/ (overview) and #/user/<org>/<user id>.

import { get, forgetToken, setToken, takeTokenFromURL, token, Unauthorized } from './api.js';
import { $, h, show } from './dom.js';
import { RANGES } from './format.js';
import { renderHome, resetPaging, wireHome } from './home.js';
import { renderUser } from './user.js';
import { renderActionQueue, renderUserActions } from './actions.js';

const ORG_KEY = 'riskpipe.org';

function context() {
  return { org: $('#org-picker').value, rangeMs: RANGES[$('#range-picker').value] };
}

let seq = 0; // a newer render makes older ones' results moot

async function render() {
  const mine = ++seq;
  document.body.dataset.ready = '';
  if (!token()) return askToken('');
  show('#login', false);
  show('#logout', true);
  const m = location.hash.match(/^#\/user\/([^/]+)\/(.+)$/);
  try {
    await loadOrgs();
    if (m) {
      show('#view-home', false);
      show('#view-user', true);
      // The user's response actions first: a user known only from an
      // action has no attack factor page.
      await renderUserActions($('#user-actions'), decodeURIComponent(m[1]), decodeURIComponent(m[2]));
      await renderUser(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    } else {
      show('#view-user', false);
      show('#view-home', true);
      await renderHome(context());
      await renderActionQueue($('#actions-queue'), context().org);
    }
    show('#error', false);
    if (mine === seq) document.body.dataset.ready = m ? 'user' : 'home';
  } catch (err) {
    if (err instanceof Unauthorized) return askToken('That token was not accepted.');
    $('#error').textContent = 'Could not load: ' + err.message;
    show('#error', true);
    if (mine === seq) document.body.dataset.ready = 'error';
  }
}

let orgsLoaded = false;
async function loadOrgs() {
  if (orgsLoaded) return;
  const list = await get('orgs');
  const picker = $('#org-picker');
  const saved = localStorage.getItem(ORG_KEY) || '';
  for (const o of list.orgs) picker.append(h('option', { value: o.tenant }, o.tenant));
  if (list.orgs.some((o) => o.tenant === saved)) picker.value = saved;
  $('#whoami').textContent = list.orgs.length + (list.orgs.length === 1 ? ' org' : ' orgs');
  orgsLoaded = true;
}

function askToken(msg) {
  for (const id of ['#view-home', '#view-user', '#error', '#logout']) show(id, false);
  show('#login', true);
  $('#login-error').textContent = msg;
  document.body.dataset.ready = 'login';
  $('#token-input').focus();
}

function boot() {
  takeTokenFromURL();
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken($('#token-input').value.trim());
    $('#token-input').value = '';
    render();
  });
  $('#logout').addEventListener('click', () => { forgetToken(); location.hash = '#/'; location.reload(); });
  $('#org-picker').addEventListener('change', () => {
    localStorage.setItem(ORG_KEY, $('#org-picker').value);
    resetPaging();
    if (location.hash.startsWith('#/user/')) location.hash = '#/'; else render();
  });
  $('#range-picker').addEventListener('change', render);
  wireHome(render);
  window.addEventListener('hashchange', () => {
    // A new #token=... link in the same tab: start over with that token.
    if (takeTokenFromURL()) location.reload(); else render();
  });
  render();
}

boot();
