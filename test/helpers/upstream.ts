import { expect } from 'vitest';
import { makeImage, dataUri } from './images.ts';
import { waitForTask, type TaskJson, type TestServer } from './server.ts';

export interface UpstreamTask extends TaskJson {
  provider: string;
  credits: { reserved: number; charged: number; refunded: number };
  metadata: (TaskJson['metadata'] & { provider?: string; upstream?: { provider: string; id: string }; failover_from?: string[] }) | null;
}

let png: Buffer | null = null;

/** Submit one image-to-video task and return its id. */
export async function submit(s: TestServer, body: Record<string, unknown>): Promise<string> {
  png ??= await makeImage(320, 180, 'png');
  const res = await s.api('/v1/video/generations', { method: 'POST', json: { prompt: 'a slow push in', aspect_ratio: '16:9', images: [dataUri(png)], ...body } });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

export async function runTask(s: TestServer, body: Record<string, unknown>): Promise<UpstreamTask> {
  const id = await submit(s, body);
  return (await waitForTask(s, id, 30_000)).task as UpstreamTask;
}

/** A failed task was refunded in full. */
export function expectFailedAndRefunded(t: UpstreamTask, code: string) {
  expect(t.status).toBe('failed');
  expect(t.error?.code).toBe(code);
  expect(t.credits.reserved).toBeGreaterThan(0);
  expect(t.credits.refunded).toBe(t.credits.reserved);
  expect(t.credits.charged).toBe(0);
}
