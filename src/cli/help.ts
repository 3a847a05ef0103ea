/**
 * The CLI's help: `reelay --help` (every command), `reelay <command> --help`
 * (one command's options), and the synopsis a usage error repeats. `prog` is
 * the name the person typed — `reelay`, `./bin/reelay` or `npm run reelay --` —
 * so every line printed here can be pasted back as it is.
 */

/** Commands with subcommands; `help` for `keys create` is the `keys create` topic. */
const SUBCOMMANDS: Record<string, readonly string[]> = {
  keys: ['create', 'list', 'revoke', 'rotate-webhook-secret'],
  credits: ['grant', 'show'],
  channels: ['test', 'reset'],
};

interface Topic { usage: string[]; about: string; options?: string; client?: boolean }

const TOPICS: Record<string, Topic> = {
  serve: {
    usage: ['serve [--role api|worker|all] [--demo]'],
    about: 'Start the server; it runs until Ctrl-C or SIGTERM. Running renders then get 10 s to finish, or go back to the\nqueue for the next start: nothing fails because the server stopped. A second Ctrl-C quits at once.',
    options: `  --role R    api (HTTP only), worker (renders only) or all (the default, or REELAY_ROLE)
  --demo      also print a dev API key and render a demo video (what \`npm start\` does)

Configuration comes from the environment: PORT (8080), HOST (127.0.0.1), REELAY_DATA_DIR (./data), … (README.md).`,
  },
  keys: {
    usage: ['keys create --name NAME [--credits N] [--json]', 'keys list [--json]', 'keys revoke KEY_ID', 'keys rotate-webhook-secret KEY_ID [--overlap-hours H] [--json]'],
    about: "API keys in the server's store (read from the same configuration as the server: REELAY_DATA_DIR or DATABASE_URL).",
  },
  'keys create': {
    usage: ['keys create --name NAME [--credits N] [--json]'],
    about: 'Create an API key; the key and its webhook secret are shown only once. A key starts with 0 credits\nunless --credits is given, and a submit with too few credits answers 402.',
    options: `  --name NAME   a label for the key
  --credits N   credits to grant it now
  --json        print only {"id","key","webhook_secret"}`,
  },
  'keys list': { usage: ['keys list [--json]'], about: 'Every key with its prefix, state and balance (the keys themselves are never shown again).' },
  'keys revoke': { usage: ['keys revoke KEY_ID'], about: 'Revoke a key: its calls answer 401 from now on.' },
  'keys rotate-webhook-secret': {
    usage: ['keys rotate-webhook-secret KEY_ID [--overlap-hours H] [--json]'],
    about: 'A new webhook signing secret, shown once. The previous one also signs for H hours (default 24),\nso receivers can switch without missing a callback.',
  },
  credits: {
    usage: ['credits [--json]', 'credits grant KEY_ID AMOUNT [--note TEXT] [--json]', 'credits show KEY_ID [--json]'],
    about: "`credits` alone is a client command: the calling key's balance and recent ledger, from a running server.\n`credits grant` and `credits show` are admin commands on the server's store.",
    client: true,
  },
  'credits grant': {
    usage: ['credits grant KEY_ID AMOUNT [--note TEXT] [--json]'],
    about: 'Add AMOUNT credits to a key. A negative AMOUNT takes credits away (`credits grant key_… -200`),\nnever below 0.',
  },
  'credits show': { usage: ['credits show KEY_ID [--json]'], about: "A key's balance, what tasks in flight have reserved, and its 20 latest ledger entries." },
  channels: {
    usage: ['channels [--json]', 'channels test [NAME] [--json]', 'channels reset NAME [--json]'],
    about: 'The upstream channels configured (REELAY_UPSTREAM_CHANNELS, GEMINI_API_KEY, …): health, rest-until,\nlast error, model map and jobs in flight, as every node sees them.',
  },
  'channels test': {
    usage: ['channels test [NAME] [--json]'],
    about: "A live check of each channel's credentials and mapped models (or only NAME's); it generates nothing.\nExit code 1 when a channel has a problem.",
  },
  'channels reset': { usage: ['channels reset NAME [--json]'], about: "End a channel's rest by hand once you fixed it." },
  generate: {
    usage: ['generate --image FILE --prompt TEXT [options]', 'generate --extend TASK_ID --prompt TEXT [options]'],
    about: 'Submit a video to a running server. Without --wait or --out it prints the task id and returns.\n'
      + 'With --extend it continues a succeeded task\'s video instead (no --image); the result is the whole, longer video.',
    options: `  --image FILE|URL         the start frame: a file is uploaded, an https:// or data: URL is passed on
  --prompt TEXT            the camera motion to render (with --extend: how the video goes on)
  --last-frame FILE|URL    the end frame (models that take one)
  --reference FILE|URL     a picture of a person, character or product to keep in the video; repeat it
                           for more (Veo 3.1: up to 2 besides the start image; GET /v1/models says per model)
  --extend TASK_ID         continue that succeeded task's video from its last frame; --seconds is what it
                           adds (Veo 3.1: 7), and the aspect ratio is the source's
  --model M                default: the cheapest current model with audio that takes what you gave (as the
                           console; GET /v1/models lists every model); with --extend, the source's model
  --size S                 720p (default), 1080p, 4k, as the model allows
  --seconds N              as the model allows (Veo 3: 4, 6, 8)
  --aspect-ratio R         16:9 or 9:16; default: 9:16 for a portrait image, else 16:9
  --negative-prompt TEXT   what to keep out of the video
  --seed N                 the same seed and inputs render the same local video
  --off-peak               cheaper; runs when the queue is quiet, cancelled with a refund after 48 h
  --is-rec                 let the server optimise the prompt (costs extra credits)
  --no-audio               no audio track
  --callback-url URL       receive a signed webhook when the task ends
  --wait                   wait for the task and show its progress (Ctrl-C stops waiting, not the task)
  --out FILE               wait, then save the MP4 to FILE`,
    client: true,
  },
  status: { usage: ['status TASK_ID [--json]'], about: 'One task: status, progress, credits, and its URL once it succeeded.', client: true },
  cancel: { usage: ['cancel TASK_ID [--json]'], about: 'Cancel a queued or processing task; its credits are refunded.', client: true },
  tasks: {
    usage: ['tasks [--limit N] [--status S] [--json]'],
    about: 'Your tasks, newest first: --limit of them (20), of status S (queued, processing, succeeded, failed, cancelled).',
    client: true,
  },
};

