import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectContainerRuntime, freePort } from '../src/index.js';
import { unreachableMessage } from '../src/containers/resolve.js';
import { socketCandidates } from '../src/containers/runtime.js';

// These machines have no container runtime (the docker client is installed, no daemon). Every
// case points DOCKER_HOST somewhere known, through the env handed to the detector, so the
// answers do not depend on the machine and nothing leaks into tests running alongside.

describe('container runtime detection', () => {
  let dir: string;
  let deadPort: number;
  let listening: Server;
  let listeningPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'okt-runtime-'));
    deadPort = await freePort();
    listeningPath = join(dir, 'listening.sock');
    listening = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listening.listen(listeningPath, resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => listening.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports no runtime when DOCKER_HOST names a socket that does not exist, or a port nobody listens on', async () => {
    const missing = join(dir, 'docker.sock');
    expect(await detectContainerRuntime({ DOCKER_HOST: `unix://${missing}` })).toEqual({ found: false, tried: [`DOCKER_HOST=unix://${missing}: absent`] });
    expect(await detectContainerRuntime({ DOCKER_HOST: `tcp://127.0.0.1:${deadPort}` })).toEqual({
      found: false,
      tried: [`DOCKER_HOST=tcp://127.0.0.1:${deadPort}: nothing listens there`],
    });
  });

  it('says which DOCKER_HOST forms testcontainers cannot use, without showing credentials', async () => {
    expect(await detectContainerRuntime({ DOCKER_HOST: 'ssh://deploy:hunter2@build-host' })).toEqual({
      found: false,
      tried: [
        'DOCKER_HOST=ssh://deploy:***@build-host: testcontainers cannot use a ssh:// address (use unix://, npipe:// or tcp://; forward an ssh socket with ssh -L)',
      ],
    });
  });

  it('accepts a DOCKER_HOST socket that takes connections (whether a daemon speaks there is for testcontainers to find out)', async () => {
    expect(await detectContainerRuntime({ DOCKER_HOST: `unix://${listeningPath}` })).toEqual({ found: true, via: `DOCKER_HOST=unix://${listeningPath}` });
  });

  it('looks for the Docker, Podman, rootless Docker and Docker Desktop sockets when DOCKER_HOST is unset', () => {
    expect(socketCandidates({ XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/dev' }).map((socket) => socket.path)).toEqual([
      '/var/run/docker.sock',
      '/run/user/1000/podman/podman.sock',
      '/run/podman/podman.sock',
      '/run/user/1000/docker.sock',
      '/home/dev/.docker/run/docker.sock',
    ]);
    const withoutRuntimeDir = socketCandidates({ HOME: '/home/dev' }).filter((socket) => socket.path === undefined);
    expect(withoutRuntimeDir.map((socket) => `${socket.pattern}: ${socket.needs}`)).toEqual([
      '$XDG_RUNTIME_DIR/podman/podman.sock: XDG_RUNTIME_DIR',
      '$XDG_RUNTIME_DIR/docker.sock: XDG_RUNTIME_DIR',
    ]);
  });
});

describe('the message for a service nobody runs', () => {
  let deadPort: number;
  let deadUrl: string;

  beforeAll(async () => {
    deadPort = await freePort();
    deadUrl = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
  });

  it('without a container runtime: names DOCKER_HOST, what was found there, and the service variable to set', async () => {
    const message = await unreachableMessage('postgres', deadUrl, { DOCKER_HOST: `tcp://127.0.0.1:${deadPort}` });
    expect(message).toBe(
      `postgres is not reachable at ${deadUrl}. No container runtime was found to start it in ` +
        `(DOCKER_HOST=tcp://127.0.0.1:${deadPort}: nothing listens there). Start it and point OUTBOX_TEST_POSTGRES_URL at it ` +
        '(see docs/testing.md), or start Docker or Podman and set DOCKER_HOST to its socket.',
    );
  });

  it('under CI: containers are not tried (the runtime is not even looked for) unless OUTBOX_TEST_CONTAINERS=1', async () => {
    const ci = { CI: 'true', DOCKER_HOST: `tcp://127.0.0.1:${deadPort}` };
    expect(await unreachableMessage('rabbitmq', 'amqp://guest:guest@127.0.0.1:1', ci)).toBe(
      'rabbitmq is not reachable at amqp://guest:***@127.0.0.1:1. CI=true: containers are not tried, so a missing service fails the run ' +
        '(OUTBOX_TEST_CONTAINERS=1 allows them). Start it (see docs/testing.md) or point OUTBOX_TEST_RABBITMQ_URL at a running server.',
    );
    const optedIn = await unreachableMessage('rabbitmq', 'amqp://guest:guest@127.0.0.1:1', { ...ci, OUTBOX_TEST_CONTAINERS: '1' });
    expect(optedIn).toContain(`No container runtime was found to start it in (DOCKER_HOST=tcp://127.0.0.1:${deadPort}: nothing listens there)`);
    expect(optedIn).toContain('OUTBOX_TEST_RABBITMQ_URL');
  });

  it('with containers switched off, or a value that means neither', async () => {
    expect(await unreachableMessage('nats', 'nats://127.0.0.1:1', { OUTBOX_TEST_CONTAINERS: '0' })).toBe(
      'nats is not reachable at nats://127.0.0.1:1. Containers are switched off (OUTBOX_TEST_CONTAINERS=0). ' +
        'Start it (see docs/testing.md) or point OUTBOX_TEST_NATS_URL at a running server.',
    );
    await expect(unreachableMessage('nats', 'nats://127.0.0.1:1', { OUTBOX_TEST_CONTAINERS: 'yes' })).rejects.toThrow(
      'OUTBOX_TEST_CONTAINERS must be 1 or true (start missing services in containers), 0 or false (never), or unset (outside CI only); got "yes"',
    );
  });

  it('for a URL from the service variable: used as given, never replaced by a container', async () => {
    const env = { OUTBOX_TEST_POSTGRES_URL: deadUrl, DOCKER_HOST: `tcp://127.0.0.1:${deadPort}` };
    expect(await unreachableMessage('postgres', deadUrl, env)).toBe(
      `postgres is not reachable at ${deadUrl}. OUTBOX_TEST_POSTGRES_URL is used as given, never replaced by a container: start the server it names or correct it.`,
    );
  });
});
