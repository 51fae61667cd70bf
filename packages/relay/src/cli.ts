#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { OutboxConfigError, OutboxError } from '@outboxkit/core';
import { migrateCommand } from './commands/migrate.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { ENV, intFlag } from './config.js';
import { createLogger } from './logger.js';

const program = new Command('outbox-relay')
  .description('Publishes committed transactional-outbox events to the broker, at least once, in per-aggregate order.')
  .showHelpAfterError();

function databaseOptions(command: Command): Command {
  return command
    .addOption(new Option('--database-url <url>', 'postgres://, mysql://, mariadb://, sqlite: or file: URL').env(ENV.databaseUrl))
    .addOption(new Option('--schema <name>', 'schema (PostgreSQL) or database (MySQL) of the outbox tables').env(ENV.schema))
    .addOption(new Option('--table-prefix <prefix>', 'prefix of the outbox table names (default outbox_)').env(ENV.tablePrefix));
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

databaseOptions(program.command('migrate').description('create or upgrade the outbox tables (idempotent)'))
  .option('--print', 'print the migrations as plain SQL instead of applying them')
  .action(async (flags) => migrateCommand(flags, print));

databaseOptions(program.command('status').description('backlog, oldest pending age, shard owners, quarantined and parked counts'))
  .option('--json', 'print JSON')
  .action(async (flags) => statusCommand(flags, print));

databaseOptions(program.command('run').description('run the relay until SIGINT/SIGTERM'))
  .addOption(new Option('--broker-url <url>', 'RabbitMQ URL (default amqp://guest:guest@127.0.0.1:5672)').env(ENV.brokerUrl))
  .addOption(new Option('--exchange <name>', 'exchange to publish to (default outbox.events, topic)').env(ENV.exchange))
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
  .addOption(new Option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (off by default; 0 = any free port)').env('OUTBOX_METRICS_PORT').argParser(int('--metrics-port')))
  .addOption(new Option('--metrics-host <host>', 'address the metrics server binds (default 0.0.0.0)').env('OUTBOX_METRICS_HOST'))
  .option('--status-interval-ms <ms>', 'how often metrics re-read backlog figures from the database (default 5000)', int('--status-interval-ms'))
  .addOption(new Option('--log-level <level>', 'pino log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info').env(ENV.logLevel))
  .action(async (flags) => {
    const logger = createLogger(flags.logLevel);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await runCommand(flags, logger, abort.signal);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Configuration mistakes exit 2 with the message alone; anything else exits 1. Messages from
  // outboxkit never contain credentials.
  const message = error instanceof OutboxError ? error.message : (error as Error)?.message ?? String(error);
  process.stderr.write(`outbox-relay: ${message}\n`);
  process.exitCode = error instanceof OutboxConfigError ? 2 : 1;
}
