/**
 * The keys of `--config <file>`: each one sets one flag, so a value from the file goes through
 * exactly the checks the flag's value goes through, and an error about that flag can be told
 * under the key's name instead. This table is the only place a key is mapped to a flag.
 */
export interface ConfigFileKey {
  /** The flag the key sets (`--no-x` for a key that is `x: false` in the file). */
  readonly flag: string;
  /** The commands the key applies to, where the flag means something else elsewhere; default: every command with the flag. */
  readonly commands?: readonly string[];
  /** The file may give a list, which becomes the flag's comma-separated value. */
  readonly list?: boolean;
}

/** The file's sections, in the order the docs show them. */
export const CONFIG_FILE_SECTIONS = ['database', 'tenants', 'broker', 'routes', 'relay', 'metrics', 'retention', 'health'] as const;

export type ConfigFileSection = (typeof CONFIG_FILE_SECTIONS)[number];

/** `section.key` -> the flag it sets. Documented in docs/operations.md ("Config file"). */
export const CONFIG_FILE_KEYS: Readonly<Record<`${ConfigFileSection}.${string}`, ConfigFileKey>> = {
  'database.url': { flag: '--database-url' },
  'database.schema': { flag: '--schema' },
  'database.tablePrefix': { flag: '--table-prefix' },

  // Many tenants in one process: schemas (PostgreSQL), databases (MySQL) or files (SQLite).
  'tenants.names': { flag: '--tenants', list: true },
  'tenants.pattern': { flag: '--tenant-pattern' },
  'tenants.rescanIntervalMs': { flag: '--tenant-rescan-interval-ms' },
  'tenants.concurrency': { flag: '--tenant-concurrency' },
  'tenants.labelMax': { flag: '--tenant-label-max' },

  'broker.url': { flag: '--broker-url' },
  'broker.declareExchange': { flag: '--no-declare-exchange' },
  'broker.natsStream': { flag: '--nats-stream' },
  'broker.declareStream': { flag: '--no-declare-stream' },
  'broker.maxLen': { flag: '--max-len' },
  'broker.createStreams': { flag: '--no-create-streams' },
  'broker.maxMessageBytes': { flag: '--max-message-bytes' },
  'broker.publishTimeoutMs': { flag: '--publish-timeout-ms' },
  'broker.messageFormat': { flag: '--message-format' },
  'broker.cloudEventsSource': { flag: '--cloudevents-source' },

  // Where an event without an explicit destination goes: each broker's default routing rule.
  'routes.exchange': { flag: '--exchange' },
  'routes.subjectPrefix': { flag: '--subject-prefix' },
  'routes.streamPrefix': { flag: '--stream-prefix' },
  'routes.queuePrefix': { flag: '--queue-prefix' },
  'routes.topicPrefix': { flag: '--topic-prefix' },
  'routes.fifo': { flag: '--fifo' },

  'relay.id': { flag: '--relay-id' },
  'relay.batchSize': { flag: '--batch-size', commands: ['run'] },
  'relay.maxInFlight': { flag: '--max-in-flight', commands: ['run'] },
  'relay.pollIntervalMs': { flag: '--poll-interval-ms' },
  'relay.leaseTtlMs': { flag: '--lease-ttl-ms' },
  'relay.maxAttempts': { flag: '--max-attempts' },
  'relay.poisonPolicy': { flag: '--poison-policy' },
  'relay.history': { flag: '--no-history' },
  'relay.migrate': { flag: '--migrate' },
  'relay.logLevel': { flag: '--log-level' },
  'relay.source': { flag: '--source' },
  'relay.slot': { flag: '--slot' },
  'relay.publication': { flag: '--publication' },

  'metrics.port': { flag: '--metrics-port' },
  'metrics.host': { flag: '--metrics-host' },
  'metrics.statusIntervalMs': { flag: '--status-interval-ms' },

  'retention.history': { flag: '--history-retention' },
  'retention.inbox': { flag: '--inbox-retention' },
  'retention.batchSize': { flag: '--batch-size', commands: ['cleanup'] },

  'health.maxOldestPendingAge': { flag: '--max-oldest-pending-age' },
  'health.maxQuarantined': { flag: '--max-quarantined' },
  'health.maxBacklog': { flag: '--max-backlog' },
};

/**
 * The valid keys closest to an unknown one: by edit distance, ignoring case and dots, on the whole
 * path or on its last part (so a key in the wrong section finds its section).
 *
 * @example
 * nearestKeys('relay.batchsize') // ['relay.batchSize']
 * nearestKeys('databaseUrl')     // ['database.url']
 */
export function nearestKeys(key: string): string[] {
  const candidates = [...CONFIG_FILE_SECTIONS, ...Object.keys(CONFIG_FILE_KEYS)];
  const leaf = (path: string): string => path.slice(path.lastIndexOf('.') + 1);
  const scored = candidates.map((candidate) => ({
    candidate,
    whole: distance(key, candidate),
    leaf: candidate.includes('.') ? distance(leaf(key), leaf(candidate)) : Number.POSITIVE_INFINITY,
  }));
  const best = Math.min(...scored.map((s) => Math.min(s.whole, s.leaf)));
  if (best > Math.max(1, Math.floor(key.length / 3))) return [];
  // A near miss of the whole path beats the same name in another section.
  const whole = scored.filter((s) => s.whole === best);
  return (whole.length > 0 ? whole : scored.filter((s) => s.leaf === best)).map((s) => s.candidate);
}

/** Levenshtein distance of the two names, case- and dot-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase().replaceAll('.', '');
  const y = b.toLowerCase().replaceAll('.', '');
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}
