import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256InSlices } from '../../src/domain/digest.ts';

describe('sha256InSlices', () => {
  it('gives the one-shot SHA-256 (stored request hashes stay comparable) for sizes around the slice', async () => {
    for (const size of [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 2.5 * (1 << 20)]) {
      const data = randomBytes(size);
      expect(await sha256InSlices(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('lets other work run between slices of a large buffer', async () => {
    const order: string[] = [];
    const hashing = sha256InSlices(Buffer.alloc(4 << 20, 7)).then(() => order.push('hashed'));
    setImmediate(() => order.push('other request'));
    await hashing;
    expect(order).toEqual(['other request', 'hashed']);
  });
});
