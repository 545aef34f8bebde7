// sms.js: a draft's preview as the user types, before it is saved: the
// {variable} rendering and the SMS segment count, by the same rules as
// src/tmpl.c (tmpl_render, tmpl_sms_segments): {{ and }} are literal braces,
// GSM-7 160/153 septets per part (extension characters cost 2), otherwise
// UCS-2 70/67 UTF-16 units, packed part by part. The server's rendering of
// the saved template (POST .../render) stays the reference.
const GSM_HIGH = new Set([0xA1, 0xA3, 0xA4, 0xA5, 0xA7, 0xBF, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9, 0xD1, 0xD6, 0xD8,
  0xDC, 0xDF, 0xE0, 0xE4, 0xE5, 0xE6, 0xE8, 0xE9, 0xEC, 0xF1, 0xF2, 0xF6, 0xF8, 0xF9, 0xFC, 0x393, 0x394, 0x398,
  0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9]);
const GSM_ASCII = ' !"#$%&\'()*+,-./:;<=>?@_\n\r';

function septets(cp) {
  if (cp < 0x80) {
    const c = String.fromCodePoint(cp);
    if (/[A-Za-z0-9]/.test(c) || GSM_ASCII.includes(c)) return 1;
    if (c === '\f' || '^{}\\[~]|'.includes(c)) return 2;
    return 0;
  }
  if (GSM_HIGH.has(cp)) return 1;
  return cp === 0x20AC ? 2 : 0;
}

export function smsSegments(text) {
  const cps = [...(text || '')].map((c) => c.codePointAt(0));
  const gsm = cps.every((cp) => septets(cp) > 0);
  const cost = (cp) => (gsm ? septets(cp) : cp > 0xFFFF ? 2 : 1);
  const total = cps.reduce((n, cp) => n + cost(cp), 0);
  const single = gsm ? 160 : 70, part = gsm ? 153 : 67;
  if (total <= single) return { segments: 1, encoding: gsm ? 'GSM-7' : 'UCS-2', units: total };
  let segs = 1, fill = 0;
  for (const cp of cps) {
    const w = cost(cp);
    if (fill + w > part) { segs++; fill = 0; }
    fill += w;
  }
  return { segments: segs, encoding: gsm ? 'GSM-7' : 'UCS-2', units: total };
}

// The {name}s a text uses, in order of first use.
export function placeholders(text) {
  const names = [];
  const s = (text || '').replace(/\{\{|\}\}/g, '');
  for (const m of s.matchAll(/\{([a-z0-9_]+)\}/g)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

// Renders text with vars; a missing variable is reported by name.
export function render(text, vars) {
  const missing = [];
  const out = (text || '').replace(/\{\{|\}\}|\{([a-z0-9_]+)\}/g, (all, name) => {
    if (all === '{{') return '{';
    if (all === '}}') return '}';
    if (vars[name] === undefined || vars[name] === '') { missing.push(name); return all; }
    return vars[name];
  });
  return { text: out, missing };
}
