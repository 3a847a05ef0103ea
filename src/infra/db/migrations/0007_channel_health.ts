import type { Kysely } from 'kysely';

/**
 * Channel health is shared by every node: one worker learning that a key was
 * refused makes all of them skip that channel, and `reelay channels` (another
 * process) can show it. One row per channel (upstream_model '') and per
 * channel × upstream model that has been at fault.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable('channel_health')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('upstream_model', 'text', (c) => c.notNull())
    /** Failures in a row that count towards a rest (reset by a success). */
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    /** Rests in a row: each doubles the next cool-down. */
    .addColumn('rests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rest_until', 'bigint')
    .addColumn('last_error_code', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'bigint')
    .addColumn('last_success_at', 'bigint')
    .addPrimaryKeyConstraint('channel_health_pk', ['channel', 'upstream_model'])
    .execute();
}
