import { redactUrl } from '@outboxkit/core';
import { SERVICE_NAMES } from './service-catalog.js';
import { containerPolicy } from './containers/policy.js';
import { DEFAULT_STARTUP_TIMEOUT_MS, provideServices } from './containers/start-services.js';

/**
 * A vitest global setup: `globalSetup: ['@outboxkit/testkit/vitest-global-setup']`.
 *
 * It runs once per run in vitest's main process, before the test files. Every service that
 * neither its variable nor its local default provides is started in a container where that is
 * allowed and possible, and its URL is written to the service's variable, which the test
 * workers inherit, so serviceUrl() returns it in every file. The containers stop when the run
 * ends. A service it cannot provide is left alone: the tests that need it fail with
 * serviceUrl()'s message. Where containers are not allowed (CI) it does nothing at all.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (!containerPolicy(process.env).allowed) return async () => {};
  const provided = await provideServices(SERVICE_NAMES, process.env, DEFAULT_STARTUP_TIMEOUT_MS);
  for (const resolution of provided.resolutions) {
    if ('container' in resolution) {
      console.error(`@outboxkit/testkit: ${resolution.name} runs in a container (${resolution.container.image}) at ${redactUrl(resolution.url)} for this run`);
    }
  }
  return () => provided.stop();
}
