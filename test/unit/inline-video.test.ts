import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INLINE_VIDEO, streamVertexOperation } from '../../src/http/compat/inline-video.ts';
import { toVertexOperation } from '../../src/http/compat/views.ts';
import type { TaskObject } from '../../src/domain/task-schemas.ts';

async function* chunked(data: Buffer, sizes: number[]) {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(at, at + n);
    at += n;
  }
}

const collect = async (r: AsyncIterable<Buffer>) => {
  const parts: Buffer[] = [];
  for await (const p of r) parts.push(Buffer.from(p));
  return Buffer.concat(parts).toString('utf8');
};

describe('streamVertexOperation', () => {
  const task = { id: 't1', status: 'succeeded', error: null } as unknown as TaskObject;

  it.each([[[1]], [[2]], [[3]], [[1, 2, 7, 64]], [[65_536]], [[5, 0, 4]]])('renders the same JSON as encoding it whole (chunks of %j bytes)', async (sizes) => {
    for (const size of [0, 1, 2, 3, 4, 1000, 100_003]) {
      const video = randomBytes(size);
      const name = `projects/p/locations/l/publishers/google/models/m/operations/t1`;
      const streamed = await collect(streamVertexOperation(toVertexOperation(task, name, INLINE_VIDEO), chunked(video, sizes.filter((n) => n > 0))));
      expect(streamed).toBe(JSON.stringify(toVertexOperation(task, name, video.toString('base64'))));
    }
  });

  it('only the video slot is replaced, even when the operation name carries the placeholder', async () => {
    const name = `projects/${INLINE_VIDEO}/operations/t1`;
    const video = randomBytes(10);
    const streamed = await collect(streamVertexOperation(toVertexOperation(task, name, INLINE_VIDEO), chunked(video, [4])));
    expect(JSON.parse(streamed)).toMatchObject({ name, response: { videos: [{ bytesBase64Encoded: video.toString('base64') }] } });
  });
});
