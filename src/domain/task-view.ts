import type { TaskRecord } from './records.ts';
import type { TaskObject } from './task-schemas.ts';

export interface Links {
  /** A public, signed, expiring URL for a blob (no API key needed). */
  blobUrl(key: string, expiresAtSec: number): Promise<string>;
}

const sec = (ms: number | null) => (ms == null ? null : Math.floor(Number(ms) / 1000));

/**
 * The stored facts as the owner sees them: where an upstream keeps its result
 * (`upstream.result_uri`, a Files-API URI or a gs:// object, kept so that an
 * extension can send it back) is Reelay's business; the owner has `url`.
 */
function shownMetadata(meta: TaskObject['metadata']): TaskObject['metadata'] {
  const upstream = meta?.upstream as Record<string, unknown> | undefined;
  if (!meta || !upstream || typeof upstream !== 'object' || !('result_uri' in upstream)) return meta;
  const { result_uri: _hidden, ...rest } = upstream;
  return { ...meta, upstream: rest };
}

/** The one mapping from a stored task to the API's task object (API.md §5). */
export async function toTaskObject(row: TaskRecord, links: Links): Promise<TaskObject> {
  const succeeded = row.status === 'succeeded';
  const expires = sec(row.expires_at);
  const parsed = shownMetadata(row.metadata_json ? (JSON.parse(row.metadata_json) as TaskObject['metadata']) : null);
  // A task asked for by an alias answers with that name; the model that served it is in metadata.
  const meta = parsed && row.requested_model ? { ...parsed, resolved_model: row.model } : parsed;
  return {
    id: row.id,
    task_id: row.id,
    object: 'video',
    model: row.requested_model ?? row.model,
    provider: row.provider,
    status: row.status,
    progress: succeeded ? 100 : Number(row.progress),
    prompt: row.prompt,
    optimized_prompt: row.optimized_prompt ?? null,
    negative_prompt: row.negative_prompt,
    aspect_ratio: row.aspect_ratio,
    seconds: String(row.seconds),
    size: row.size,
    seed: row.seed == null ? null : Number(row.seed),
    generate_audio: Boolean(Number(row.generate_audio)),
    off_peak: Boolean(Number(row.off_peak)),
    is_rec: Boolean(Number(row.is_rec)),
    extend_task_id: row.extend_task_id ?? null,
    created_at: sec(row.created_at)!,
    started_at: sec(row.started_at),
    completed_at: sec(row.completed_at),
    expires_at: expires,
    url: succeeded && row.output_key && expires ? await links.blobUrl(row.output_key, expires) : null,
    thumbnail_url: succeeded && row.thumbnail_key && expires ? await links.blobUrl(row.thumbnail_key, expires) : null,
    format: 'mp4',
    metadata: meta,
    credits: {
      reserved: Number(row.credits_reserved),
      charged: Number(row.credits_charged),
      refunded: Number(row.credits_refunded),
    },
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
  };
}
