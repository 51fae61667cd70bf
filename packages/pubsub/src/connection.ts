import { OutboxConfigError, redactUrl } from '@outboxkit/core';
import type { ClientConfig, PubSub } from '@google-cloud/pubsub';

/** A client to use as it is, or where to open one (and own it). */
export type PubsubClientTarget =
  | { readonly kind: 'shared'; readonly instance: PubSub }
  | {
      readonly kind: 'owned';
      readonly projectId: string;
      /** `host:port` of another endpoint (the emulator); undefined: Google's. */
      readonly apiEndpoint: string | undefined;
      /** The URL for messages (it holds no secret: credentials come from Application Default Credentials). */
      readonly where: string;
    };

// Project ids: 6-30 of lowercase letters, digits and hyphens, starting with a letter (the emulator takes any such id).
const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * Parses a Pub/Sub broker URL:
 * - `pubsub://<project>`: Google's endpoint; credentials from Application Default Credentials
 *   (`GOOGLE_APPLICATION_CREDENTIALS`, the metadata server of GCE/GKE/Cloud Run, gcloud's login);
 * - `pubsub+http://host:port/<project>`: another endpoint, such as the emulator, without TLS.
 * URLs carry no credentials; one with a user or password is refused (its secret never shown).
 */
export function parsePubsubUrl(text: string, option: string): Extract<PubsubClientTarget, { kind: 'owned' }> {
  const example = 'pubsub://my-project or pubsub+http://127.0.0.1:8085/my-project';
  const fail = (problem: string): never => {
    throw new OutboxConfigError(option, `${redactUrl(text)} ${problem}; expected ${example}`);
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') fail('has credentials; Pub/Sub takes them from Application Default Credentials, not the URL');
  if (url.search !== '') fail('has parameters; none are known');
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (url.protocol === 'pubsub:') {
    if (path !== '') fail('has a path; the project is the host (pubsub://my-project)');
    if (!PROJECT.test(url.hostname)) fail(`names the project "${url.hostname}", which is not a Google Cloud project id`);
    return { kind: 'owned', projectId: url.hostname, apiEndpoint: undefined, where: `pubsub://${url.hostname}` };
  }
  if (url.protocol !== 'pubsub+http:') fail(`uses ${url.protocol}; use pubsub:// for Google or pubsub+http:// for the emulator`);
  if (url.hostname === '' || url.port === '') fail('needs host:port');
  if (!PROJECT.test(path)) fail(`names the project "${path}" as its path, which is not a Google Cloud project id`);
  return { kind: 'owned', projectId: path, apiEndpoint: url.host, where: `pubsub+http://${url.host}/${path}` };
}

/** Checks a broker URL or a `PubSub` client (anything with `topic()`). */
export function normalizePubsubClient(connection: unknown, option = 'connection'): PubsubClientTarget {
  if (typeof connection === 'string') return parsePubsubUrl(connection, option);
  if (connection !== null && typeof connection === 'object' && typeof (connection as PubSub).topic === 'function') {
    return { kind: 'shared', instance: connection as PubSub };
  }
  throw new OutboxConfigError(option, 'expected a pubsub:// or pubsub+http:// URL or a PubSub client from @google-cloud/pubsub');
}

/**
 * The client options for an owned target. For another endpoint: no TLS (`emulatorMode`), and the
 * universe named, so the auth library does not probe the GCE metadata server (169.254.169.254) for it.
 */
export function clientOptions(target: Extract<PubsubClientTarget, { kind: 'owned' }>): ClientConfig {
  if (target.apiEndpoint === undefined) return { projectId: target.projectId };
  return { projectId: target.projectId, apiEndpoint: target.apiEndpoint, emulatorMode: true, universeDomain: 'googleapis.com' };
}
