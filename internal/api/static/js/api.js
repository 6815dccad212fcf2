// api.js: the JSON API with the bearer token kept in this tab's sessionStorage.

const KEY = 'riskpipe.token';

export class Unauthorized extends Error {}

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function forgetToken() { sessionStorage.removeItem(KEY); }

// takeTokenFromURL moves a token given as #token=... (a link printed by
// `riskpipe demo`) into sessionStorage and out of the address bar.
// It reports whether it found one.
export function takeTokenFromURL() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (!m) return false;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', location.pathname + '#/');
  return true;
}

// get fetches /api/v1/<path> with params (arrays repeat the key).
export async function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
  }
  const url = '/api/v1/' + path + (q.toString() ? '?' + q : '');
  const resp = await fetch(url, { headers: { Authorization: 'Bearer ' + token() } });
  if (resp.status === 401) throw new Unauthorized('token rejected');
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.error || resp.status + ' ' + resp.statusText);
  return body;
}

// pathPart escapes one path segment.
export const seg = encodeURIComponent;
