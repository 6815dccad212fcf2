// dom.js: build elements from data without innerHTML (event fields come
// from Okta and may hold anything).

// h('td', {class: 'num', dataset: {x: 1}, onclick: f}, 'text', child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function show(id, on) { $(id).hidden = !on; }

export function clear(el) { el.replaceChildren(); return el; }

// table returns a scrollable table with a header row and the tbody.
export function table(id, headers) {
  const body = h('tbody');
  const t = h('table', { class: 'grid', id }, h('thead', {}, h('tr', {}, headers.map((x) => (x instanceof Node ? x : h('th', {}, x))))), body);
  return { wrap: h('div', { class: 'table-wrap' }, t), table: t, body };
}
