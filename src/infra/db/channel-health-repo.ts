import type { Kysely } from 'kysely';
import type { ChannelHealthRow, Database } from './schema.ts';

/** Channel health rows: read all (a handful), write one (upsert). Health is advisory, so last writer wins. */
export function channelHealthRepo(db: Kysely<Database>) {
  return {
    all(): Promise<ChannelHealthRow[]> {
      return db.selectFrom('channel_health').selectAll().execute();
    },
    async save(row: ChannelHealthRow): Promise<void> {
      const { channel: _c, upstream_model: _m, ...rest } = row;
      await db.insertInto('channel_health').values(row)
        .onConflict((oc) => oc.columns(['channel', 'upstream_model']).doUpdateSet(rest)).execute();
    },
    /** Forget a channel's rest (an operator fixed the key): `reelay channels reset`. */
    async clear(channel: string): Promise<number> {
      const r = await db.deleteFrom('channel_health').where('channel', '=', channel).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type ChannelHealthRepo = ReturnType<typeof channelHealthRepo>;
