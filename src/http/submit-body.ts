import type { FastifyRequest } from 'fastify';
import { errors, isApiError } from '../domain/errors.ts';
import type { SubmittedFile } from '../domain/submit-rules.ts';
import { SpoolLimitExceeded, type UploadSpool } from './upload-spool.ts';

export interface SubmitBody {
  body: unknown;
  /** Image parts, spooled to files: the caller removes them with `release()` once the submit is over, whatever its outcome. */
  files: SubmittedFile[];
  release(): Promise<void>;
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

const nothing = async () => {};

/**
 * Read a submit body as JSON or multipart (API.md §3) into one shape. For
 * multipart the total of all parts is capped at the body limit (→ 413), since
 * per-file limits alone would let many parts add up past it. Image parts are
 * spooled to files as they arrive (upload-spool.ts); on any refusal here the
 * files already written are removed before the error is thrown.
 */
export async function readSubmitBody(req: FastifyRequest, bodyLimit: number, spool: UploadSpool): Promise<SubmitBody> {
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  if (ct.startsWith('application/json')) return { body: req.body, files: [], release: nothing };
  if (!ct.startsWith('multipart/form-data')) {
    throw errors.unsupportedMediaType(req.headers['content-type'], ['application/json', 'multipart/form-data']);
  }
  const files: SubmittedFile[] = [];
  try {
    const body = await readMultipart(req, bodyLimit, spool, files);
    return { body, files, release: () => spool.release(files) };
  } catch (e) {
    await spool.release(files);
    if (isApiError(e) || String((e as { code?: unknown }).code ?? '').startsWith('FST_')) throw e;
    if (e instanceof SpoolLimitExceeded) throw errors.bodyTooLarge(bodyLimit);
    // The spool's own file errors (a full scratch disk) are the server's, answered as such (error-handler.ts).
    if (typeof (e as { syscall?: unknown }).syscall === 'string') throw e;
    // busboy's own parse errors (no boundary, truncated body) are the client's fault, not ours.
    throw errors.invalid('invalid_multipart', 'The multipart body is malformed or incomplete.');
  }
}

/** The fields as the schema reads them; image parts are appended to `files` as each is spooled (so a failure can remove them). */
async function readMultipart(req: FastifyRequest, bodyLimit: number, spool: UploadSpool, files: SubmittedFile[]): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  const imageStrings: string[] = [];
  const references: string[] = [];
  let total = 0;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      const reference = REFERENCE_FIELDS.has(part.fieldname);
      if (!FILE_FIELDS.has(part.fieldname) && !reference) {
        // Read to its end (and dropped) so the refusal is answered after the body, not over a half-sent one.
        try {
          for await (const _chunk of part.file) { /* dropped */ }
        } catch { /* refused below either way */ }
        throw errors.invalidField(part.fieldname, `File part "${part.fieldname}" is not expected; send the image as "images" (or "input_reference"), reference images as "reference_images".`, 'unexpected_file');
      }
      if (reference) {
        // Reference parts join the text references as data: URIs (one rule set for both), so they are read into memory.
        const data = await part.toBuffer();
        total += data.length;
        if (total > bodyLimit) throw errors.bodyTooLarge(bodyLimit);
        references.push(referenceUri(data, part.mimetype));
        continue;
      }
      const file = await spool.spool(part.file, bodyLimit - total, part.mimetype || null);
      files.push(file);
      total += file.size;
      // busboy stops a part at the per-file limit and marks it truncated; @fastify/multipart then throws on the next part.
      if (part.file.truncated) throw errors.bodyTooLarge(bodyLimit);
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
  return fields;
}
