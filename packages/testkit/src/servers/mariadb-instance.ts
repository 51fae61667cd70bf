import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetOnExit, killOnExit, removeTempDir, tempDirRemovedOnExit } from './exit-guard.js';
import { freePort, waitForPort } from './ports.js';

/** A private MariaDB server for fault tests: its own datadir, port, socket and pid file. */
export interface MariaDbInstance {
  /** `mysql://root@127.0.0.1:<port>/test` (root, empty password); the same across stop()/start(). */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** mariadbd's pid while running, else null. */
  readonly pid: number | null;
  /** Starts it (again) on the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL: a crash (InnoDB recovers on the next start). */
  kill(): Promise<void>;
  /** SIGTERM: a clean shutdown. */
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stops it (hard) and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface MariaDbInstanceOptions {
  /** @default 60000 */
  startTimeoutMs?: number;
  /**
   * Writes a row-format binary log (`--log-bin --binlog-format=ROW --binlog-row-image=FULL`)
   * under server id `serverId`, for the binlog source of `run --source logical`.
   */
  binlog?: { readonly serverId: number };
}

const SERVER = '/usr/sbin/mariadbd';

/**
 * Installs (`mariadb-install-db`) and starts a disposable MariaDB server on a free port in a
 * fresh temp directory, as the `mysql` OS user, with `--no-defaults` so it never reads the shared
 * server's configuration or pid file. Creates database `test`.
 *
 * @example
 * const maria = await startMariaDbInstance();
 * try { await maria.kill(); await maria.start(); } finally { await maria.dispose(); }
 */
export async function startMariaDbInstance(options: MariaDbInstanceOptions = {}): Promise<MariaDbInstance> {
  if (!existsSync(SERVER)) throw new Error(`startMariaDbInstance: ${SERVER} not found; install mariadb-server`);
  const instance = new MariaDbInstanceImpl(await freePort(), options.startTimeoutMs ?? 60_000, options.binlog);
  try {
    instance.install();
    await instance.start();
    await instance.createTestDatabase();
  } catch (error) {
    await instance.dispose();
    throw error;
  }
  return instance;
}

class MariaDbInstanceImpl implements MariaDbInstance {
  readonly url: string;
  readonly dir: string;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #output = '';
  readonly #uid: number;
  readonly #gid: number;

  constructor(
    readonly port: number,
    private readonly startTimeoutMs: number,
    private readonly binlog: { readonly serverId: number } | undefined,
  ) {
    this.#uid = Number(execFileSync('id', ['-u', 'mysql']).toString().trim());
    this.#gid = Number(execFileSync('id', ['-g', 'mysql']).toString().trim());
    this.dir = tempDirRemovedOnExit('okt-maria-');
    chmodSync(this.dir, 0o755);
    chownSync(this.dir, this.#uid, this.#gid);
    this.url = `mysql://root@127.0.0.1:${port}/test`;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  install(): void {
    const result = spawnSync(
      'mariadb-install-db',
      [`--datadir=${join(this.dir, 'data')}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db', '--no-defaults'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (result.status !== 0) throw new Error(`mariadb-install-db failed: ${result.stderr}${result.stdout}`);
  }

  async start(): Promise<void> {
    if (this.#child !== null) throw new Error('MariaDbInstance is already running');
    this.#output = '';
    const child = spawn(
      SERVER,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'sock')}`,
        `--pid-file=${join(this.dir, 'pid')}`,
        '--user=mysql',
        '--bind-address=127.0.0.1',
        '--innodb-flush-log-at-trx-commit=2',
        '--max-connections=500',
        `--log-error=${join(this.dir, 'error.log')}`,
        ...(this.binlog
          ? [`--log-bin=${join(this.dir, 'data', 'binlog')}`, '--binlog-format=ROW', '--binlog-row-image=FULL', `--server-id=${this.binlog.serverId}`]
          : []),
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-8000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    killOnExit(child.pid!);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      forgetOnExit(child.pid!);
      if (this.#child === child) this.#child = null;
    });
    await waitForPort(
      this.port,
      Date.now() + this.startTimeoutMs,
      () => this.#child !== child,
      () => `${this.#output}${this.#logTail()}`,
    );
  }

  async createTestDatabase(): Promise<void> {
    const result = spawnSync('mariadb', ['--no-defaults', '-uroot', '-h127.0.0.1', `-P${this.port}`, '-e', 'CREATE DATABASE IF NOT EXISTS test'], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`creating database test failed: ${result.stderr}`);
  }

  async kill(): Promise<void> {
    this.#signal('SIGCONT');
    this.#signal('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    this.#signal('SIGCONT');
    this.#signal('SIGTERM');
    const timer = setTimeout(() => this.#signal('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
  }

  pause(): void {
    this.#signal('SIGSTOP');
  }

  resume(): void {
    this.#signal('SIGCONT');
  }

  async dispose(): Promise<void> {
    if (this.#child !== null) await this.kill();
    removeTempDir(this.dir);
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }

  #logTail(): string {
    try {
      return `\n--- error.log\n${readFileSync(join(this.dir, 'error.log'), 'utf8').slice(-3000)}`;
    } catch {
      return '';
    }
  }
}
