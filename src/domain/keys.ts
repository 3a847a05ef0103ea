import { createHash, randomBytes } from 'node:crypto';
import { errors } from './errors.ts';
import { newApiKey, newKeyId } from './ids.ts';
import type { KeyStore } from './ports.ts';
import type { Actor } from './task-service.ts';

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export interface CreatedKey {
  id: string;
  name: string;
  /** Shown once; only its hash is stored. */
  key: string;
  /** Standard Webhooks signing secret for this key's callbacks, shown once. */
  webhook_secret: string;
  created_at: number;
}

/** How long a key lookup is trusted; a revocation on another node takes effect within this. */
export const AUTH_CACHE_MS = 5000;

export function createKeyService(keys: KeyStore, now: () => number) {
  // Every poll authenticates; remembering recent lookups saves a query per request.
  const cache = new Map<string, { keyId: string | null; revoked: boolean; until: number }>();
  async function lookup(hash: string) {
    const t = now();
    const hit = cache.get(hash);
    if (hit && hit.until > t) return hit;
    const row = await keys.findByHash(hash);
    const entry = { keyId: row?.id ?? null, revoked: row?.revoked_at != null, until: t + AUTH_CACHE_MS };
    if (cache.size >= 10_000) cache.clear();
    cache.set(hash, entry);
    return entry;
  }
  return {
    async create(name: string): Promise<CreatedKey> {
      const trimmed = name.trim();
      if (!trimmed || trimmed.length > 200) throw errors.invalidField('name', '"name" must be 1–200 characters.');
      const key = newApiKey();
      const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
      const row = { id: newKeyId(), name: trimmed, key_hash: hashKey(key), key_prefix: key.slice(0, 8), webhook_secret: webhookSecret, created_at: now(), revoked_at: null };
      await keys.insert(row);
      return { id: row.id, name: row.name, key, webhook_secret: webhookSecret, created_at: Math.floor(row.created_at / 1000) };
    },

    /** Resolve a bearer token; missing, unknown and revoked keys are all 401 with a message saying which. */
    async authenticate(authorization: string | undefined): Promise<Actor> {
      if (!authorization) throw errors.unauthorized();
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) throw errors.unauthorized('The Authorization header must be "Bearer <API key>".');
      const entry = await lookup(hashKey(m[1]!));
      if (!entry.keyId) throw errors.unauthorized('Invalid API key.');
      if (entry.revoked) throw errors.unauthorized('This API key has been revoked.');
      return { keyId: entry.keyId };
    },

    async list() {
      return (await keys.list()).map((r) => ({
        id: r.id, name: r.name, prefix: r.key_prefix, balance: Number(r.balance),
        created_at: Math.floor(Number(r.created_at) / 1000),
        revoked_at: r.revoked_at == null ? null : Math.floor(Number(r.revoked_at) / 1000),
      }));
    },

    async revoke(id: string): Promise<void> {
      if (!(await keys.find(id))) throw errors.notFound('key', id);
      await keys.revoke(id, now());
      cache.clear();
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
