import { ConfigError, loadConfig } from './config.ts';
import { runCli, UsageError } from './cli/commands.ts';

/** `reelay <command>`: the one entry point for the server and the admin CLI. */
async function main(argv: string[]): Promise<number> {
  try {
    const config = loadConfig();
    return await runCli(argv, config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof UsageError || String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`reelay: ${(e as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`reelay: ${(e as Error).message}\n`);
    return 1;
  }
}

export const USAGE = `Usage: reelay <command>

  serve [--role api|worker|all] [--demo]   start the server (default role all: API + worker); --demo prints a dev key and renders a demo video
  keys create --name NAME [--credits N] [--json]   create an API key (shown once), optionally with credits
  keys list [--json]                 list keys with their balances
  keys revoke KEY_ID                 revoke a key
  keys rotate-webhook-secret KEY_ID [--overlap-hours H]   new signing secret; the old one also signs for H hours (24)
  credits grant KEY_ID AMOUNT [--note TEXT]   grant credits (a negative AMOUNT adjusts down)
  credits show KEY_ID [--json]       balance and recent ledger entries

Configuration comes from the environment (PORT, HOST, REELAY_DATA_DIR, …); see README.md.`;

main(process.argv.slice(2)).then((code) => {
  if (code !== null) process.exitCode = code;
});
