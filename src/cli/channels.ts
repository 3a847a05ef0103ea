import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { loadCatalog } from '../domain/catalog.ts';
import { buildChannels } from '../providers/upstreams.ts';
import { createChannelHealth } from '../providers/upstream/channel-health.ts';
import { channelStatuses, testChannels, type ChannelStatus, type ChannelTestResult } from '../providers/upstream/channel-report.ts';
import { table } from './format.ts';
import { UsageError } from './usage-error.ts';

/**
 * `reelay channels [--json]`: each channel's health as every node sees it (the
 * database), and `reelay channels test [NAME] [--json]`: a live check of
 * credentials and mapped models that generates nothing. `reset NAME` ends a
 * rest by hand once the operator fixed the channel.
 */
export async function channelsCommand(sub: string | undefined, args: string[], config: Config, out: (s: string) => void): Promise<number> {
  const argv = sub && !sub.startsWith('-') ? args : [...(sub ? [sub] : []), ...args];
  const action = sub && !sub.startsWith('-') ? sub : 'list';
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false } }, strict: true });
  const { readFile } = await import('node:fs/promises');
  const catalog = loadCatalog(config.catalogFile ? JSON.parse(await readFile(config.catalogFile, 'utf8')) : undefined);
  const channels = buildChannels(config.upstreams, { policy: { allowPrivate: config.allowPrivateUrls }, publicBase: () => config.publicUrl ?? `http://${config.host}:${config.port}` });
  if (action === 'test') {
    const name = positionals[0];
    if (name !== undefined && !channels.some((c) => c.name === name)) throw new UsageError(`no channel named "${name}" (configured: ${channels.map((c) => c.name).join(', ') || 'none'})`, { showUsage: false });
    const results = await testChannels(channels, catalog, name, config.upstreams.requestTimeoutMs);
    out(values.json ? `${JSON.stringify(results)}\n` : renderTests(results));
    return results.every((r) => r.ok) ? 0 : 1;
  }
  const store = await (await import('../store.ts')).openStore(config);
  try {
    const health = createChannelHealth(store.channelHealth, config.upstreams, Date.now);
    if (action === 'reset') {
      const name = positionals[0];
      if (!name) throw new UsageError('channels reset needs NAME');
      const n = await store.channelHealth.clear(name);
      out(values.json ? `${JSON.stringify({ channel: name, cleared: n })}\n` : `${name}: health cleared (${n} row${n === 1 ? '' : 's'}).\n`);
      return 0;
    }
    if (action !== 'list') throw new UsageError(`unknown channels subcommand "${action}"`);
    const statuses = await channelStatuses(channels, catalog, health, await store.tasks.upstreamInFlight(), Date.now());
    out(values.json ? `${JSON.stringify(statuses)}\n` : renderStatuses(statuses));
    return 0;
  } finally {
    await store.db.close();
  }
}

function renderStatuses(list: ChannelStatus[]): string {
  if (list.length === 0) return 'No upstream channels are configured: every model renders locally (provider "local").\n';
  const rows = list.map((c) => [
    c.name, c.provider, c.state, c.rest_until ?? '-', String(c.in_flight),
    c.last_error ? `${c.last_error.code} at ${c.last_error.at}: ${c.last_error.message}` : '-',
  ]);
  const models = list.flatMap((c) => c.models.map((m) => [c.name, m.model, m.upstream_model, m.resting_until ? `resting until ${m.resting_until}` : 'ok']));
  return `${table(['CHANNEL', 'PROVIDER', 'STATE', 'REST UNTIL', 'IN FLIGHT', 'LAST ERROR'], rows)}\n\n${table(['CHANNEL', 'MODEL', 'UPSTREAM MODEL', 'STATE'], models)}\n`;
}

function renderTests(list: ChannelTestResult[]): string {
  if (list.length === 0) return 'No upstream channels are configured.\n';
  return `${list.map((r) => {
    const lines = [`${r.name} (${r.provider}): ${r.ok ? 'ok' : 'PROBLEM'}`, `  credentials  ${r.credentials.ok ? 'ok' : 'refused'}  ${r.credentials.detail}`];
    for (const m of r.models) lines.push(`  ${m.upstreamModel.padEnd(28)} ${m.ok === null ? 'unchecked' : m.ok ? 'ok' : 'MISSING'}  ${m.detail}`);
    return lines.join('\n');
  }).join('\n\n')}\n`;
}
