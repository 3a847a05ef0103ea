import { setFlagsFromString } from 'node:v8';

/**
 * How the server's V8 decides when to run a major (mark-compact) GC.
 *
 * Node 24's V8 counts every byte of Buffer memory allocated since the last
 * major GC as old-generation growth. The server's live heap is ~35–40 MB and
 * its old generation may grow to about twice that, so a submit that reads an
 * ~11.5 MB image (its socket chunks plus the assembled body: ~23 MB of
 * Buffers) used up the headroom and started a major GC: measured with
 * --trace-gc in the hostile bench, nearly every mark-compact (53 a minute
 * with one key submitting 4k PNGs) began inside such a submit, each pausing
 * the event loop 5–20 ms for every other key's requests.
 *
 * With external memory accounted in V8's global limit instead (the flag
 * below), Buffers count against a limit that grows with them and the heap:
 * 11 mark-compacts a minute under the same load, at ~50 MB more peak RSS.
 * The flag is read when V8 decides, so setting it at start-up works (checked
 * by test/integration/gc-tuning.test.ts); older V8s (Node 22) lack it and
 * keep their behaviour.
 */
export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

export function tuneGarbageCollector(): boolean {
  if (Number(process.versions.v8.split('.')[0]) < 13) return false;
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return true;
}
