import type { Kysely } from 'kysely';
import type { KeyStore, NewApiKey } from '../../domain/ports.ts';
import type { RotateOutcome } from '../../domain/webhooks.ts';
import type { ApiKeyRow, Database } from './schema.ts';

export function keysRepo(db: Kysely<Database>) {
  const repo = {
    /** New keys start with a zero balance (credits arrive as ledger grants) and no previous webhook secret. */
    async insert(row: NewApiKey): Promise<void> {
      await db.insertInto('api_keys').values({ ...row, balance: 0 }).execute();
    },

    /**
     * Rotate without breaking an earlier promise (one previous secret fits): when no previous
     * secret is still signing, the current one becomes it until `overlapUntil`; when one is,
     * only an immediate replacement (`overlapUntil` <= now) goes through, leaving it in place.
     * Each branch is one conditional UPDATE, so racing rotations cannot both win.
     */
    async rotateWebhookSecretKeepingPrevious(id: string, secret: string, overlapUntil: number, now: number): Promise<RotateOutcome> {
      const rotated = await db.updateTable('api_keys')
        .set((eb) => ({ webhook_secret_previous: eb.ref('webhook_secret'), webhook_secret_previous_until: overlapUntil, webhook_secret: secret }))
        .where('id', '=', id).where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('webhook_secret_previous', 'is', null), eb('webhook_secret_previous_until', 'is', null), eb('webhook_secret_previous_until', '<=', now)]))
        .executeTakeFirst();
      if (Number(rotated.numUpdatedRows) === 1) return { outcome: 'rotated' };
      if (overlapUntil <= now) {
        const replaced = await db.updateTable('api_keys').set({ webhook_secret: secret })
          .where('id', '=', id).where('revoked_at', 'is', null).where('webhook_secret_previous_until', '>', now)
          .executeTakeFirst();
        if (Number(replaced.numUpdatedRows) === 1) return { outcome: 'replaced' };
      }
      const row = await repo.find(id);
      if (!row || row.revoked_at != null) return { outcome: 'not_found' };
      return { outcome: 'previous_still_signing', previousUntil: Number(row.webhook_secret_previous_until) };
    },

    /** Rotate the webhook secret; the old one keeps signing too until `overlapUntil`. */
    async rotateWebhookSecret(id: string, secret: string, overlapUntil: number): Promise<boolean> {
      const r = await db.updateTable('api_keys')
        .set((eb) => ({ webhook_secret_previous: eb.ref('webhook_secret'), webhook_secret_previous_until: overlapUntil, webhook_secret: secret }))
        .where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    findByHash(hash: string): Promise<ApiKeyRow | undefined> {
      return db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    },
    find(id: string): Promise<ApiKeyRow | undefined> {
      return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    },
    list(): Promise<ApiKeyRow[]> {
      return db.selectFrom('api_keys').selectAll().orderBy('created_at').execute();
    },
    async revoke(id: string, now: number): Promise<boolean> {
      const r = await db.updateTable('api_keys').set({ revoked_at: now })
        .where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  };
  return repo satisfies KeyStore;
}

export type KeysRepo = ReturnType<typeof keysRepo>;
