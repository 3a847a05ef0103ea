import { Readable } from 'node:stream';
import type { GoogleOperation } from './views.ts';

/** Stands in for the video in the rendered JSON; whatever the operation holds, only the last occurrence is replaced. */
const PLACEHOLDER = 'reelay:inline-video';

/** The value to give `toVertexOperation` for the video: streamVertexOperation replaces it with the bytes. */
export const INLINE_VIDEO = PLACEHOLDER;

/**
 * A done Vertex operation with its MP4 inline (`bytesBase64Encoded`), written
 * as a stream: the JSON around the video is rendered once, and the video is
 * base64-encoded chunk by chunk as the client reads. Memory stays at a few
 * chunks per response, however large the video (a 4k clip is 133 MB, 177 MB
 * as base64) and however many clients poll at once.
 */
export function streamVertexOperation(op: GoogleOperation, video: AsyncIterable<Buffer>): Readable {
  const json = JSON.stringify(op);
  const quoted = JSON.stringify(PLACEHOLDER);
  const at = json.lastIndexOf(quoted);
  if (at < 0) throw new Error('the operation has no inline video to stream');
  // The quotes of the placeholder stay: the base64 text goes between them.
  const head = json.slice(0, at + 1);
  const tail = json.slice(at + quoted.length - 1);
  return Readable.from(base64Json(head, video, tail), { objectMode: false });
}

async function* base64Json(head: string, video: AsyncIterable<Buffer>, tail: string): AsyncGenerator<Buffer> {
  yield Buffer.from(head);
  // base64 maps 3 bytes to 4 characters: encode whole triples, carry the 0–2 bytes left into the next chunk
  // (completed from its first bytes, so no chunk is ever copied whole).
  let carry: Buffer = Buffer.alloc(0);
  for await (const data of video) {
    let chunk: Buffer = data;
    if (carry.length) {
      const take = Math.min(3 - carry.length, chunk.length);
      carry = Buffer.concat([carry, chunk.subarray(0, take)]);
      chunk = chunk.subarray(take);
      if (carry.length < 3) continue;
      yield Buffer.from(carry.toString('base64'), 'latin1');
      carry = Buffer.alloc(0);
    }
    const whole = chunk.length - (chunk.length % 3);
    if (whole > 0) yield Buffer.from(chunk.subarray(0, whole).toString('base64'), 'latin1');
    carry = Buffer.from(chunk.subarray(whole));
  }
  if (carry.length) yield Buffer.from(carry.toString('base64'), 'latin1');
  yield Buffer.from(tail);
}
