import type { Kysely } from 'kysely';

/**
 * The model name exactly as the client sent it, when that was an alias
 * (the vendor doc's own example says `Veoq3-turbo`): the task answers with
 * it, while `model` holds the catalog model that really serves it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('requested_model', 'text').execute();
}
