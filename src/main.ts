import { ConfigError, loadConfig } from './config.ts';
import { runCli, UsageError } from './cli/commands.ts';

/** `reelay <command>`: the one entry point for the server, the admin CLI and the API client commands. */
async function main(argv: string[]): Promise<number> {
  try {
    return await runCli(argv, () => loadConfig());
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
  channels [--json]                  upstream channels: health, rest-until, last error, models, jobs in flight
  channels test [NAME] [--json]      live check of each channel's credentials and models (generates nothing)
  channels reset NAME                end a channel's rest once you fixed it

Client commands (talk to a running server; REELAY_BASE_URL, default http://127.0.0.1:8080, and REELAY_API_KEY,
or --base-url URL --api-key KEY; --json prints machine-readable output):
  generate --image FILE --prompt TEXT [--last-frame FILE] [--model M] [--size S] [--seconds N] [--aspect-ratio R]
           [--negative-prompt TEXT] [--seed N] [--off-peak] [--is-rec] [--no-audio] [--callback-url URL]
           [--wait] [--out video.mp4]   submit a video; --wait shows progress, --out also downloads it
  status TASK_ID                     one task
  cancel TASK_ID                     cancel a queued or processing task
  tasks [--limit N] [--status S]     your tasks, newest first
  credits                            your key's balance and recent ledger entries
  Exit codes: 0 ok, 2 usage error, 3 API error, 4 the task failed or was cancelled.

Configuration comes from the environment (PORT, HOST, REELAY_DATA_DIR, …); see README.md.`;

main(process.argv.slice(2)).then((code) => {
  if (code !== null) process.exitCode = code;
});
