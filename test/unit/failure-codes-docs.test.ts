import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '../../src/domain/failures.ts';

describe('the failure-code catalogue', () => {
  it('docs/api.md lists every code a task can end with, and no other', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('`error.code` values on failed and cancelled tasks'), doc.indexOf('### Progress'));
    const listed = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(FAILURE_CODES).sort());
  });
});
