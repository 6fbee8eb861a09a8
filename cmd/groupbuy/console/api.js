// The ops API with the operator's bearer token, and the console session.

const TOKEN = 'groupbuy.console.token';
const WHO = 'groupbuy.console.who';

/** session is the login of this tab (sessionStorage: gone with the tab). */
export const session = {
  get token() { return sessionStorage.getItem(TOKEN) || ''; },
  get who() {
    try { return JSON.parse(sessionStorage.getItem(WHO)) || {}; } catch { return {}; }
  },
  set(token, who) {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(WHO, JSON.stringify(who));
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(WHO);
  },
};

/** APIError is an error answer of the API: its status, code and message. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function errorOf(res) {
  let code = '';
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    code = body.error.code || '';
    message = body.error.message || message;
  } catch { /* not the error envelope */ }
  return new APIError(res.status, code, message);
}

function authorized() {
  return { Authorization: `Bearer ${session.token}` };
}

/** api GETs a JSON resource of the API. */
export async function api(path) {
  const res = await fetch(path, { headers: { ...authorized(), Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/**
 * send makes a write of the API (POST, PUT…) with the bearer header and a
 * JSON body (none when body is undefined), and answers the JSON reply.
 */
export async function send(method, path, body) {
  const headers = { ...authorized(), Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? null : res.json();
}

function filenameOf(disposition) {
  const d = disposition || '';
  const full = /filename\*=utf-8''([^;\s]+)/i.exec(d);
  if (full) {
    try {
      return decodeURIComponent(full[1]);
    } catch (e) {
      // a name that does not decode: the ASCII one below
    }
  }
  const m = /filename="([^"]+)"/.exec(d);
  return m ? m[1] : '';
}

/**
 * download fetches a file with the bearer header (a plain link cannot send
 * it) and saves it through a temporary object URL; it returns the name.
 */
export async function download(path, fallbackName) {
  const res = await fetch(path, { headers: authorized(), cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  const blob = await res.blob();
  const name = filenameOf(res.headers.get('Content-Disposition')) || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return name;
}

/**
 * openSession checks the token with the server, which also opens a session
 * for the queue monitor (an HttpOnly cookie with a session id, not the
 * token); it answers {role, name, queues}.
 */
export async function openSession(token) {
  const res = await fetch('/console/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

/** closeSession ends the monitor's session on the server and drops the cookie. */
export async function closeSession() {
  await fetch('/console/session', { method: 'DELETE' }).catch(() => {});
}
