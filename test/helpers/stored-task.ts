import { newTaskId } from '../../src/domain/ids.ts';
import type { NewTask } from '../../src/domain/ports.ts';

/** A task row as a submit writes it, for tests that need many (or exactly timed) tasks without submitting them. */
export function storedTask(keyId: string, createdAt: number, extra: Partial<NewTask> = {}): NewTask {
  return {
    id: newTaskId(), key_id: keyId, model: 'veo-3.0-fast-generate-001', provider: 'local', status: 'queued', progress: 0,
    prompt: 'stored', negative_prompt: null, aspect_ratio: '16:9', seconds: 4, size: '720p', width: 1280, height: 720, seed: 1,
    generate_audio: 0, off_peak: 0, is_rec: 0, callback_url: null, options_json: '{}', input_keys: '[]',
    credits_reserved: 60, credits_charged: 0, credits_refunded: 0, created_at: createdAt,
    idempotency_key: null, request_hash: null, optimized_prompt: null, ...extra,
  };
}
