// The console's one door to the server: the public API with the pasted key, errors kept with their code and field.

export const KEY_STORAGE = 'reelay.apiKey';

export class ApiError extends Error {
  constructor(message, status, code, param) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

export async function api(path, init = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (!key) throw new ApiError('Use an API key first (Connect, at the top).', 0, 'no_key');
  let res;
  try {
    res = await fetch(path, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers || {}) } });
  } catch {
    throw new ApiError('The server could not be reached.', 0, 'network');
  }
  const body = (res.headers.get('content-type') || '').includes('json') ? await res.json() : null;
  if (!res.ok) throw new ApiError(body?.error?.message || `HTTP ${res.status}`, res.status, body?.error?.code, body?.error?.param);
  return body;
}

/** crypto.randomUUID needs a secure context; getRandomValues works on plain-http LAN addresses too. */
export function idempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
