import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Small named values the deployment shares through its database (e.g. the URL-signing secret). */
export function metaRepo(db: Kysely<Database>) {
  return {
    async get(name: string): Promise<string | undefined> {
      const r = await db.selectFrom('reelay_meta').select('value').where('name', '=', name).executeTakeFirst();
      return r?.value;
    },
    /** Insert once; concurrent first boots agree on whichever value landed first. */
    async getOrInit(name: string, make: () => string): Promise<string> {
      await db.insertInto('reelay_meta').values({ name, value: make() }).onConflict((oc) => oc.column('name').doNothing()).execute();
      const v = await this.get(name);
      if (v === undefined) throw new Error(`reelay_meta ${name} missing after insert`);
      return v;
    },
  };
}
