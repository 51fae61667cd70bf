import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetOnExit, killOnExit, removeTempDir, tempDirRemovedOnExit } from './exit-guard.js';
import { freePort, waitForPort } from './ports.js';
import { listensOn, waitUntilStopped } from './proc.js';

/** A private RabbitMQ node for fault tests: its own ports, data directory and node name. */
export interface RabbitNode {
  /** `amqp://guest:guest@127.0.0.1:<port>`; the same across stop()/start(). */
  readonly url: string;
  readonly port: number;
  /** Erlang node name, e.g. `okt_lq3x9c_1a2b@localhost` (for `rabbitmqctl -n`). */
  readonly nodeName: string;
  /** The temp directory holding its data and logs (removed by dispose()). */
  readonly dir: string;
  /** OS pid of the running beam.smp, or null while stopped. */
  readonly pid: number | null;
  /** Starts it again after stop()/kill() with the same data (durable queues survive), and waits until it accepts connections. */
  start(): Promise<void>;
  /** Graceful stop (`rabbitmqctl stop`); waits until the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: the node freezes with its sockets open (a hung broker, not a refused connection). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops it (hard, if need be) and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface RabbitNodeOptions {
  /** How long start() waits for the AMQP port. @default 60000 */
  startTimeoutMs?: number;
}

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const CTL = '/usr/sbin/rabbitmqctl';
/** The rabbitmq user's home: where the Erlang cookie lives that rabbitmqctl needs. */
const RABBIT_HOME = '/var/lib/rabbitmq';

/**
 * Starts a disposable RabbitMQ node (the Debian package's server, run as the `rabbitmq` user) on
 * free ports in a fresh temp directory, and resolves once it accepts AMQP connections. It never
 * touches the shared node: own node name, AMQP and distribution ports, config file (the shared
 * /etc/rabbitmq/rabbitmq.conf pins port 5672), data and log directories. A process exit handler
 * SIGKILLs any node a test forgot to dispose.
 *
 * Needs root (to run the server as the `rabbitmq` user). About 6-10 s to start.
 *
 * @example
 * const node = await startRabbitNode();
 * try {
 *   await node.stop();   // broker down
 *   await node.start();  // back, same URL, durable queues kept
 * } finally {
 *   await node.dispose();
 * }
 */
export async function startRabbitNode(options: RabbitNodeOptions = {}): Promise<RabbitNode> {
  if (!existsSync(SERVER)) throw new Error(`startRabbitNode: ${SERVER} not found; install the rabbitmq-server package`);
  const node = new PrivateRabbitNode(await freePort(), await freePort(), options.startTimeoutMs ?? 60_000);
  try {
    await node.start();
  } catch (error) {
    await node.dispose();
    throw error;
  }
  return node;
}

class PrivateRabbitNode implements RabbitNode {
  readonly url: string;
  readonly nodeName: string;
  readonly dir: string;
  #child: ChildProcess | null = null;
  #pid: number | null = null;
  #exited: Promise<void> = Promise.resolve();
  #output = '';
  readonly #uid: number;
  readonly #gid: number;

  constructor(
    readonly port: number,
    private readonly distPort: number,
    private readonly startTimeoutMs: number,
  ) {
    this.#uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
    this.#gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
    this.dir = tempDirRemovedOnExit('okt-rabbit-');
    this.nodeName = `okt_${process.pid}_${port}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    chmodSync(this.dir, 0o755);
    writeFileSync(join(this.dir, 'plugins'), '[].\n');
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\n`);
    // The server runs as `rabbitmq` and must be able to write here (feature flags, mnesia, logs).
    for (const name of ['', 'plugins', 'rabbitmq.conf']) chownSync(join(this.dir, name), this.#uid, this.#gid);
  }

  get pid(): number | null {
    return this.#pid;
  }

  async start(): Promise<void> {
    if (this.#child !== null) throw new Error(`RabbitNode ${this.nodeName} is already running`);
    const pidFile = join(this.dir, 'pid');
    rmSync(pidFile, { force: true });
    this.#output = '';
    const child = spawn(SERVER, [], {
      uid: this.#uid,
      gid: this.#gid,
      cwd: this.dir,
      // Its own process group, so a Ctrl-C on the test runner does not reach it before dispose().
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: RABBIT_HOME,
        RABBITMQ_NODENAME: this.nodeName,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'plugins'),
        RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(this.dir, 'log'),
        RABBITMQ_PID_FILE: pidFile,
      },
    });
    this.#child = child;
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-8000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.#exited.then(() => {
      if (this.#child === child) this.#child = null;
      if (this.#pid !== null) forgetOnExit(this.#pid);
      this.#pid = null;
    });
    const deadline = Date.now() + this.startTimeoutMs;
    // The spawned script is a shell that runs beam.smp as its child; signals must reach the VM,
    // which the pid file names. Ready means that VM holds the listening socket: a port answered
    // by anything else (another process that took the port, or a check before the pid file is
    // written) would have pause() freeze the wrong process.
    await waitForPort(
      this.port,
      deadline,
      () => this.#child !== child,
      () => `RabbitMQ node ${this.nodeName} in ${this.dir}:\n${this.#output}${this.#logTail()}`,
      () => {
        const vm = readPid(pidFile);
        return vm !== undefined && listensOn(vm, this.port) !== false;
      },
    );
    this.#pid = readPid(pidFile)!;
    killOnExit(this.#pid);
  }

  async stop(): Promise<void> {
    if (this.#child === null) return;
    try {
      execFileSync(CTL, ['-n', this.nodeName, 'stop'], { stdio: 'pipe', timeout: 30_000 });
    } catch {
      // rabbitmqctl could not reach it (paused, half-started): stop it the hard way.
      this.#signal('SIGKILL');
    }
    await this.#waitForExit();
  }

  async kill(): Promise<void> {
    if (this.#child === null) return;
    this.#signal('SIGKILL');
    await this.#waitForExit();
  }

  pause(): void {
    this.#signal('SIGSTOP');
    // SIGSTOP is delivered asynchronously; the caller's next step must meet a frozen VM.
    if (this.#pid !== null) waitUntilStopped(this.#pid);
  }

  resume(): void {
    this.#signal('SIGCONT');
  }

  async dispose(): Promise<void> {
    if (this.#child !== null) {
      this.#signal('SIGCONT');
      await this.stop();
    }
    removeTempDir(this.dir);
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#pid ?? this.#child?.pid;
    if (pid === undefined || pid === null) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }

  async #waitForExit(): Promise<void> {
    const pid = this.#pid;
    // The wrapper script exits once beam.smp does; if beam hangs in shutdown, kill it.
    const timer = setTimeout(() => this.#signal('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
    // Belt and braces: the VM named by the pid file must be gone before the port is reused.
    for (let i = 0; pid !== null && i < 100 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  #logTail(): string {
    try {
      const logDir = join(this.dir, 'log');
      return readdirSync(logDir)
        .filter((name) => name.endsWith('.log'))
        .map((name) => `\n--- ${name}\n${readFileSync(join(logDir, name), 'utf8').slice(-3000)}`)
        .join('');
    } catch {
      return '';
    }
  }
}

/** The VM's pid from RabbitMQ's pid file, or undefined until it has been written whole. */
function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
