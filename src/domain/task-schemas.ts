import { z } from 'zod';

/**
 * Wire schemas: the single source for request parsing, the TypeScript types
 * and the OpenAPI document. Semantic rules that depend on the catalog (which
 * seconds a model takes, …) live in submit-rules.ts, where the messages can
 * name the allowed values.
 */
export const SubmitRequest = z.object({
  model: z.string().describe('Model id (or an alias) from GET /v1/models, e.g. veo-3.1-fast-generate-001'),
  prompt: z.string().describe('Motion description, 1–5000 characters'),
  aspect_ratio: z.string().optional().describe('One the model supports (Veo: 16:9 or 9:16). Omitted: the supported ratio nearest to the start image\'s shape (or to pixel `size`)'),
  images: z.array(z.string()).optional().describe(
    'First frame, then the last frame on models that take one (Veo 3.1, Vidu start-end models): https:// URL, data:image/...;base64 URI, or bare base64. In multipart, file parts named images or input_reference. Required unless extend_task_id is given.'),
  reference_images: z.array(z.string()).optional().describe(
    'Pictures of a person, character or product to keep in the video (same item forms as images): up to 3 on Veo 3.1 (the start image counted, 8 s) and Gemini Omni, up to 7 on Vidu reference models (the start image counted). GET /v1/models says per model.'),
  extend_task_id: z.string().optional().describe(
    'A succeeded task of this key whose video the new task continues; omit images. The output is the whole extended video; seconds is what the extension adds (Veo 3.1: 7 at 720p).'),
  seconds: z.union([z.number(), z.string()]).optional().describe('Veo 3/3.1: 4, 6, 8; Veo 2: 5–8; default 8; Veo 3.1 with images: 8'),
  duration: z.union([z.number(), z.string()]).optional().describe('Alias of seconds'),
  size: z.string().optional().describe('720p (default), 1080p, 4k, or pixels such as 1280x720'),
  negative_prompt: z.string().optional(),
  // The same range as MAX_SEED in submit-rules.ts (not imported: that module imports this one).
  seed: z.number().int().min(0).max(4294967295).optional().describe('0–4294967295; same seed and inputs, same local render'),
  generate_audio: z.boolean().optional().describe('Models with audio only (Veo 3+); default true there'),
  audio: z.boolean().optional().describe('Vidu only'),
  audio_type: z.string().optional().describe('Vidu only: all, speech_only, sound_effect_only'),
  voice_id: z.string().optional().describe('Vidu only'),
  off_peak: z.boolean().optional(),
  is_rec: z.boolean().optional(),
  callback_url: z.string().optional().describe('https:// URL that receives the signed webhook'),
});
export type SubmitRequest = z.infer<typeof SubmitRequest>;

export const TaskStatusSchema = z.enum(['queued', 'processing', 'succeeded', 'failed', 'cancelled']);

export const TaskObject = z.object({
  id: z.string(),
  task_id: z.string(),
  object: z.literal('video'),
  model: z.string(),
  provider: z.string().describe('Who renders it: local, gemini, vertex, vidu'),
  status: TaskStatusSchema,
  progress: z.number().int().min(0).max(100),
  prompt: z.string(),
  optimized_prompt: z.string().nullable().describe('is_rec with the local renderer: the richer prompt it rendered'),
  negative_prompt: z.string().nullable(),
  aspect_ratio: z.string(),
  seconds: z.string(),
  size: z.string(),
  seed: z.number().int().min(0).max(4294967295).nullable(),
  generate_audio: z.boolean(),
  off_peak: z.boolean(),
  is_rec: z.boolean(),
  extend_task_id: z.string().nullable().optional().describe('The task whose video this one continues; its video is the start of this one'),
  created_at: z.number().int(),
  started_at: z.number().int().nullable(),
  completed_at: z.number().int().nullable(),
  expires_at: z.number().int().nullable().describe('When url and thumbnail_url stop working'),
  url: z.string().nullable().describe('Public signed link to the MP4 once succeeded'),
  thumbnail_url: z.string().nullable(),
  format: z.literal('mp4'),
  metadata: z.object({
    duration: z.number(),
    fps: z.number(),
    width: z.number().int(),
    height: z.number().int(),
    seed: z.number().int().min(0).max(4294967295),
    has_audio: z.boolean(),
  }).catchall(z.unknown()).nullable().describe('Measured from the output file'),
  credits: z.object({ reserved: z.number(), charged: z.number(), refunded: z.number() })
    .describe('reserved at submit; charged on success, refunded in full on failure, cancel or off-peak expiry'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type TaskObject = z.infer<typeof TaskObject>;

export const TaskList = z.object({
  object: z.literal('list'),
  data: z.array(TaskObject),
  has_more: z.boolean(),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
});

export const ErrorBody = z.object({
  error: z.object({
    type: z.string(),
    code: z.string(),
    message: z.string(),
    param: z.string().nullable(),
  }),
});
