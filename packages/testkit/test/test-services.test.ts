import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, SERVICE_NAMES, SERVICES, startOutboxTestServices } from '../src/index.js';

// The container branch cannot run on these machines (no container runtime): what is exercised
// here is everything around it, against the real local servers.

const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));

/** Runs an ES module snippet in a fresh Node process with exactly `env` (plus PATH), returning what it printed as JSON. */
function inChild(code: string, env: Record<string, string>): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('startOutboxTestServices (real local servers)', () => {
  it('uses the local defaults when nothing is set and they answer: nothing started, nothing written', async () => {
    const env: NodeJS.ProcessEnv = {};
    const services = await startOutboxTestServices({ env });
    expect(services.urls).toEqual(Object.fromEntries(SERVICE_NAMES.map((name) => [name, SERVICES[name].fallback])));
    expect(services.sources).toEqual(Object.fromEntries(SERVICE_NAMES.map((name) => [name, 'local'])));
    await services.stop();
    await services.stop();
    expect(env).toEqual({});
  });

  it("uses a service's variable as given when it answers, for only the services asked for", async () => {
    const url = `${SERVICES.postgres.fallback}?application_name=okt_services`;
    const services = await startOutboxTestServices({ services: ['postgres', 'rabbitmq'], env: { OUTBOX_TEST_POSTGRES_URL: url } });
    expect(services.urls).toEqual({ postgres: url, rabbitmq: SERVICES.rabbitmq.fallback });
    expect(services.sources).toEqual({ postgres: 'env', rabbitmq: 'local' });
  });

  it('fails, naming each service it cannot provide and its variable, without leaking passwords', async () => {
    const deadRabbit = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    const deadNats = `nats://127.0.0.1:${await freePort()}`;
    const attempt = startOutboxTestServices({ env: { OUTBOX_TEST_RABBITMQ_URL: deadRabbit, OUTBOX_TEST_NATS_URL: deadNats, CI: 'true' } });
    await expect(attempt).rejects.toThrow(
      'startOutboxTestServices: 2 service(s) unavailable:\n' +
        `- rabbitmq is not reachable at ${deadRabbit.replace('guest:guest', 'guest:***')}. OUTBOX_TEST_RABBITMQ_URL is used as given, never replaced by a container: start the server it names or correct it. CI=true: a missing service fails the run.\n` +
        `- nats is not reachable at ${deadNats}. OUTBOX_TEST_NATS_URL is used as given, never replaced by a container: start the server it names or correct it. CI=true: a missing service fails the run.`,
    );
  });

  it('rejects a service variable that is not a URL, naming the variable and hiding the value', async () => {
    await expect(startOutboxTestServices({ services: ['postgres', 'redis'], env: { OUTBOX_TEST_REDIS_URL: 's3cret' } })).rejects.toThrow(
      'OUTBOX_TEST_REDIS_URL is not a URL (<redacted>); expected something like scheme://user@host:port/database',
    );
  });
});

describe('serviceUrl and the vitest global setup (fresh processes)', () => {
  it('serviceUrl throws the resolution message for an unreachable service variable', async () => {
    const dead = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
    const outcome = inChild(
      `import { serviceUrl } from ${JSON.stringify(dist('index.js'))};
       const outcome = await serviceUrl('postgres').then((url) => ({ url }), (error) => ({ error: error.message }));
       console.log(JSON.stringify(outcome));`,
      { OUTBOX_TEST_POSTGRES_URL: dead },
    );
    expect(outcome).toEqual({
      error: `postgres is not reachable at ${dead}. OUTBOX_TEST_POSTGRES_URL is used as given, never replaced by a container: start the server it names or correct it.`,
    });
  });

  it('the global setup starts nothing and sets no variable when every local default answers, or under CI', () => {
    const script = `import setup from ${JSON.stringify(dist('vitest-global-setup.js'))};
       const teardown = await setup();
       const set = Object.keys(process.env).filter((name) => name.startsWith('OUTBOX_TEST_'));
       await teardown();
       console.log(JSON.stringify({ set, teardown: typeof teardown }));`;
    expect(inChild(script, {})).toEqual({ set: [], teardown: 'function' });
    expect(inChild(script, { CI: 'true' })).toEqual({ set: [], teardown: 'function' });
  });
});
