import { errors } from '../../domain/errors.ts';
import { geminiFileIdFromPath, taskIdFromGeminiFileId, taskIdFromOperationName } from './views.ts';

/**
 * The image and video inputs of a Google `predictLongRunning` instance
 * (UPSTREAM.md §1.1, §2, §3), read into what Reelay's submit takes: images as
 * data: URIs, `referenceImages` as `reference_images`, and `video` (the
 * extension input) as the task whose video it is.
 */

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const present = (v: unknown) => v !== undefined && v !== null;

export const unsupported = (field: string, why: string) =>
  errors.invalidField(field, `"${field}" is not supported: ${why}`, 'unsupported_field');

/** `{bytesBase64Encoded, mimeType}` (the SDK) or `{inlineData: {data, mimeType}}` (the REST docs) → a data URI. */
export function googleImage(v: unknown, field: string): string {
  if (!isObject(v)) throw errors.invalidField(field, `"${field}" must be an object with bytesBase64Encoded and mimeType (got ${v === null ? 'null' : typeof v}).`, 'invalid_image');
  if (present(v.gcsUri)) {
    throw unsupported(`${field}.gcsUri`, 'Reelay cannot read Cloud Storage; send the image bytes as bytesBase64Encoded (or inlineData.data).');
  }
  const inline = isObject(v.inlineData) ? v.inlineData : undefined;
  const data = inline ? inline.data : v.bytesBase64Encoded;
  const mime = inline ? inline.mimeType : v.mimeType;
  if (typeof data !== 'string' || data.length === 0) {
    throw errors.invalidField(field, `"${field}" must carry base64 image bytes in bytesBase64Encoded (or inlineData.data).`, 'invalid_image');
  }
  // Always a data: URI, so these bytes are never taken for an image URL to fetch. The image's type
  // is judged by its content later; a declared type is only kept if it looks like one.
  return `data:${typeof mime === 'string' && /^image\/[a-z0-9.+-]+$/i.test(mime) ? mime : ''};base64,${data}`;
}

/** Most items read from `referenceImages`: Vidu's reference models take 7; the task service applies each model's own limit. */
const MAX_REFERENCES = 16;

/**
 * `referenceImages[]{image, referenceType}` → `reference_images`. Only asset
 * references (a person, character or product to keep) exist in Reelay; the
 * SDK's enum sends `ASSET`, the REST docs `asset`, and an absent type is taken as one.
 */
export function googleReferences(v: unknown): string[] | undefined {
  if (!present(v)) return undefined;
  const field = 'instances[0].referenceImages';
  if (!Array.isArray(v)) throw errors.invalidField(field, `"${field}" must be an array of {image, referenceType} (got ${typeof v}).`);
  if (v.length > MAX_REFERENCES) throw errors.invalidField(field, `"${field}" holds ${v.length} items; no model takes more than 7.`);
  return v.map((item, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(item)) throw errors.invalidField(at, `"${at}" must be an object {image, referenceType}.`);
    const type = item.referenceType;
    if (present(type) && !(typeof type === 'string' && type.trim().toLowerCase() === 'asset')) {
      throw errors.invalidField(`${at}.referenceType`,
        `"${at}.referenceType" must be "asset" (a person, character or product to keep in the video); Reelay has no "${String(type).slice(0, 40)}" references (style references were Veo 2 only).`,
        'unsupported_field');
    }
    return googleImage(item.image, `${at}.image`);
  });
}

/** The extension input: a task this gateway made (by its uri), or the bytes of one of its videos, still base64. */
export type SourceVideo = { taskId: string } | { base64: string };

/** A uri this gateway handed out for a task's video (or the operation's own name) → that task's id. */
function taskIdFromVideoUri(uri: string, field: string): string {
  const t = uri.trim();
  if (/^gs:\/\//i.test(t)) {
    throw unsupported(field, 'Reelay cannot read Cloud Storage; pass the video as this gateway returned it (its uri, or its bytes), or the operation name.');
  }
  const path = t.split(/[?#]/)[0] ?? '';
  const fileId = geminiFileIdFromPath(path);
  const id = (fileId === undefined ? undefined : taskIdFromGeminiFileId(fileId)) ?? taskIdFromOperationName(path);
  if (id === undefined) {
    throw errors.invalidField(field,
      `"${field}" must be the uri of a video this gateway returned (…/v1beta/files/<id>:download) or the name of the operation that made it (…/operations/<task id>); got ${JSON.stringify(t.slice(0, 100))}.`,
      'unknown_video');
  }
  return id;
}

/**
 * `instances[0].video`. The Gemini SDK sends `{uri, encodedVideo, encoding}`,
 * Vertex `{gcsUri, bytesBase64Encoded, mimeType}`; either spelling is read on
 * both surfaces. With both a uri and bytes the uri wins (as the Gemini SDK does).
 */
export function googleSourceVideo(v: unknown): SourceVideo | undefined {
  if (!present(v)) return undefined;
  const field = 'instances[0].video';
  if (!isObject(v)) throw errors.invalidField(field, `"${field}" must be an object with uri (or gcsUri) or the video bytes (got ${typeof v}).`);
  const [uriField, uri] = present(v.uri) ? ['uri', v.uri] : ['gcsUri', v.gcsUri];
  if (present(uri)) {
    if (typeof uri !== 'string') throw errors.invalidField(`${field}.${uriField}`, `"${field}.${uriField}" must be a string.`);
    return { taskId: taskIdFromVideoUri(uri, `${field}.${uriField}`) };
  }
  const bytes = present(v.encodedVideo) ? v.encodedVideo : v.bytesBase64Encoded;
  if (typeof bytes === 'string' && bytes.length > 0) return { base64: bytes };
  throw errors.invalidField(field,
    `"${field}" must carry the uri this gateway returned for a video (uri, or gcsUri in Vertex's spelling) or that video's bytes (encodedVideo or bytesBase64Encoded).`);
}
