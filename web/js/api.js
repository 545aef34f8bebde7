// api.js: every data call of the dashboard goes through here, to /v1 with
// the signed-in key as a Bearer token. A failure becomes an ApiError whose
// message is words for the user: the problem body's title and detail, the
// field it names, or what happened to the network.
import { sessionGet, sessionEnd } from './session.js';
import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

let onSignedOut = () => {};
export function apiOnSignedOut(fn) { onSignedOut = fn; }

export async function api(method, path, body, key) {
  const s = key ? { key } : sessionGet();
  if (!s) {
    onSignedOut(t('err.expired'));
    throw new ApiError(401, t('err.expired'));
  }
  const init = { method, headers: { Authorization: 'Bearer ' + s.key, Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, t('err.network'));
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.ok) return { data, etag: res.headers.get('ETag') };
  let msg;
  if (data && data.detail) msg = (data.title ? data.title + ': ' : '') + data.detail;
  else msg = t('err.status', { status: res.status });
  if (data && data.field) msg += ' (' + t('err.field') + ' ' + data.field + ')';
  if (res.status === 503) msg = t('err.unavailable') + ' ' + msg;
  if (res.status === 401 && !key) onSignedOut(t('err.refused'));
  throw new ApiError(res.status, msg, data && data.field);
}

// Every item of a paged list (?limit=200&after=...), up to max items.
export async function apiAll(path, max = 5000) {
  const items = [];
  let after = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const { data } = await api('GET', path + sep + 'limit=200' + (after ? '&after=' + after : ''));
    items.push(...data.data);
    after = data.next_after;
    if (!after || items.length >= max) return items;
  }
}
