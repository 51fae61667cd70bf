import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetOnExit, stopOnExit, removeTempDir, tempDirRemovedOnExit } from './exit-guard.js';
import { freePort, waitForPort } from './ports.js';

/** A private PostgreSQL cluster for fault tests: its own data directory, port and socket directory. */
export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth); the same across stop()/start(). */
  readonly url: string;
  readonly port: number;
  /** The temp directory holding data, socket and log (removed by dispose()). */
  readonly dir: string;
  /** Postmaster pid while running, else null. */
  readonly pid: number | null;
  /** Starts it (again) with the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`: `immediate` is a crash (no checkpoint, clients cut off), `fast` a clean stop. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** SIGSTOP / SIGCONT the postmaster and every backend (a frozen database with open sockets). */
  pause(): void;
  resume(): void;
  /** Stops it (immediate) and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface PostgresClusterOptions {
  /** Extra `postgresql.conf` lines, e.g. `['max_connections = 200']`. */
  settings?: readonly string[];
  /** How long start() waits. @default 60000 */
  startTimeoutMs?: number;
  /**
   * Run the server inside this network namespace (made by the caller with `ip netns add`), listening
   * on `host`; for partition tests. Needs root. The URL then names `host`.
   */
  netns?: string;
  /** Address to listen on and to put in the URL. @default '127.0.0.1' */
  host?: string;
  /**
   * `wal_level = logical` with room for a few slots and walsenders, for the logical-replication
   * source (the shared server runs with `wal_level = replica`). @default false
   */
  logicalReplication?: boolean;
}

const LOGICAL_REPLICATION_SETTINGS = ['wal_level = logical', 'max_replication_slots = 8', 'max_wal_senders = 8'];

/** The folder holding initdb/pg_ctl (Debian keeps them out of PATH). */
function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((name) => existsSync(join(base, name, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0]!, 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v pg_ctl']).stdout?.toString().trim();
  if (found) return found.replace(/\/pg_ctl$/, '');
  throw new Error('startPostgresCluster: pg_ctl not found; install the postgresql server package');
}

/**
 * Creates (initdb, trust auth, superuser `postgres`) and starts a disposable PostgreSQL cluster
 * on a free port in a fresh temp directory, run as the `postgres` OS user. It never touches the
 * shared server. A process exit handler stops any cluster a test forgot to dispose.
 *
 * @example
 * const pg = await startPostgresCluster();
 * try {
 *   await pg.stop('immediate'); // crash
 *   await pg.start();           // crash recovery, same URL
 * } finally {
 *   await pg.dispose();
 * }
 */
export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const cluster = new PostgresClusterImpl(await freePort(), options);
  try {
    cluster.init();
    await cluster.start();
  } catch (error) {
    await cluster.dispose();
    throw error;
  }
  return cluster;
}

class PostgresClusterImpl implements PostgresCluster {
  readonly url: string;
  readonly dir: string;
  readonly #bin = postgresBin();
  readonly #uid: number;
  readonly #gid: number;
  #running = false;

  constructor(
    readonly port: number,
    private readonly options: PostgresClusterOptions,
  ) {
    this.#uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    this.#gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    this.dir = tempDirRemovedOnExit('okt-pg-');
    chmodSync(this.dir, 0o755);
    chownSync(this.dir, this.#uid, this.#gid);
    this.url = `postgres://postgres@${options.host ?? '127.0.0.1'}:${port}/postgres`;
  }

  get pid(): number | null {
    try {
      return Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return null;
    }
  }

  #asPostgres(command: string, args: readonly string[]): string {
    // In a namespace: `ip netns exec` needs root, so it runs first and drops to postgres with runuser.
    const result = this.options.netns
      ? spawnSync('ip', ['netns', 'exec', this.options.netns, 'runuser', '-u', 'postgres', '--', join(this.#bin, command), ...args], {
          cwd: this.dir,
          encoding: 'utf8',
          timeout: 120_000,
        })
      : spawnSync(join(this.#bin, command), args, { uid: this.#uid, gid: this.#gid, cwd: this.dir, encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}${this.#logTail()}`);
    }
    return result.stdout;
  }

  init(): void {
    this.#asPostgres('initdb', ['-D', join(this.dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    // initdb trusts loopback only; a cluster on another address trusts that address's /24.
    const host = this.options.host;
    if (host && host !== '127.0.0.1') appendFileSync(join(this.dir, 'data', 'pg_hba.conf'), `host all all ${host.replace(/\.\d+$/, '.0')}/24 trust\n`);
  }

  async start(): Promise<void> {
    const settings = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      `-c listen_addresses=${this.options.host ?? '127.0.0.1'}`,
      `-c fsync=off`,
      ...[...(this.options.logicalReplication ? LOGICAL_REPLICATION_SETTINGS : []), ...(this.options.settings ?? [])].map(
        (s) => `-c ${s.replace(/\s*=\s*/, '=').replace(/\s/g, '')}`,
      ),
    ];
    this.#asPostgres('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      settings.join(' '),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      String(Math.ceil((this.options.startTimeoutMs ?? 60_000) / 1000)),
      'start',
    ]);
    this.#running = true;
    stopOnExit(this, () => this.stopSync());
    // pg_ctl -w already waited for readiness (over the Unix socket); the TCP check is for the default address.
    if (!this.options.netns)
      await waitForPort(
        this.port,
        Date.now() + (this.options.startTimeoutMs ?? 60_000),
        () => false,
        () => this.#logTail(),
      );
  }

  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    if (!this.#running) return;
    this.resume();
    this.#asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
    this.#running = false;
    forgetOnExit(this);
  }

  pause(): void {
    this.#signalAll('SIGSTOP');
  }

  resume(): void {
    this.#signalAll('SIGCONT');
  }

  stopSync(): void {
    if (!this.#running) return;
    this.#signalAll('SIGCONT');
    spawnSync(join(this.#bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'], { uid: this.#uid, gid: this.#gid, timeout: 30_000 });
    this.#running = false;
  }

  async dispose(): Promise<void> {
    if (this.#running) {
      try {
        await this.stop('immediate');
      } catch {
        this.stopSync();
      }
    }
    forgetOnExit(this);
    removeTempDir(this.dir);
  }

  /** The postmaster and its children (backends, checkpointer, ...). */
  #signalAll(signal: NodeJS.Signals): void {
    const pid = this.pid;
    if (pid === null || !Number.isFinite(pid)) return;
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number);
    for (const target of [pid, ...children]) {
      try {
        process.kill(target, signal);
      } catch {
        // Already gone.
      }
    }
  }

  #logTail(): string {
    try {
      return `\n--- log\n${readFileSync(join(this.dir, 'log'), 'utf8').slice(-3000)}`;
    } catch {
      return '';
    }
  }
}
