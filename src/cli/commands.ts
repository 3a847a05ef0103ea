import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import type { openStore } from '../store.ts';
import { createKeyService } from '../domain/keys.ts';
import { createCreditService } from '../domain/credits.ts';
import { createWebhookService } from '../domain/webhooks.ts';
import { isApiError } from '../domain/errors.ts';
import { UsageError } from './usage-error.ts';
import { CLIENT_COMMANDS, processIO, runClientCommand } from './client-commands.ts';

export { UsageError };

/**
 * Returns the exit code; `serve` resolves only when the server has shut down.
 * The server's configuration is read only by the commands that use it: a client
 * command on a machine with a half-configured (or invalid) server environment still works.
 */
export async function runCli(argv: string[], loadServerConfig: () => Config): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') throw new UsageError('no command given');
  // Client commands talk to a server over HTTP; `credits` alone is the caller's balance, `credits grant|show` the admin ones.
  if (CLIENT_COMMANDS.has(command) && (command !== 'credits' || !sub || sub.startsWith('-'))) return runClientCommand(command, argv.slice(1), processIO());
  const config = loadServerConfig();
  if (command === 'serve') {
    const { values } = parseArgs({ args: argv.slice(1), options: { demo: { type: 'boolean', default: false }, role: { type: 'string' } }, strict: true });
    const role = values.role ?? config.role;
    if (role !== 'api' && role !== 'worker' && role !== 'all') throw new UsageError(`--role must be api, worker or all (got "${role}")`);
    // Loaded here so the other commands do not pay for the server's dependencies at startup.
    const { serve } = await import('./serve.ts');
    return serve(Object.freeze({ ...config, role }), { demo: values.demo ?? false });
  }
  if (command === 'keys') return keysCommand(sub, rest, config);
  if (command === 'credits') return creditsCommand(sub, rest, config);
  if (command === 'channels') {
    const { channelsCommand } = await import('./channels.ts');
    return channelsCommand(sub, rest, config, (s) => process.stdout.write(s));
  }
  throw new UsageError(`unknown command "${command}"`);
}

/** Open the store, run one admin action, always close; domain errors become exit code 1. */
async function withStore(config: Config, fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<number>): Promise<number> {
  const store = await (await import('../store.ts')).openStore(config);
  try {
    return await fn(store);
  } catch (e) {
    if (isApiError(e)) {
      process.stderr.write(`reelay: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await store.db.close();
  }
}

function parseCredits(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`${what} must be a whole number of credits (got ${JSON.stringify(v)})`);
  return Number(v);
}

async function creditsCommand(sub: string | undefined, args: string[], config: Config): Promise<number> {
  return withStore(config, async (store) => {
    const credits = createCreditService(store, Date.now);
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { note: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
    const keyId = positionals[0];
    if (!keyId) throw new UsageError(`credits ${sub ?? ''} needs KEY_ID`);
    if (sub === 'grant') {
      const amount = parseCredits(positionals[1], 'AMOUNT');
      if (amount === undefined) throw new UsageError('credits grant needs KEY_ID AMOUNT');
      const balance = await credits.grant(keyId, amount, values.note ?? null);
      process.stdout.write(values.json ? `${JSON.stringify({ key_id: keyId, balance })}\n` : `${keyId}: balance ${balance} credits\n`);
      return 0;
    }
    if (sub === 'show') {
      const s = await credits.summary({ keyId }, 20);
      if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else {
        process.stdout.write(`${keyId}: balance ${s.balance} credits (${s.reserved_in_flight} reserved by tasks in flight)\n`);
        for (const e of s.entries) process.stdout.write(`  ${new Date(e.created_at * 1000).toISOString()}  ${e.kind.padEnd(7)} ${String(e.amount).padStart(8)}  → ${e.balance_after}  ${e.task_id ?? e.note ?? ''}\n`);
      }
      return 0;
    }
    throw new UsageError(`unknown credits subcommand "${sub ?? ''}"`);
  });
}

async function keysCommand(sub: string | undefined, args: string[], config: Config): Promise<number> {
  return withStore(config, async (store) => {
    const keys = createKeyService(store.keys, Date.now);
    if (sub === 'create') {
      const { values } = parseArgs({ args, options: { name: { type: 'string' }, credits: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
      if (!values.name) throw new UsageError('keys create needs --name NAME');
      const initial = parseCredits(values.credits, '--credits');
      if (initial !== undefined && initial < 0) throw new UsageError('--credits must not be negative');
      const k = await keys.create(values.name);
      if (initial) await createCreditService(store, Date.now).grant(k.id, initial, 'initial grant');
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ id: k.id, key: k.key, webhook_secret: k.webhook_secret })}\n`);
      } else {
        process.stdout.write(`Created key ${k.id} (${k.name}). It is shown only once:\n\n  API key:        ${k.key}\n  webhook secret: ${k.webhook_secret}\n`);
      }
      return 0;
    }
    if (sub === 'list') {
      const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
      const all = await keys.list();
      if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else for (const k of all) process.stdout.write(`${k.id}\t${k.prefix}…\t${k.revoked_at ? 'revoked' : 'active'}\t${String(k.balance).padStart(10)} credits\t${k.name}\n`);
      return 0;
    }
    if (sub === 'rotate-webhook-secret') {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'overlap-hours': { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
      const id = positionals[0];
      if (!id) throw new UsageError('keys rotate-webhook-secret needs KEY_ID');
      const hours = values['overlap-hours'] === undefined ? 24 : Number(values['overlap-hours']);
      if (!Number.isFinite(hours) || hours < 0) throw new UsageError('--overlap-hours must be a non-negative number');
      const r = await createWebhookService(store, Date.now, () => {}).rotateSecret(id, Math.round(hours * 3600_000));
      process.stdout.write(values.json ? `${JSON.stringify(r)}\n`
        : `New webhook secret for ${id} (shown once): ${r.webhook_secret}\nThe previous secret also signs until ${new Date(r.previous_secret_valid_until * 1000).toISOString()}.\n`);
      return 0;
    }
    if (sub === 'revoke') {
      const id = args[0];
      if (!id) throw new UsageError('keys revoke needs KEY_ID');
      await keys.revoke(id);
      process.stdout.write(`Revoked ${id}.\n`);
      return 0;
    }
    throw new UsageError(`unknown keys subcommand "${sub ?? ''}"`);
  });
}
