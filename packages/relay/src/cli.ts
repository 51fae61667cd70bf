#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { OutboxConfigError, OutboxError, parseDuration } from '@outboxkit/core';
import { migrateCommand } from './commands/migrate.js';
import { deadLettersListCommand, deadLettersReplayCommand } from './commands/dead-letters.js';
import { cleanupCommand } from './commands/cleanup.js';
import { quarantineListCommand, quarantineRetryCommand, quarantineSkipCommand } from './commands/quarantine.js';
import { reconcileCommand } from './commands/reconcile.js';
import { replayCommand } from './commands/replay.js';
import { runCommand } from './commands/run.js';
import { healthCommand, statusCommand } from './commands/status.js';
import { setupLogicalCommand } from './commands/logical-source.js';
import { brokerOptions } from './brokers.js';
import { ENV, intFlag } from './config.js';
import { applyConfigFile, configOption } from './config-file/apply.js';
import { underFlag, type FlagNames } from './flag-errors.js';
import { createLogger } from './logger.js';

// dist/cli.js -> the package's own manifest, which ships with it.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('outbox-relay')
  .description('Publishes committed transactional-outbox events to the broker, at least once, in per-aggregate order.')
  .version(version, '-V, --version', 'print the version of @outboxkit/relay')
  .showHelpAfterError();

function databaseOptions(command: Command): Command {
  return command
    .addOption(configOption())
    .addOption(new Option('--database-url <url>', 'postgres://, mysql://, mariadb://, sqlite: or file: URL').env(ENV.databaseUrl))
    .addOption(new Option('--schema <name>', 'schema (PostgreSQL) or database (MySQL) of the outbox tables').env(ENV.schema))
    .addOption(new Option('--table-prefix <prefix>', 'prefix of the outbox table names (default outbox_)').env(ENV.tablePrefix));
}

/** The flags that make a command serve every tenant (docs/operations.md, "Many tenants"). */
function tenantOptions(command: Command): Command {
  return command
    .option('--tenants <names>', 'comma-separated tenants: schemas (PostgreSQL), databases (MySQL) or file names in the --database-url directory (SQLite)')
    .option('--tenant-pattern <glob>', 'every tenant whose name matches (* and ?), e.g. tenant_*; run re-scans it')
    .option('--tenant-rescan-interval-ms <ms>', 'how often run re-reads the tenants (default 30000)', int('--tenant-rescan-interval-ms'));
}

