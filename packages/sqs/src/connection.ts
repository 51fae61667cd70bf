import { OutboxConfigError, redactUrl, scrub } from '@outboxkit/core';

/** Which AWS service a URL or client is for; it names the scheme (`sqs://`, `sns://`). */
export type AwsService = 'sqs' | 'sns';

/** Where the client sends its requests and how it signs them, parsed from a broker URL. */
export interface AwsEndpointConfig {
  readonly region: string;
  /** A custom endpoint (an emulator, a VPC endpoint); undefined: AWS's own for the region. */
  readonly endpoint: string | undefined;
  /** From the URL's user:password; undefined: the SDK's default provider chain (env, profile, role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** The account of the URL's path (SNS: the topics' account), or undefined. */
  readonly account: string | undefined;
  /** The URL without its secret, for messages. */
  readonly where: string;
  /** What must never appear in a message: the secret key, raw and decoded, and the whole URL. */
  readonly secrets: readonly string[];
}

/** A client to use as it is, or the endpoint of one to create (and own). */
export type AwsClientTarget<Client> = { readonly kind: 'shared'; readonly instance: Client } | ({ readonly kind: 'owned' } & AwsEndpointConfig);

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
/** The region a custom endpoint signs for when its URL names none; emulators accept any. */
const DEFAULT_ENDPOINT_REGION = 'us-east-1';

/**
 * Parses a broker URL for `service`:
 * - `sqs://eu-west-1` (`sns://eu-west-1/123456789012`): AWS's endpoint for the region; the
 *   credentials come from the SDK's default chain (environment, profile, instance or task role).
 * - `sqs+http://127.0.0.1:4566?region=us-east-1` (or `sqs+https://`): a custom endpoint such as an
 *   emulator; `region` defaults to us-east-1.
 * A `user:password` part is taken as access key id and secret access key (for emulators; on AWS
 * prefer a role). SNS URLs name the topics' account as their path. Errors never show the secret.
 */
export function parseAwsUrl(text: string, service: AwsService, option: string): AwsEndpointConfig {
  const example =
    service === 'sqs'
      ? 'sqs://eu-west-1 or sqs+http://127.0.0.1:4566?region=us-east-1'
      : 'sns://eu-west-1/123456789012 or sns+http://127.0.0.1:4566/000000000000';
  const fail = (problem: string): never => {
    throw new OutboxConfigError(option, `${redactUrl(text)} ${problem}; expected ${example}`);
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a valid URL');
  }
  const scheme = url.protocol.slice(0, -1);
  const custom = scheme === `${service}+http` || scheme === `${service}+https`;
  if (scheme !== service && !custom) fail(`uses ${url.protocol}; use ${service}:// for AWS or ${service}+http(s):// for another endpoint`);
  const secret = safeDecode(url.password);
  const accessKeyId = safeDecode(url.username);
  if ((accessKeyId === '') !== (secret === '')) fail('has only half of the credentials (give access-key-id:secret-access-key, or neither)');
  const credentials = accessKeyId === '' ? undefined : { accessKeyId, secretAccessKey: secret };
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (path !== '' && (service === 'sqs' || !ACCOUNT.test(path)))
    fail(service === 'sqs' ? 'has a path; queues come from the routing rule' : 'has a path that is not a 12-digit account id');
  for (const key of url.searchParams.keys()) if (key !== 'region') fail(`has an unknown parameter "${key}" (only region is known)`);
  let region: string;
  let endpoint: string | undefined;
  if (custom) {
    if (url.hostname === '') fail('has no host');
    region = url.searchParams.get('region') ?? DEFAULT_ENDPOINT_REGION;
    endpoint = `${scheme.slice(service.length + 1)}://${url.host}`;
  } else {
    if (url.searchParams.has('region')) fail('names the region twice (host and ?region=)');
    region = url.hostname;
    endpoint = undefined;
  }
  if (!REGION.test(region)) fail(`names the region "${region}", which is not an AWS region like eu-west-1`);
  const secrets = [text, url.password, secret].filter((value) => value !== '');
  const where = custom ? `${url.protocol}//${url.host}` : `${url.protocol}//${region}`;
  return { region, endpoint, credentials, account: path === '' ? undefined : path, where, secrets };
}

/** Checks a broker URL or an SDK client (anything with `send`, e.g. `new SQSClient(...)`). */
export function normalizeAwsClient<Client>(connection: unknown, service: AwsService, option = 'connection'): AwsClientTarget<Client> {
  if (typeof connection === 'string') return { kind: 'owned', ...parseAwsUrl(connection, service, option) };
  // Structural: two copies of the SDK would defeat `instanceof`.
  if (connection !== null && typeof connection === 'object' && typeof (connection as { send?: unknown }).send === 'function') {
    return { kind: 'shared', instance: connection as Client };
  }
  const client = service === 'sqs' ? 'an SQSClient from @aws-sdk/client-sqs' : 'an SNSClient from @aws-sdk/client-sns';
  throw new OutboxConfigError(option, `expected a ${service}:// or ${service}+http:// URL or ${client}`);
}

/** The SDK client options for an owned target: region, endpoint and static credentials when given. */
export function clientConfig(target: AwsEndpointConfig): { region: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } {
  return {
    region: target.region,
    ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
    ...(target.credentials === undefined ? {} : { credentials: { ...target.credentials } }),
  };
}

/** Text of an SDK error with credentials removed. */
export function errorText(error: unknown, secrets: readonly string[]): string {
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return scrub(message, secrets);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
