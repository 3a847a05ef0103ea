import { DEFAULT_BASE_URL, Reelay } from '../sdk/client.ts';
import { UsageError } from './usage-error.ts';
import type { ClientIO } from './client-commands.ts';

/**
 * The server a client command talks to: --base-url, else REELAY_BASE_URL, else
 * the address the server itself listens on (HOST, PORT), so `PORT=18090` set
 * for both the server and the CLI needs nothing more.
 */
export function baseUrlFrom(flag: string | undefined, env: ClientIO['env']): { url: string; from: string } {
  if (flag !== undefined) return { url: flag, from: '--base-url' };
  if (env.REELAY_BASE_URL) return { url: env.REELAY_BASE_URL, from: 'REELAY_BASE_URL' };
  if (!env.HOST && !env.PORT) return { url: DEFAULT_BASE_URL, from: 'the default' };
  const port = env.PORT || '8080';
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new UsageError(`PORT=${port} is not a port, so the server's address is unknown: set REELAY_BASE_URL or pass --base-url`, { showUsage: false });
  }
  // A server listening on every interface is reached on loopback.
  const host = !env.HOST || env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST === '::' ? '::1' : env.HOST;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, from: 'HOST and PORT' };
}

/** An SDK client for the command's flags and environment; a missing key or a bad address is the user's to fix (exit 2). */
export function client(values: { 'base-url'?: string | undefined; 'api-key'?: string | undefined }, io: ClientIO): Reelay {
  const base = baseUrlFrom(values['base-url'], io.env);
  const apiKey = values['api-key'] ?? io.env.REELAY_API_KEY;
  if (!URL.canParse(base.url) || !/^https?:$/.test(new URL(base.url).protocol)) {
    throw new UsageError(`${base.from} must be an http(s) URL (got ${JSON.stringify(base.url)})`, { showUsage: base.from === '--base-url' });
  }
  if (!apiKey) {
    throw new UsageError(`no API key: set REELAY_API_KEY or pass --api-key (create one with \`${io.prog ?? 'reelay'} keys create --name NAME --credits 5000\`)`, { showUsage: false });
  }
  return new Reelay({ baseUrl: base.url, apiKey });
}
