// format.js: numbers, times and categories as people read them.

export const CATEGORIES = [
  { key: 'threat_insight', label: 'ThreatInsight', color: '#d64545' },
  { key: 'leaked_credentials', label: 'Leaked credentials', color: '#8e44ad' },
  { key: 'user_risk', label: 'ITP user risk', color: '#e67e22' },
  { key: 'entity_risk', label: 'Entity risk', color: '#2e86c1' },
  { key: 'high_risk', label: 'HIGH-risk sign-ins', color: '#f1c40f' },
  { key: 'extra', label: 'Extra event types', color: '#7f8c8d' },
];

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

export function dateTime(iso) {
  if (!iso) return '–';
  return new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

// ago says how long before `now` (ISO strings) something happened.
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
