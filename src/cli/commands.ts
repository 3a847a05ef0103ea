import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import type { openStore } from '../store.ts';
import { createKeyService } from '../domain/keys.ts';
import { createCreditService, MAX_GRANT } from '../domain/credits.ts';
import { createWebhookService } from '../domain/webhooks.ts';
import { isApiError } from '../domain/errors.ts';
import { UsageError } from './usage-error.ts';
import { CLIENT_COMMANDS, processIO, runClientCommand } from './client-commands.ts';
import { commandHelp, generalUsage, helpRequest } from './help.ts';
import { negativeNumbersAsPositionals } from './args.ts';
import { credits as creditCount } from './format.ts';

type Store = Awaited<ReturnType<typeof openStore>>;
const ADMIN_COMMANDS = new Set(['serve', 'keys', 'credits', 'channels']);

/**
 * Returns the exit code; `serve` resolves only when the server has shut down.
 * The server's configuration is read only by the commands that use it: a client
 * command on a machine with a half-configured (or invalid) server environment still works.
 */
export async function runCli(argv: string[], loadServerConfig: () => Config, prog = 'reelay'): Promise<number> {
  const help = helpRequest(argv);
  if (help) {
    process.stdout.write(`${commandHelp(help.topic, prog)}\n`);
    return 0;
  }
  const [command, sub, ...rest] = argv;
  if (!command) {
    process.stderr.write(`${generalUsage(prog)}\n`);
    return 2;
  }
  // Client commands talk to a server over HTTP; `credits` alone is the caller's balance, `credits grant|show` the admin ones.
  if (CLIENT_COMMANDS.has(command) && (command !== 'credits' || !sub || sub.startsWith('-'))) return runClientCommand(command, argv.slice(1), processIO(prog));
  if (!ADMIN_COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"`);
  const config = loadServerConfig();
  if (command === 'serve') {
    const { values } = parseArgs({ args: argv.slice(1), options: { demo: { type: 'boolean', default: false }, role: { type: 'string' } }, strict: true });
    const role = values.role ?? config.role;
    if (role !== 'api' && role !== 'worker' && role !== 'all') throw new UsageError(`--role must be api, worker or all (got "${role}")`);
    // Loaded here so the other commands do not pay for the server's dependencies at startup.
    const { serve } = await import('./serve.ts');
    return serve(Object.freeze({ ...config, role }), { demo: values.demo ?? false });
  }
  if (command === 'keys') return keysCommand(sub, rest, config, prog);
  if (command === 'credits') return creditsCommand(sub, rest, config);
  const { channelsCommand } = await import('./channels.ts');
  return channelsCommand(sub, rest, config, (s) => process.stdout.write(s));
}

/** Open the store, run one admin action, always close; domain errors become exit code 1. */
async function withStore(config: Config, fn: (store: Store) => Promise<number>): Promise<number> {
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
  if (sub !== 'grant' && sub !== 'show') throw new UsageError(`unknown credits subcommand "${sub ?? ''}"`);
  // AMOUNT may be negative: `credits grant KEY -200` adjusts down, with or without a `--` before it.
  const { values, positionals } = parseArgs({
    args: negativeNumbersAsPositionals(args, new Set(['--note'])), allowPositionals: true, strict: true,
    options: { note: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [keyId, amountArg, ...extra] = positionals;
  if (!keyId || (sub === 'grant' && amountArg === undefined)) throw new UsageError(`credits ${sub} needs ${sub === 'grant' ? 'KEY_ID AMOUNT' : 'KEY_ID'}`);
  if (extra.length || (sub === 'show' && amountArg !== undefined)) throw new UsageError(`credits ${sub} takes only ${sub === 'grant' ? 'KEY_ID AMOUNT' : 'KEY_ID'}`);
  const amount = parseCredits(amountArg, 'AMOUNT');
  return withStore(config, async (store) => {
    const credits = createCreditService(store, Date.now);
    if (amount !== undefined) {
      const balance = await credits.grant(keyId, amount, values.note ?? null);
      process.stdout.write(values.json ? `${JSON.stringify({ key_id: keyId, balance })}\n`
        : `${keyId}: ${amount < 0 ? `took ${creditCount(-amount)}` : `granted ${creditCount(amount)}`} credits; balance ${creditCount(balance)} credits\n`);
      return 0;
    }
    const s = await credits.summary({ keyId }, 20);
    if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
    else {
      process.stdout.write(`${keyId}: balance ${s.balance} credits (${s.reserved_in_flight} reserved by tasks in flight)\n`);
      for (const e of s.entries) process.stdout.write(`  ${new Date(e.created_at * 1000).toISOString()}  ${e.kind.padEnd(7)} ${String(e.amount).padStart(8)}  → ${e.balance_after}  ${e.task_id ?? e.note ?? ''}\n`);
    }
    return 0;
  });
}

type KeyAction = (store: Store) => Promise<number>;

/** `keys …`: the command line is checked before the store is opened. */
async function keysCommand(sub: string | undefined, args: string[], config: Config, prog: string): Promise<number> {
  return withStore(config, keyAction(sub, args, prog));
}

function keyAction(sub: string | undefined, args: string[], prog: string): KeyAction {
  const json = { type: 'boolean', default: false } as const;
  const keysOf = (store: Store) => createKeyService(store.keys, Date.now);
  if (sub === 'create') {
    const { values } = parseArgs({ args, options: { name: { type: 'string' }, credits: { type: 'string' }, json }, strict: true });
    if (!values.name) throw new UsageError('keys create needs --name NAME');
    const initial = parseCredits(values.credits, '--credits') ?? 0;
    if (initial < 0) throw new UsageError('--credits must not be negative');
    // Checked before the key exists, so a refused grant never leaves a key behind.
    if (initial > MAX_GRANT) throw new UsageError(`--credits must be at most ${MAX_GRANT}`);
    return async (store) => {
      const k = await keysOf(store).create(values.name!);
      if (initial) await createCreditService(store, Date.now).grant(k.id, initial, 'initial grant');
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ id: k.id, key: k.key, webhook_secret: k.webhook_secret })}\n`);
        return 0;
      }
      process.stdout.write(`Created key ${k.id} (${k.name}) with ${creditCount(initial)} credits. It is shown only once:\n\n  API key:        ${k.key}\n  webhook secret: ${k.webhook_secret}\n`);
      // Without credits every submit answers 402: say so now, with the command that fixes it.
      if (!initial) process.stdout.write(`\nIt has 0 credits, so a submit answers 402 until you grant some:\n  ${prog} credits grant ${k.id} 5000\n`);
      return 0;
    };
  }
  if (sub === 'list') {
    const { values } = parseArgs({ args, options: { json }, strict: true });
    return async (store) => {
      const all = await keysOf(store).list();
      if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else for (const k of all) process.stdout.write(`${k.id}\t${k.prefix}…\t${k.revoked_at ? 'revoked' : 'active'}\t${String(k.balance).padStart(10)} credits\t${k.name}\n`);
      return 0;
    };
  }
  if (sub === 'rotate-webhook-secret') {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'overlap-hours': { type: 'string' }, json }, strict: true });
    const id = positionals[0];
    if (!id || positionals.length > 1) throw new UsageError('keys rotate-webhook-secret needs exactly one KEY_ID');
    const hours = values['overlap-hours'] === undefined ? 24 : Number(values['overlap-hours']);
    if (!Number.isFinite(hours) || hours < 0) throw new UsageError('--overlap-hours must be a non-negative number');
    return async (store) => {
      const r = await createWebhookService(store, Date.now, () => {}).rotateSecret(id, Math.round(hours * 3600_000));
      process.stdout.write(values.json ? `${JSON.stringify(r)}\n`
        : `New webhook secret for ${id} (shown once): ${r.webhook_secret}\nThe previous secret also signs until ${new Date(r.previous_secret_valid_until * 1000).toISOString()}.\n`);
      return 0;
    };
  }
  if (sub === 'revoke') {
    const { positionals } = parseArgs({ args, allowPositionals: true, options: {}, strict: true });
    const id = positionals[0];
    if (!id || positionals.length > 1) throw new UsageError('keys revoke needs exactly one KEY_ID');
    return async (store) => {
      await keysOf(store).revoke(id);
      process.stdout.write(`Revoked ${id}.\n`);
      return 0;
    };
  }
  if (!sub || sub.startsWith('-')) throw new UsageError('keys needs a subcommand: create, list, revoke or rotate-webhook-secret');
  throw new UsageError(`unknown keys subcommand "${sub}"`);
}
