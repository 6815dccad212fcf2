// text.js: strings Okta supplied (logins, names, messages, any raw field)
// are shown isolated from the page's text direction (<bdi>), with control
// and bidirectional formatting characters made visible, so a login holding
// U+202E (right-to-left override) cannot reverse what follows it.

import { h } from './dom.js';

// CONTROL matches C0/C1 controls, the bidi marks, embeddings, overrides and
// isolates, and zero-width and other invisible formatting characters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/gu;

const NAMES = {
  0x200e: 'LEFT-TO-RIGHT MARK', 0x200f: 'RIGHT-TO-LEFT MARK', 0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING', 0x202c: 'POP DIRECTIONAL FORMATTING', 0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE', 0x2066: 'LEFT-TO-RIGHT ISOLATE', 0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE', 0x2069: 'POP DIRECTIONAL ISOLATE', 0x061c: 'ARABIC LETTER MARK',
  0x200b: 'ZERO WIDTH SPACE', 0x200c: 'ZERO WIDTH NON-JOINER', 0x200d: 'ZERO WIDTH JOINER', 0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
};

export function codePoint(ch) {
  return 'U+' + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
}

// visible returns s as plain text with every control character written as
// ⟨U+XXXX⟩: for places that cannot hold elements (chart labels, titles,
// exports keep the original).
export function visible(s) {
  return String(s ?? '').replace(CONTROL, (ch) => '⟨' + codePoint(ch) + '⟩');
}

// okta returns a <bdi> holding s, each control character a visible badge.
export function okta(s, attrs = {}) {
  const str = String(s ?? '');
  const el = h('bdi', { class: 'okta', dir: 'auto', ...attrs });
  let last = 0;
  for (const m of str.matchAll(CONTROL)) {
    if (m.index > last) el.append(str.slice(last, m.index));
    const cp = codePoint(m[0]);
    const name = NAMES[m[0].codePointAt(0)];
    el.append(h('span', { class: 'ctl', title: cp + (name ? ' ' + name : ' control character') }, cp));
    last = m.index + m[0].length;
  }
  if (last < str.length) el.append(str.slice(last));
  return el;
}
