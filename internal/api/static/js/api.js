// api.js: the JSON API, with the bearer token kept in this tab's
// sessionStorage only (never in the address bar, cookies or localStorage).

const KEY = 'riskpipe.token';

export class Unauthorized extends Error {}
// Superseded is thrown for a request a newer view made moot (aborted).
export class Superseded extends Error {}

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function forgetToken() { sessionStorage.removeItem(KEY); }

// query builds ?a=1&b=2 from params (arrays repeat the key; empty values
// are left out).
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// get fetches /api/v1/<path> with params; signal aborts it. A 401 throws
// Unauthorized, an abort Superseded, any other failure an Error with the
// server's message.
export async function get(path, params = {}, signal) {
  let resp;
  try {
    resp = await fetch('/api/v1/' + path + query(params), {
      headers: { Authorization: 'Bearer ' + token() }, signal, cache: 'no-store',
    });
  } catch (err) {
    if (signal && signal.aborted) throw new Superseded('superseded');
    throw new Error('the server did not answer (' + err.message + ')');
  }
  if (resp.status === 401) throw new Unauthorized('token rejected');
  let body;
  try {
    body = await resp.json();
  } catch (err) {
    if (signal && signal.aborted) throw new Superseded('superseded');
    body = {};
  }
  if (signal && signal.aborted) throw new Superseded('superseded');
  if (!resp.ok) throw new Error(body.error || resp.status + ' ' + resp.statusText);
  return body;
}

// redeemCode exchanges a one-time sign-in code (a link of `riskpipe demo`)
// for the token, by POST, and keeps the token. It reports success.
export async function redeemCode(code) {
  const resp = await fetch('/api/v1/sign-in', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }), cache: 'no-store',
  });
  if (!resp.ok) return false;
  const body = await resp.json();
  if (!body.token) return false;
  setToken(body.token);
  return true;
}

// seg escapes one path segment.
export const seg = encodeURIComponent;
