import { OutboxConfigError } from '@outboxkit/core';
import { Connection } from 'rabbitmq-client';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeRabbitPublisherOptions, RABBIT_PUBLISHER_DEFAULTS, type RabbitPublisherOptions } from '../src/index.js';

const url = 'amqp://guest:guest@127.0.0.1:5672';

function configErrorOf(options: unknown): OutboxConfigError {
  try {
    normalizeRabbitPublisherOptions(options as RabbitPublisherOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(OutboxConfigError);
    return err as OutboxConfigError;
  }
  throw new Error('expected an OutboxConfigError');
}

describe('normalizeRabbitPublisherOptions', () => {
  it('takes a CloudEvents format with its source', () => {
    const normalized = normalizeRabbitPublisherOptions({ connection: url, format: 'cloudevents-binary', cloudEventsSource: 'urn:example:shop' });
    expect(normalized.messageFormat).toEqual({ format: 'cloudevents-binary', cloudEventsSource: 'urn:example:shop' });
  });

  it.each([
    [{ format: 'cloudevents' }, 'format', /is not a message format; use one of native, cloudevents-binary, cloudevents-structured/],
    [{ format: 'cloudevents-structured' }, 'cloudEventsSource', /is required with cloudevents-structured/],
    [{ format: 'cloudevents-binary', cloudEventsSource: 'not a uri' }, 'cloudEventsSource', /"not a uri" is not a URI-reference/],
    [{ format: 'cloudevents-binary', cloudEventsSource: '' }, 'cloudEventsSource', /is not a URI-reference/],
    [{ format: 'cloudevents-binary', cloudEventsSource: '/a%zz' }, 'cloudEventsSource', /is not a URI-reference/],
    [{ format: 'cloudevents-binary', cloudEventsSource: 42 }, 'cloudEventsSource', /42 is not a URI-reference/],
    [{ cloudEventsSource: 'urn:example:shop' }, 'cloudEventsSource', /is only used with cloudevents-binary or cloudevents-structured/],
  ])('refuses the wire format %o naming %s', (options, option, message) => {
    const error = configErrorOf({ connection: url, ...options });
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('fills in the documented defaults for a URL connection', () => {
    const normalized = normalizeRabbitPublisherOptions({ connection: url });
    expect(normalized).toEqual({
      connection: { kind: 'owned', url },
      exchange: 'outbox.events',
      exchangeType: 'topic',
      declareExchange: true,
      confirmTimeoutMs: 10_000,
      maxMessageBytes: 16 * 1024 * 1024,
      route: null,
      messageFormat: { format: 'native', cloudEventsSource: null },
    });
    expect(RABBIT_PUBLISHER_DEFAULTS.maxMessageBytes).toBe(16 * 1024 * 1024);
    expect(Object.isFrozen(normalized)).toBe(true);
  });

  describe('with a Connection instance', () => {
    // Constructing a Connection starts connecting; point it at a closed loopback port and close it.
    const connection = new Connection({ url: 'amqp://127.0.0.1:1', retryLow: 60_000 });
    connection.on('error', () => undefined);
    afterAll(() => connection.close());

    it('keeps it as a shared connection and takes the given values', () => {
      const route = () => ({ exchange: 'x', routingKey: 'y' });
      const normalized = normalizeRabbitPublisherOptions({
        connection,
        exchange: 'billing:v1',
        exchangeType: 'fanout',
        declareExchange: false,
        confirmTimeoutMs: 1,
        maxMessageBytes: 512 * 1024 * 1024,
        route,
      });
      expect(normalized.connection).toEqual({ kind: 'shared', instance: connection });
      expect(normalized).toMatchObject({ exchange: 'billing:v1', exchangeType: 'fanout', declareExchange: false, confirmTimeoutMs: 1, route });
    });
  });

  it.each([
    ['options', null],
    ['connection', { connection: undefined }],
    ['connection', { connection: 42 }],
    ['connection', { connection: { url } }],
    ['exchange', { connection: url, exchange: '' }],
    ['exchange', { connection: url, exchange: 'a/b' }],
    ['exchange', { connection: url, exchange: 'x'.repeat(256) }],
    ['exchangeType', { connection: url, exchangeType: 'x-delayed-message' }],
    ['declareExchange', { connection: url, declareExchange: 'yes' }],
    ['confirmTimeoutMs', { connection: url, confirmTimeoutMs: 0 }],
    ['confirmTimeoutMs', { connection: url, confirmTimeoutMs: 1.5 }],
    ['confirmTimeoutMs', { connection: url, confirmTimeoutMs: 2 ** 31 }],
    ['maxMessageBytes', { connection: url, maxMessageBytes: 0 }],
    ['maxMessageBytes', { connection: url, maxMessageBytes: 512 * 1024 * 1024 + 1 }],
    ['maxMessageBytes', { connection: url, maxMessageBytes: '1mb' }],
    ['route', { connection: url, route: 'orders' }],
  ])('rejects a bad %s and names it', (option, options) => {
    const err = configErrorOf(options);
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`${option}: `)).toBe(true);
  });

  it('names the allowed range in the message', () => {
    expect(configErrorOf({ connection: url, confirmTimeoutMs: -5 }).message).toBe('confirmTimeoutMs: must be an integer from 1 to 2147483647, got -5');
    expect(configErrorOf({ connection: url, exchangeType: 'x' }).message).toContain('topic, direct, fanout, headers');
  });

  it.each([
    'amqp://guest:Sup3rSecretPw@127.0.0.1:99999',
    'http://guest:Sup3rSecretPw@127.0.0.1:5672',
    'not a url with Sup3rSecretPw',
    'amqp://guest:Sup3rSecretPw@',
  ])('rejects the URL %s without repeating its password', (badUrl) => {
    const err = configErrorOf({ connection: badUrl });
    expect(err.option).toBe('connection');
    expect(err.message).not.toContain('Sup3rSecretPw');
    expect(err.cause).toBeUndefined();
  });
});
