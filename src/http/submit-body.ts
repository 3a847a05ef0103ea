import type { FastifyRequest } from 'fastify';
import { errors, isApiError } from '../domain/errors.ts';

export interface SubmitBody {
  body: unknown;
  files: { data: Buffer; contentType: string | null }[];
}

const BOOLEAN_FIELDS = new Set(['generate_audio', 'audio', 'off_peak', 'is_rec']);
const INTEGER_FIELDS = new Set(['seed']);
const FILE_FIELDS = new Set(['images', 'input_reference']);
/** `reference_images` file parts; they join the text parts of that name as data: URIs, in the order sent. */
const REFERENCE_FIELDS = new Set(['reference_images', 'reference_images[]']);

/** A reference file as the data: URI the submit rules read (the type is judged by content; a declared one is kept if it is an image's). */
const referenceUri = (data: Buffer, mime: string | undefined) =>
  `data:${mime && /^image\/[a-z0-9.+-]+$/i.test(mime) ? mime.toLowerCase() : ''};base64,${data.toString('base64')}`;

/** Multipart text parts are strings; give them the JSON types the schema expects so one rule set serves both. */
function coerceField(name: string, value: string): unknown {
  if (BOOLEAN_FIELDS.has(name)) {
    if (/^(true|1)$/i.test(value)) return true;
    if (/^(false|0)$/i.test(value)) return false;
    return value;
  }
  if (INTEGER_FIELDS.has(name) && /^-?\d+$/.test(value.trim())) return Number(value);
  return value;
}

/**
 * Read a submit body as JSON or multipart (API.md §3) into one shape. For
 * multipart the total of all parts is capped at the body limit (→ 413), since
 * per-file limits alone would let many parts add up past it.
 */
export async function readSubmitBody(req: FastifyRequest, bodyLimit: number): Promise<SubmitBody> {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  if (ct.startsWith('application/json')) return { body: req.body, files: [] };
  if (!ct.startsWith('multipart/form-data')) {
    throw errors.unsupportedMediaType(req.headers['content-type'], ['application/json', 'multipart/form-data']);
  }
  try {
    return await readMultipart(req, bodyLimit);
  } catch (e) {
    if (isApiError(e) || String((e as { code?: unknown }).code ?? '').startsWith('FST_')) throw e;
    // busboy's own parse errors (no boundary, truncated body) are the client's fault, not ours.
    throw errors.invalid('invalid_multipart', 'The multipart body is malformed or incomplete.');
  }
}

async function readMultipart(req: FastifyRequest, bodyLimit: number): Promise<SubmitBody> {
  const fields: Record<string, unknown> = {};
  const files: SubmitBody['files'] = [];
  const imageStrings: string[] = [];
  const references: string[] = [];
  let total = 0;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      const reference = REFERENCE_FIELDS.has(part.fieldname);
      if (!FILE_FIELDS.has(part.fieldname) && !reference) {
        await part.toBuffer().catch(() => {});
        throw errors.invalidField(part.fieldname, `File part "${part.fieldname}" is not expected; send the image as "images" (or "input_reference"), reference images as "reference_images".`, 'unexpected_file');
      }
      const data = await part.toBuffer();
      total += data.length;
      if (total > bodyLimit) throw errors.bodyTooLarge(bodyLimit);
      if (reference) references.push(referenceUri(data, part.mimetype));
      else files.push({ data, contentType: part.mimetype || null });
    } else {
      const value = String(part.value ?? '');
      total += value.length;
      if (total > bodyLimit || part.valueTruncated) throw errors.bodyTooLarge(bodyLimit);
      if (part.fieldname === 'images' || part.fieldname === 'images[]') imageStrings.push(value);
      else if (REFERENCE_FIELDS.has(part.fieldname)) references.push(value);
      else fields[part.fieldname] = coerceField(part.fieldname, value);
    }
  }
  if (imageStrings.length) fields.images = imageStrings;
  if (references.length) fields.reference_images = references;
  return { body: fields, files };
}