const CLIENT_OPTIONS = `Client commands talk to a running server:
  --base-url URL   default REELAY_BASE_URL, else http://HOST:PORT from the server's settings (http://127.0.0.1:8080)
  --api-key KEY    default REELAY_API_KEY
  --json           machine-readable output on stdout
Exit codes: 0 ok, 2 usage error, 3 API error, 4 the task failed or was cancelled.`;

/** `reelay --help`. */
export function generalUsage(prog: string): string {
  return `Usage: ${prog} <command> [options]

Server and administration (they read the server's configuration: PORT, HOST, REELAY_DATA_DIR, …):
  serve [--role api|worker|all] [--demo]           start the server (API and worker)
  keys create --name NAME [--credits N] [--json]   create an API key (shown once)
  keys list | revoke KEY_ID | rotate-webhook-secret KEY_ID
  credits grant KEY_ID AMOUNT [--note TEXT]        grant credits (a negative AMOUNT takes them away)
  credits show KEY_ID                              a key's balance and ledger
  channels [test [NAME] | reset NAME]              upstream channels: health, live check, end a rest

Client commands (talk to a running server: --base-url or REELAY_BASE_URL, else http://HOST:PORT;
the key is --api-key or REELAY_API_KEY):
  generate --image FILE --prompt TEXT [options]    submit a video; --wait shows progress, --out FILE saves it
  generate --extend TASK_ID --prompt TEXT          continue a succeeded task's video (the whole, longer video)
  status TASK_ID                                   one task
  cancel TASK_ID                                   cancel a queued or processing task
  tasks [--limit N] [--status S]                   your tasks, newest first
  credits                                          your key's balance and ledger

Every command takes --help, and most take --json.
Exit codes: 0 ok, 1 error, 2 usage error, 3 API error, 4 the task failed or was cancelled.`;
}

/** The topic a command line is about: `keys create`, `generate`, … or null (none, or not a command). */
export function topicOf(argv: readonly string[]): string | null {
  const [command, sub] = argv;
  if (!command || !(command in TOPICS)) return null;
  return sub && SUBCOMMANDS[command]?.includes(sub) ? `${command} ${sub}` : command;
}

/**
 * Whether the command line asks for help, and about what: `help [COMMAND…]`,
 * `--help`/`-h` first, or `--help`/`-h` anywhere before a `--`.
 * Returns undefined when it does not ask; null means the general usage.
 */
export function helpRequest(argv: readonly string[]): { topic: string | null } | undefined {
  const [first] = argv;
  if (first === 'help') return { topic: topicOf(argv.slice(1)) };
  if (first === '--help' || first === '-h') return { topic: null };
  const end = argv.indexOf('--');
  const options = end < 0 ? argv : argv.slice(0, end);
  if (options.includes('--help') || options.includes('-h')) return { topic: topicOf(argv) };
  return undefined;
}

function synopsis(topic: string, prog: string): string {
  return `Usage: ${TOPICS[topic]!.usage.map((u) => `${prog} ${u}`).join('\n       ')}`;
}

/** `reelay <command> --help`: the synopsis, what it does, its options. */
export function commandHelp(topic: string | null, prog: string): string {
  const t = topic === null ? undefined : TOPICS[topic];
  if (!t) return generalUsage(prog);
  return [synopsis(topic!, prog), t.about, t.options, t.client ? CLIENT_OPTIONS : undefined].filter(Boolean).join('\n\n');
}

/**
 * What a usage error prints after its message: the command's synopsis and
 * where to read more, never the whole manual. Nothing for an error that is
 * not about how the command is written (a file that cannot be read, no API key).
 */
export function usageHint(argv: readonly string[], prog: string, showUsage: boolean): string {
  if (!showUsage) return '';
  const topic = topicOf(argv);
  if (topic === null) return `Run \`${prog} --help\` for the list of commands.\n`;
  return `${synopsis(topic, prog)}\nRun \`${prog} ${topic} --help\` for its options.\n`;
}

/**
 * How the person started the CLI: bin/reelay says (REELAY_PROG), `npm run reelay`
 * is known by its script name, anything else is the installed `reelay`.
 */
export function cliName(env: Record<string, string | undefined>): string {
  if (env.REELAY_PROG) return env.REELAY_PROG;
  return env.npm_lifecycle_event === 'reelay' ? 'npm run reelay --' : 'reelay';
}
