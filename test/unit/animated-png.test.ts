import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAnimatedPng, isAnimatedPngFile, pngScanner } from '../../src/infra/images/inspect-image.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, CRC (the CRC is right, though the scanner never reads it). */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

const frames = (n: number) => { const b = Buffer.alloc(8); b.writeUInt32BE(n, 0); return b; };
/** Ancillary text chunks of varied lengths: their headers land across every block boundary sooner or later. */
const texts = (count: number) => Array.from({ length: count }, (_, i) => chunk('tEXt', Buffer.alloc(1 + ((i * 7919) % 3001), 0x61)));
const png = (...chunks: Buffer[]) => Buffer.concat([SIGNATURE, chunk('IHDR', Buffer.alloc(13)), ...chunks, chunk('IDAT', Buffer.alloc(100)), chunk('IEND', Buffer.alloc(0))]);

/** The scanner fed `bytes` in blocks of `size`, as the file reader feeds it; end of input is "not animated". */
function scanInBlocks(bytes: Buffer, size: number): boolean {
  const scan = pngScanner();
  for (let at = 0; at < bytes.length; at += size) {
    const answer = scan(bytes.subarray(at, at + size));
    if (answer !== undefined) return answer;
  }
  return false;
}

describe('animated PNG (APNG) detection, in memory and from a file', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'reelay-apng-unit-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const cases: [string, Buffer, boolean][] = [
    ['a still PNG', png(), false],
    ['acTL with two frames', png(chunk('acTL', Buffer.concat([frames(2), Buffer.alloc(4)]))), true],
    ['acTL with one frame (a still image)', png(chunk('acTL', Buffer.concat([frames(1), Buffer.alloc(4)]))), false],
    ['acTL after ~400 KB of ancillary chunks', png(...texts(260), chunk('acTL', Buffer.concat([frames(3), Buffer.alloc(4)]))), true],
    ['~400 KB of ancillary chunks, no acTL', png(...texts(260)), false],
    ['acTL after the first IDAT does not count', Buffer.concat([png(), chunk('acTL', Buffer.concat([frames(2), Buffer.alloc(4)]))]), false],
    ['not a PNG', Buffer.from('GIF89a not a png at all'), false],
    ['cut inside the acTL header', png(chunk('acTL', Buffer.concat([frames(2), Buffer.alloc(4)]))).subarray(0, 8 + 25 + 6), false],
    ['a chunk length past the end', Buffer.concat([SIGNATURE, Buffer.from([0x7f, 0xff, 0xff, 0xff]), Buffer.from('tEXt')]), false],
  ];

  it.each(cases)('%s', async (_name, bytes, animated) => {
    expect(isAnimatedPng(bytes)).toBe(animated);
    // Fed in blocks of every awkward size: one byte, headers split in two, and the file reader's 64 KB.
    for (const size of [1, 5, 8, 11, 12, 13, 4096, 65_536]) expect(scanInBlocks(bytes, size)).toBe(animated);
    const file = join(dir, `${Math.random().toString(36).slice(2)}.png`);
    await writeFile(file, bytes);
    expect(await isAnimatedPngFile(file)).toBe(animated);
  });
});
