import { sql, type Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { LedgerStore } from '../../domain/ports.ts';
import { ACTIVE_STATUSES } from '../../domain/task-states.ts';
import type { CreditKind, Database } from './schema.ts';

export interface LedgerEntryInput {
  keyId: string;
  kind: CreditKind;
  amount: number;
  taskId?: string | null;
  note?: string | null;
  now: number;
}

const entryId = () => `cre_${randomBytes(12).toString('hex')}`;

/**
 * The append-only credit ledger. Every function that moves a balance writes
 * the entry and the cached balance together and must run inside the caller's
 * transaction (with the task change that causes it).
 */
export function ledgerRepo(db: Kysely<Database>) {
  async function apply(e: LedgerEntryInput, guard?: { minBalanceAfter: number }): Promise<number | undefined> {
    let q = db.updateTable('api_keys').set({ balance: sql`balance + ${e.amount}` }).where('id', '=', e.keyId);
    // The conditional debit is the concurrency control: two reservations can't both see the same funds.
    if (guard) q = q.where(sql<boolean>`balance + ${e.amount} >= ${guard.minBalanceAfter}`);
    const row = await q.returning('balance').executeTakeFirst();
    if (!row) return undefined;
    const balanceAfter = Number(row.balance);
    await db.insertInto('credit_entries').values({
      id: entryId(), key_id: e.keyId, kind: e.kind, amount: e.amount, balance_after: balanceAfter,
      task_id: e.taskId ?? null, note: e.note ?? null, created_at: e.now,
    }).execute();
    return balanceAfter;
  }

  const repo = {
    /** Debit a reservation if the balance covers it; undefined means it does not. */
    reserve: (keyId: string, taskId: string, price: number, now: number) =>
      apply({ keyId, kind: 'reserve', amount: -price, taskId, now }, { minBalanceAfter: 0 }),
    /** Make a reservation final (no balance change; the reserve already debited it). */
    charge: (keyId: string, taskId: string, now: number) => apply({ keyId, kind: 'charge', amount: 0, taskId, now }),
    refund: (keyId: string, taskId: string, amount: number, now: number, note: string) =>
      apply({ keyId, kind: 'refund', amount, taskId, now, note }),
    grant: (keyId: string, amount: number, now: number, note: string | null) =>
      apply({ keyId, kind: amount >= 0 ? 'grant' : 'adjust', amount, now, note }, amount < 0 ? { minBalanceAfter: 0 } : undefined),

    async balance(keyId: string): Promise<number | undefined> {
      const r = await db.selectFrom('api_keys').select('balance').where('id', '=', keyId).executeTakeFirst();
      return r ? Number(r.balance) : undefined;
    },
    recent(keyId: string, limit: number) {
      return db.selectFrom('credit_entries').selectAll().where('key_id', '=', keyId)
        .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },
    async sumOfEntries(keyId: string): Promise<number> {
      const r = await db.selectFrom('credit_entries').select((eb) => eb.fn.sum<number>('amount').as('s')).where('key_id', '=', keyId).executeTakeFirst();
      return Number(r?.s ?? 0);
    },
    async totalsByKind(): Promise<Record<string, number>> {
      const rows = await db.selectFrom('credit_entries').select(['kind', (eb) => eb.fn.sum<number>('amount').as('s')]).groupBy('kind').execute();
      return Object.fromEntries(rows.map((r) => [r.kind, Number(r.s)]));
    },
    async reservedInFlight(keyId: string): Promise<number> {
      const r = await db.selectFrom('tasks').select((eb) => eb.fn.sum<number>('credits_reserved').as('s'))
        .where('key_id', '=', keyId).where('status', 'in', [...ACTIVE_STATUSES]).executeTakeFirst();
      return Number(r?.s ?? 0);
    },
  };
  return repo satisfies LedgerStore;
}

export type LedgerRepo = ReturnType<typeof ledgerRepo>;