function int(name: string) {
  const parse = intFlag(name);
  return (value: string) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

// `outbox-relay migrate --print | head` closes the pipe early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const io = { out: print, err: (line: string): void => void process.stderr.write(`${line}\n`) };

databaseOptions(program.command('migrate').description('create or upgrade the outbox tables (idempotent)'))
  .option('--print', 'print the migrations as plain SQL instead of applying them')
  .action(async (flags) => migrateCommand(flags, print));

function logicalOptions(command: Command): Command {
  return command
    .option('--slot <name>', 'logical replication slot, or the binlog checkpoint on MySQL/MariaDB (default <schema>_<events table>_outbox)')
    .option('--publication <name>', 'publication of the events table, PostgreSQL only (default <schema>_<events table>_outbox)');
}

logicalOptions(
  databaseOptions(
    program
      .command('setup-logical')
      .description(
        'set up --source logical (idempotent): the publication and replication slot (PostgreSQL), or check the binlog settings and create the checkpoint (MySQL/MariaDB)',
      ),
  ),
).action(async (flags) => setupLogicalCommand(flags, print));

tenantOptions(
  logicalOptions(
    databaseOptions(program.command('status').description('backlog, oldest pending age, shard owners, quarantined and parked counts, replication slot')),
  ),
)
  .option('--json', 'print JSON')
  .action(async (flags) => statusCommand(flags, print));

databaseOptions(program.command('health').description('ok / degraded / failed with reasons; exit code 0 / 3 / 1 (for probes and scripts)'))
  .option('--max-oldest-pending-age <duration>', 'degraded when the oldest pending event is older (e.g. 60s, 5m)')
  .option('--max-quarantined <n>', 'degraded when more events are quarantined', int('--max-quarantined'))
  .option('--max-backlog <n>', 'degraded when more events are pending', int('--max-backlog'))
  .option('--json', 'print JSON')
  .action(async (flags) => {
    process.exitCode = await healthCommand(flags, io, (text) => parseDuration(text, '--max-oldest-pending-age'));
  });

// --- operations: every recovery is a command (see docs/operations.md) ---

brokerOptions(databaseOptions(program.command('replay').description('re-publish events from history with their original ids (consumers dedupe)')))
  .option('--id <id...>', 'event ids to replay')
  .option('--aggregate <type:id>', 'replay one aggregate, e.g. order:o-42')
  .option('--since <time>', 'published at or after: ISO-8601 (UTC unless a zone is given) or a duration ago (2h, 30m, 7d)')
  .option('--until <time>', 'published before (same forms as --since)')
  .option('--destination <route>', 'send every event here instead of its own destination (RabbitMQ exchange/key, /queue or key; NATS subject; Redis stream)')
  .option('--dry-run', 'print what would be sent (id, aggregate, sequence, type, route) and send nothing')
  .option('--page-size <n>', 'history rows read per page (default 500)', int('--page-size'))
  .option('--max-in-flight <n>', 'unconfirmed publishes at once, across aggregates (default 64)', int('--max-in-flight'))
  .action(async (flags) => {
    await replayCommand(flags, io);
  });

const quarantine = program.command('quarantine').description('poison events: list them, retry them, or skip them');
databaseOptions(quarantine.command('list').description('quarantined events (parked and dead-lettered; --all adds resolved ones)'))
  .option('--json', 'print JSON')
  .option('--all', 'include retried and skipped events, with who resolved them and why')
  .option('--limit <n>', 'most rows to show (default 1000)', int('--limit'))
  .action(async (flags) => {
    await quarantineListCommand(flags, io);
  });
databaseOptions(quarantine.command('retry').description('put events back in the pending table at their original position; their aggregates un-park'))
  .argument('<id...>', 'quarantined event ids')
  .option('--by <who>', 'who decided (default: the OS user)')
  .option('--reason <why>', 'why, stored with the quarantine row')
  .option('--ignore-expiry', 'publish an expired event anyway (clears its expiresAt); without it an expired event is quarantined again')
  .action(async (ids: string[], flags) => quarantineRetryCommand(ids, flags, io));
databaseOptions(quarantine.command('skip').description('drop events for good; their aggregates un-park and continue without them'))
  .argument('<id...>', 'quarantined event ids')
  .requiredOption('--reason <why>', 'why the events may be dropped (stored with the quarantine row)')
  .option('--by <who>', 'who decided (default: the OS user)')
  .action(async (ids: string[], flags) => quarantineSkipCommand(ids, flags, io));

brokerOptions(databaseOptions(program.command('reconcile').description("list events published in a window that a consumer's inbox never recorded")))
  .option('--consumer <name>', 'the consumer name its inbox rows are recorded under')
  .option('--since <time>', 'published at or after: ISO-8601 or a duration ago (2h, 30m, 7d)')
  .option('--until <time>', 'published before (same forms as --since)')
  .option('--ids-file <path>', 'ids the consumer processed, one per line (when its inbox is not in this database)')
  .option('--replay', 're-publish exactly the missing events, with their original ids')
  .option('--page-size <n>', 'history rows checked per page (default 500)', int('--page-size'))
  .option('--max-in-flight <n>', 'unconfirmed publishes at once with --replay (default 64)', int('--max-in-flight'))
  .action(async (flags) => {
    await reconcileCommand(flags, io);
  });

const deadLetters = program
  .command('dead-letters')
  .description('messages an inbox consumer gave up on (RabbitMQ, SQS, NATS JetStream, Redis Streams, Pub/Sub): list them, or send them back');
function deadLetterOptions(command: Command): Command {
  return command
    .addOption(configOption())
    .requiredOption('--queue <name>', "the inbox consumer's queue (RabbitMQ, SQS), durable name (NATS), stream (Redis) or subscription (Pub/Sub)")
    .option(
      '--dead-letter-queue <name>',
      "where the consumer dead-letters, when not the default: RabbitMQ <queue>.dead, SQS the queue's redrive target, NATS stream <durable>_DEAD, Redis <stream>:dead, Pub/Sub the only subscription on the dead-letter topic",
    )
    .option('--limit <n>', 'most messages to look at (default 1000)', int('--limit'))
    .addOption(
      new Option('--broker-url <url>', 'amqp://, sqs://, nats://, redis:// or pubsub:// URL (default amqp://guest:guest@127.0.0.1:5672)').env(ENV.brokerUrl),
    );
}
deadLetterOptions(deadLetters.command('list').description('the dead letters, oldest first, with why each was given up; nothing is removed'))
  .option('--json', 'print JSON')
  .action(async (flags) => {
    await deadLettersListCommand(flags, io);
  });
deadLetterOptions(
  deadLetters.command('replay').description("send dead letters back to the consumer's queue with their original ids (the inbox drops any already applied)"),
)
  .option('--id <id...>', 'only these event ids (default: all)')
  .option('--inbox-retention <duration>', "the consumer's inbox retention, to warn about older events (default 14d)")
  .action(async (flags) => {
    await deadLettersReplayCommand(flags, io);
  });

tenantOptions(databaseOptions(program.command('cleanup').description('delete history and inbox rows older than their retention, in small batches')))
  .option('--history-retention <duration>', 'keep published history this long, or off (default 7d)')
  .option('--inbox-retention <duration>', 'keep inbox rows this long, or off (default 14d; keep it longer than the history)')
  .option('--batch-size <n>', 'rows deleted per statement/transaction (default 1000)', int('--batch-size'))
  .action(async (flags) => {
    await cleanupCommand(flags, io);
  });

tenantOptions(logicalOptions(brokerOptions(databaseOptions(program.command('run').description('run the relay until SIGINT/SIGTERM')))))
  .addOption(
    new Option(
      '--source <source>',
      'poll the outbox table, or read its change log: PostgreSQL logical replication, the MySQL/MariaDB row binlog (default poll)',
    ).choices(['poll', 'logical']),
  )
  .option('--tenant-concurrency <n>', 'claim-publish cycles at once across all tenants, served round-robin (default 16)', int('--tenant-concurrency'))
  .option('--tenant-label-max <n>', 'metrics carry a tenant label while there are at most this many tenants (default 100; 0: never)', int('--tenant-label-max'))
  .option('--batch-size <n>', 'events claimed per cycle (default 500)', int('--batch-size'))
  .option('--max-in-flight <n>', 'unconfirmed publishes at once, across aggregates (default 128)', int('--max-in-flight'))
  .option('--poll-interval-ms <ms>', 'longest idle wait between polls (default 1000)', int('--poll-interval-ms'))
  .option('--lease-ttl-ms <ms>', 'shard lease time-to-live (default 15000)', int('--lease-ttl-ms'))
  .option('--max-attempts <n>', 'permanent failures before quarantine (default 10)', int('--max-attempts'))
  .addOption(new Option('--poison-policy <policy>', 'park the aggregate or dead-letter and continue').choices(['park', 'dead-letter']))
  .option('--no-history', 'delete published rows instead of keeping them for replay')
  .option('--migrate', 'apply pending migrations before starting')
  .option('--once', 'publish until nothing is claimable, then exit')
  .option('--relay-id <id>', 'unique id of this relay (default host-pid-random)')
  .addOption(
    new Option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (off by default; 0 = any free port)')
      .env('OUTBOX_METRICS_PORT')
      .argParser(int('--metrics-port')),
  )
  .addOption(new Option('--metrics-host <host>', 'address the metrics server binds (default 0.0.0.0)').env('OUTBOX_METRICS_HOST'))
  .option('--status-interval-ms <ms>', 'how often metrics re-read backlog figures from the database (default 5000)', int('--status-interval-ms'))
  .addOption(
    new Option('--log-level <level>', 'pino log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info').env(ENV.logLevel),
  )
  .action(async (flags) => {
    const logger = createLogger(flags.logLevel);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await runCommand(flags, logger, abort.signal);
  });

// The --config file fills in what flags and environment variables left unset, before the action
// runs; an error about a flag it set names its key instead (`relay.batchSize in <file>: ...`).
let fromConfigFile: FlagNames = {};
program.hook('preAction', (_program, command) => {
  fromConfigFile = applyConfigFile(command, program);
});

try {
  await program.parseAsync(process.argv);
} catch (caught) {
  // Configuration mistakes exit 2 with the message alone; anything else exits 1. Messages from
  // outboxkit never contain credentials.
  const error = underFlag(caught, fromConfigFile);
  const message = error instanceof OutboxError ? error.message : ((error as Error)?.message ?? String(error));
  process.stderr.write(`outbox-relay: ${message}\n`);
  process.exitCode = error instanceof OutboxConfigError ? 2 : 1;
}
