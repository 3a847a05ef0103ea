import { z } from 'zod';
import type { SameShape as Same } from '../route.ts';
import type { GoogleOperation, OpenAIList, OpenAIVideo } from './views.ts';

/**
 * The SDK surfaces' wire shapes as zod, for the OpenAPI document only: the
 * requests are translated by hand (requests.ts, which names the caller's own
 * fields in its errors) and the answers are built by views.ts. Each answer
 * schema is checked against its views.ts type below, so the two cannot drift.
 */

const GoogleImage = z.object({
  bytesBase64Encoded: z.string().optional().describe('The image, base64 (what @google/genai sends)'),
  inlineData: z.object({ data: z.string(), mimeType: z.string().optional() }).optional().describe('Or the REST docs\' form'),
  mimeType: z.string().optional().describe('image/png, image/jpeg or image/webp; the content decides'),
}).describe('PNG, JPEG or WebP bytes; gcsUri is refused (Reelay cannot read Cloud Storage)');

export const GooglePredictRequest = z.object({
  instances: z.array(z.object({
    prompt: z.string().describe('Motion description, 1–5000 characters'),
    image: GoogleImage.describe('The first frame (required)'),
    lastFrame: GoogleImage.optional().describe('The last frame, on models that take one (Veo 3.1)'),
  })).min(1).max(1).describe('Exactly one instance: one video per request'),
  parameters: z.object({
    aspectRatio: z.enum(['16:9', '9:16']).optional().describe('Default 16:9'),
    durationSeconds: z.number().int().optional().describe('As the model allows (GET /v1/models)'),
    resolution: z.string().optional().describe('720p, 1080p or 4k, as the model allows'),
    negativePrompt: z.string().optional(),
    seed: z.number().int().min(0).max(4294967295).optional(),
    generateAudio: z.boolean().optional(),
    sampleCount: z.literal(1).optional().describe('Only 1'),
    numberOfVideos: z.literal(1).optional().describe('Only 1'),
  }).optional(),
});

const RpcStatus = z.object({ code: z.number().int(), message: z.string() });

export const GoogleOperationSchema = z.object({
  name: z.string().describe('…/operations/<task id>'),
  done: z.boolean(),
  response: z.record(z.string(), z.unknown()).optional().describe(
    'Once succeeded. Gemini API: generateVideoResponse.generatedSamples[0].video.uri (a download link). '
    + 'Vertex AI (fetchPredictOperation): videos[0].bytesBase64Encoded, the MP4 inline'),
  error: RpcStatus.optional().describe('Once failed or cancelled (google.rpc.Status)'),
});

export const GoogleErrorBody = z.object({
  error: z.object({
    code: z.number().int().describe('The HTTP status'),
    message: z.string(),
    status: z.string().describe('google.rpc status name, e.g. INVALID_ARGUMENT'),
    details: z.array(z.object({
      '@type': z.string(), reason: z.string().describe("Reelay's error code"), domain: z.string(), metadata: z.record(z.string(), z.string()),
    })),
  }),
});

export const OpenAICreateRequest = z.object({
  prompt: z.string(),
  model: z.string().optional().describe('sora-2 (→ veo-3.0-fast-generate-001), sora-2-pro (→ veo-3.0-generate-001), or a Reelay model id; default sora-2'),
  seconds: z.string().optional().describe('As the model allows; default 4 for the sora names'),
  size: z.string().optional().describe('WxH, e.g. 1280x720 (landscape) or 720x1280 (portrait, the default)'),
  input_reference: z.union([z.string(), z.object({ image_url: z.string() })]).optional()
    .describe('The first frame: a file part (multipart), a data: URI or https:// URL, or {"image_url": …}'),
  negative_prompt: z.string().optional(),
  seed: z.number().int().min(0).max(4294967295).optional(),
  generate_audio: z.boolean().optional(),
  callback_url: z.string().optional(),
  off_peak: z.boolean().optional(),
});

export const OpenAIVideoSchema = z.object({
  id: z.string(),
  object: z.literal('video'),
  model: z.string(),
  status: z.enum(['queued', 'in_progress', 'completed', 'failed']).describe('a cancelled task is failed, with error.code cancelled'),
  progress: z.number().int().min(0).max(100),
  created_at: z.number().int(),
  completed_at: z.number().int().nullable(),
  expires_at: z.number().int().nullable(),
  prompt: z.string().nullable(),
  seconds: z.string(),
  size: z.string().describe('WxH'),
  remixed_from_video_id: z.null(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export const OpenAIListSchema = z.object({
  object: z.literal('list'), data: z.array(OpenAIVideoSchema), has_more: z.boolean(), first_id: z.string().nullable(), last_id: z.string().nullable(),
});

export const OpenAIDeleted = z.object({ id: z.string(), object: z.literal('video.deleted'), deleted: z.literal(true) });

// Compile-time: each answer schema is exactly the type views.ts builds.
export const WIRE_SCHEMAS_MATCH_VIEWS: [
  Same<z.infer<typeof OpenAIVideoSchema>, OpenAIVideo>,
  Same<z.infer<typeof OpenAIListSchema>, OpenAIList>,
  Same<z.infer<typeof GoogleOperationSchema>, GoogleOperation>,
] = [true, true, true];
