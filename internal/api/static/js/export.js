// export.js: download what a section shows (the rows on screen, for the
// filters of the address) as CSV or JSON. Strings are exported as Okta
// sent them; in CSV a cell that a spreadsheet would run as a formula
// (= + - @ at its start) is prefixed with ' (OWASP "CSV injection").

import { h } from './dom.js';

// csv renders rows (arrays) under a header row, RFC 4180.
export function csv(columns, rows) {
  const cell = (v) => {
    let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = "'" + s;
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [columns, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10e3);
}

// exportButtons returns the "CSV" and "JSON" buttons of a section. get()
// returns {name, columns, rows, records, meta}: rows (arrays, for CSV) and
// records (objects, for JSON) of what is on screen; meta says which
// filters and time made them.
export function exportButtons(get) {
  const stamp = () => new Date().toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  return [
    h('button', { type: 'button', class: 'export-csv', title: 'Download the rows shown as CSV', onclick: () => {
      const d = get();
      download(`${d.name}-${stamp()}.csv`, 'text/csv;charset=utf-8', csv(d.columns, d.rows));
    } }, 'Export CSV'),
    h('button', { type: 'button', class: 'export-json', title: 'Download the rows shown as JSON, with the filters', onclick: () => {
      const d = get();
      download(`${d.name}-${stamp()}.json`, 'application/json', JSON.stringify({ exported_at: new Date().toISOString(), ...d.meta, rows: d.records }, null, 2) + '\n');
    } }, 'Export JSON'),
  ];
}
