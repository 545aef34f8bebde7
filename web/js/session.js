// session.js: the signed-in key, kept for this browser tab's session only
// (sessionStorage, never localStorage or a URL) with a clear expiry; sign-out
// and expiry remove it.
const SLOT = 'nudge.session';
export const SESSION_HOURS = 8; // one working day

export function sessionGet() {
  let s = null;
  try { s = JSON.parse(sessionStorage.getItem(SLOT) || 'null'); } catch { s = null; }
  if (!s || typeof s.key !== 'string' || !(s.expires > Date.now())) {
    sessionStorage.removeItem(SLOT);
    return null;
  }
  return s;
}

export function sessionStart(key) {
  const s = { key, expires: Date.now() + SESSION_HOURS * 3600 * 1000 };
  sessionStorage.setItem(SLOT, JSON.stringify(s));
  return s;
}

export function sessionEnd() {
  sessionStorage.removeItem(SLOT);
}
