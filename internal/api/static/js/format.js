// format.js: numbers, times, levels and categories as people read them.

import { h } from './dom.js';

export const CATEGORIES = [
  { key: 'threat_insight', label: 'ThreatInsight', color: '#d64545',
    events: 'security.threat.detected (Okta ThreatInsight flagged the request, tied to the user through its transaction), security.attack.start/end (the org is under attack)' },
  { key: 'leaked_credentials', label: 'Leaked credentials', color: '#8e44ad',
    events: 'security.breached_credential.detected: the user\'s password was found in a breach' },
  { key: 'user_risk', label: 'ITP user risk', color: '#e67e22',
    events: 'user.risk.detect / user.risk.change (Identity Threat Protection risk level), suspicious activity reported by the user' },
  { key: 'entity_risk', label: 'Entity risk', color: '#2e86c1',
    events: 'policy.entity_risk.evaluate and .action: an entity risk policy matched' },
  { key: 'high_risk', label: 'HIGH-risk sign-ins', color: '#f1c40f',
    events: 'any event Okta rated risk level HIGH (e.g. user.session.start)' },
  { key: 'extra', label: 'Extra event types', color: '#7f8c8d',
    events: 'event types added by configuration (poll.extra_event_types)' },
];

export const LEVEL_MEANING = {
  low: 'no or old, weak signals',
  medium: 'one fresh strong signal or a few weak ones',
  high: 'strong evidence, e.g. leaked credentials or ITP HIGH: look at it today',
  critical: 'several strong signals at once, e.g. leaked credentials plus ITP HIGH: act now',
};

export const LEVELS = ['critical', 'high', 'medium', 'low'];

export function categoryLabel(key) {
  const c = CATEGORIES.find((c) => c.key === key);
  return c ? c.label : key;
}
export function categoryColor(key) {
  const c = CATEGORIES.find((c) => c.key === key);
  return c ? c.color : '#95a5a6';
}

export function num(x, digits = 1) {
  if (x === null || x === undefined) return '–';
  return Number(x).toLocaleString('en-US', { maximumFractionDigits: digits });
}

// utc writes an ISO time as "2026-03-14 12:00:00 UTC".
export function utc(iso) {
  if (!iso) return '–';
  return new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

// local writes an ISO time in the browser's zone, naming the zone.
export function local(iso) {
  const d = new Date(iso);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} (${zone})`;
}

// time returns a <time> showing text (default the UTC time) whose hover
// title gives the time in UTC and in the browser's zone.
export function time(iso, text) {
  if (!iso) return h('span', { class: 'muted' }, text || '–');
  return h('time', { datetime: iso, title: utc(iso) + '\n' + local(iso) }, text || utc(iso));
}

// ago says how long before `now` (ISO strings or ms) something happened.
export function ago(iso, now) {
  if (!iso) return 'never';
  const s = Math.max(0, (new Date(now) - new Date(iso)) / 1000);
  return duration(s) + ' ago';
}

export function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 90) return Math.round(s) + ' s';
  if (s < 90 * 60) return Math.round(s / 60) + ' min';
  if (s < 48 * 3600) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

export const RANGES = { '24h': 24 * 3600e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
export const DEFAULT_RANGE = '7d';

// rangeOf is the [from, to) of a range name ending at the server's now.
export function rangeOf(name, now) {
  const ms = RANGES[name] || RANGES[DEFAULT_RANGE];
  return { from: new Date(Date.parse(now) - ms).toISOString(), to: new Date(Date.parse(now)).toISOString(), ms };
}

export function level(l) {
  return h('span', { class: 'level level-' + l }, l || '–');
}
