import { spawn, type ChildProcess } from 'node:child_process';
import { forgetOnExit, killOnExit, removeTempDir } from './exit-guard.js';
import { freePort, waitForPort } from './ports.js';
import { listensOn, portInUse, waitUntilStopped } from './proc.js';

/** How a {@link ChildServer} runs its process: the binary and its arguments, fixed for every start. */
export interface ChildServerSpec {
  /** For messages, e.g. `nats-server`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The TCP port it listens on once ready. */
  readonly port: number;
  readonly startTimeoutMs: number;
  /** Appended to startup failures (a log file's tail, say). */
  readonly details?: () => string;
}

/**
 * One server process a test starts, kills, freezes and restarts on the same port and data: the
 * process handling the private broker instances share. Its output is kept (the last 8 KiB) for
 * failure messages, and a process-exit guard kills it if a test forgets to.
 */
export class ChildServer {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #output = '';

  constructor(private readonly spec: ChildServerSpec) {}

  /** The running process's pid, or null while stopped. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts it (again); resolves once it accepts TCP connections. */
  async start(): Promise<void> {
    if (this.#child !== null) throw new Error(`${this.spec.name} on port ${this.spec.port} is already running`);
    this.#output = '';
    const child = spawn(this.spec.command, [...this.spec.args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const { port } = this.spec;
    try {
      await waitForPort(
        port,
        Date.now() + this.spec.startTimeoutMs,
        () => this.#child !== child,
        () => `${this.#output}${this.spec.details?.() ?? ''}`,
        () => listensOn(child.pid!, port) !== false,
      );
    } catch (error) {
      if (this.#child !== child && portInUse(port) === true) throw new PortTakenError(this.spec.name, port, { cause: error });
      throw error;
    }
  }

  /** SIGKILL (after SIGCONT, in case it is frozen): a crash. */
  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, and SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** A private server a fault test owns: started, crashed, frozen and restarted on the same data and port. */
export interface PrivateServer {
  /** Its URL (`nats://127.0.0.1:<port>`, `redis://…`); the same across kill()/start(). */
  readonly url: string;
  readonly port: number;
  /** The temp directory holding its data (removed by dispose()). */
  readonly dir: string;
  readonly pid: number | null;
  /** Starts it again on the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a clean shutdown. */
  stop(): Promise<void>;
  /** SIGSTOP: frozen with its sockets open. */
  pause(): void;
  resume(): void;
  /** Kills it and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/** The free port taken by another process before the server could bind it. */
class PortTakenError extends Error {
  constructor(name: string, port: number, options: ErrorOptions) {
    super(`${name} could not listen on 127.0.0.1:${port}: another process took the port first`, options);
  }
}

/**
 * Starts the server `make` describes on a free port and wraps it as a {@link PrivateServer} whose
 * data lives in `dir`; another free port is tried when another process took the first one.
 * Nothing is left behind if the start fails.
 */
export async function startPrivateServer(dir: string, make: (port: number) => { spec: ChildServerSpec; url: string }): Promise<PrivateServer> {
  for (let attempt = 1; ; attempt++) {
    const { spec, url } = make(await freePort());
    const server = new ChildServer(spec);
    try {
      await server.start();
      return privateServer(server, spec.port, url, dir);
    } catch (error) {
      if (server.running) await server.kill();
      if (error instanceof PortTakenError && attempt < 3) continue;
      removeTempDir(dir);
      throw error;
    }
  }
}

function privateServer(server: ChildServer, port: number, url: string, dir: string): PrivateServer {
  return {
    url,
    port,
    dir,
    get pid() {
      return server.pid;
    },
    start: () => server.start(),
    kill: () => server.kill(),
    stop: () => server.stop(),
    pause() {
      server.signal('SIGSTOP');
      // Delivered asynchronously: without the wait a test's next request could reach a server not yet stopped.
      if (server.pid !== null) waitUntilStopped(server.pid);
    },
    resume: () => server.signal('SIGCONT'),
    async dispose() {
      if (server.running) await server.kill();
      removeTempDir(dir);
    },
  };
}
