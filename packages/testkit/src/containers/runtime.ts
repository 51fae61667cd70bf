import { homedir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '@outboxkit/core';
import { probeConnect, type ConnectProbe } from '../connect-probe.js';
import { loadTestcontainers } from './testcontainers.js';

export type ContainerRuntime =
  | {
      readonly found: true;
      /** Where it answered, for messages: `DOCKER_HOST`, a socket path, or testcontainers' own configuration. */
      readonly via: string;
      /** The `DOCKER_HOST` testcontainers must use to reach it; absent when testcontainers found it itself. */
      readonly dockerHost?: string;
    }
  | {
      readonly found: false;
      /** Every place looked at and what was there, in order. */
      readonly tried: readonly string[];
    };

const SOCKET_TIMEOUT_MS = 1500;
// testcontainers asks the daemon for its info; a socket that accepts and never answers must not hang the run.
const TESTCONTAINERS_TIMEOUT_MS = 10_000;

/**
 * Finds a Docker-API container runtime (Docker or Podman) without ever hanging:
 * 1. `DOCKER_HOST`, when set, is the only place looked at (as the docker CLI does);
 * 2. otherwise the usual sockets: Docker's `/var/run/docker.sock`, Podman's
 *    `$XDG_RUNTIME_DIR/podman/podman.sock` and `/run/podman/podman.sock`, rootless Docker's
 *    `$XDG_RUNTIME_DIR/docker.sock`, Docker Desktop's `~/.docker/run/docker.sock`;
 * 3. otherwise, when testcontainers is installed, its own strategy (which also reads
 *    `~/.testcontainers.properties`; it reads `process.env`, not `env`).
 * Steps 1 and 2 only check that the socket accepts a connection; testcontainers talks to it later.
 */
export async function detectContainerRuntime(env: NodeJS.ProcessEnv = process.env): Promise<ContainerRuntime> {
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    const problem = await dockerHostProblem(dockerHost, env);
    const shown = `DOCKER_HOST=${showDockerHost(dockerHost)}`;
    return problem === undefined ? { found: true, via: shown } : { found: false, tried: [`${shown}: ${problem}`] };
  }
  const tried = ['DOCKER_HOST is not set'];
  for (const socket of socketCandidates(env)) {
    if (socket.path === undefined) {
      tried.push(`${socket.pattern}: ${socket.needs} is not set`);
      continue;
    }
    const probe = await probeConnect({ path: socket.path }, SOCKET_TIMEOUT_MS);
    if (probe.ok) return { found: true, via: socket.path, dockerHost: `unix://${socket.path}` };
    tried.push(`${socket.path}: ${describeProbe(probe)}`);
  }
  const testcontainers = await askTestcontainers();
  if (testcontainers.found) return testcontainers;
  tried.push(`testcontainers: ${testcontainers.problem}`);
  return { found: false, tried };
}

export interface SocketCandidate {
  readonly pattern: string;
  readonly path: string | undefined;
  readonly needs?: string;
}

/** The sockets looked for when `DOCKER_HOST` is not set, in order. */
export function socketCandidates(env: NodeJS.ProcessEnv): SocketCandidate[] {
  if (process.platform === 'win32') return []; // Named pipes: testcontainers' own strategy knows them.
  const runtimeDir = env.XDG_RUNTIME_DIR?.trim() || undefined;
  const home = env.HOME?.trim() || homedir();
  const inRuntimeDir = (file: string): SocketCandidate => ({
    pattern: `$XDG_RUNTIME_DIR/${file}`,
    path: runtimeDir && join(runtimeDir, file),
    needs: 'XDG_RUNTIME_DIR',
  });
  return [
    { pattern: '/var/run/docker.sock', path: '/var/run/docker.sock' },
    inRuntimeDir('podman/podman.sock'),
    { pattern: '/run/podman/podman.sock', path: '/run/podman/podman.sock' },
    inRuntimeDir('docker.sock'),
    { pattern: '~/.docker/run/docker.sock', path: join(home, '.docker/run/docker.sock') },
  ];
}

/** A socket path is no secret and the user needs to see it; a network address may carry credentials. */
function showDockerHost(dockerHost: string): string {
  return /^(unix|npipe):/i.test(dockerHost) ? dockerHost : redactUrl(dockerHost);
}

/** Why `DOCKER_HOST` cannot be used, or `undefined` when something accepts connections there. */
async function dockerHostProblem(dockerHost: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    return 'not a URL (use unix:///path/to/docker.sock or tcp://host:port)';
  }
  let probe: ConnectProbe;
  if (url.protocol === 'unix:' || url.protocol === 'npipe:') {
    // npipe:////./pipe/docker_engine names the pipe \\.\pipe\docker_engine.
    const path = url.protocol === 'npipe:' ? url.pathname.replace(/^\/+/, '\\\\').replaceAll('/', '\\') : url.pathname;
    probe = await probeConnect({ path }, SOCKET_TIMEOUT_MS);
  } else if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1';
    probe = await probeConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (tls ? 2376 : 2375)) }, SOCKET_TIMEOUT_MS);
  } else {
    return `testcontainers cannot use a ${url.protocol}// address (use unix://, npipe:// or tcp://; forward an ssh socket with ssh -L)`;
  }
  return probe.ok ? undefined : describeProbe(probe);
}

function describeProbe(probe: ConnectProbe & { ok: false }): string {
  switch (probe.code) {
    case 'ENOENT':
      return 'absent';
    case 'ECONNREFUSED':
      return 'nothing listens there';
    case 'EACCES':
      return 'permission denied (is your user in the docker group?)';
    case 'ETIMEDOUT':
      return `no answer within ${SOCKET_TIMEOUT_MS} ms`;
    default:
      return probe.code;
  }
}

async function askTestcontainers(): Promise<(ContainerRuntime & { found: true }) | { found: false; problem: string }> {
  const testcontainers = await loadTestcontainers();
  if (!testcontainers) return { found: false, problem: 'not installed' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TESTCONTAINERS_TIMEOUT_MS} ms`)), TESTCONTAINERS_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const client = await Promise.race([testcontainers.getContainerRuntimeClient(), timeout]);
    return { found: true, via: `testcontainers' configuration (containers on ${client.info.containerRuntime.host})` };
  } catch (error) {
    return { found: false, problem: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
