import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, propagation, SpanKind, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Relay, traceContextFromHeaders, writeEvents, type EventInput } from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { collectQueue, DeliveryLog, serviceUrl, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

// W3CTraceContextPropagator lives in @opentelemetry/core, which is installed only as a dependency
// of sdk-trace-base (not a root devDependency): load it from there.
const { W3CTraceContextPropagator } = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/sdk-trace-base'))('@opentelemetry/core') as {
  W3CTraceContextPropagator: new () => TextMapPropagator;
};

let db: TestDatabase;
let target: DatabaseTarget;
let brokerUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('PostgreSQL');
  target = await openDatabase(db.url, { tables: { schema: db.schema! } });
  await target.dialect.migrate(target.database);
  brokerUrl = await serviceUrl('rabbitmq');
});

afterAll(async () => {
  await target?.database.close();
  await db?.dispose();
});

const order = (id: string, headers?: Record<string, string>): EventInput => ({
  aggregateType: 'order',
  aggregateId: id,
  type: 'OrderPlaced',
  payload: { id },
  ...(headers ? { headers } : {}),
});

describe('trace context without an OpenTelemetry SDK', () => {
  it('writeEvents adds no headers (the API is a no-op until an application registers an SDK)', async () => {
    const [written] = await target.database.transaction((tx) => writeEvents(target.dialect, tx, order('no-sdk')));
    expect(written!.headers).toEqual({});
  });
});

describe('trace context writer -> envelope -> publish span -> consumer, with the in-memory exporter', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const tracer = provider.getTracer('observability-test');
  let exchange: string;
  let collector: QueueCollector;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    exchange = uniqueName('okt_x');
    collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log: new DeliveryLog(),
    });
  });

  afterAll(async () => {
    await collector?.close();
    trace.disable();
    propagation.disable();
    context.disable();
    await provider.shutdown();
  });

  it('puts writer, publish and consumer spans in one trace, each the parent of the next', async () => {
    await target.database.query(`DELETE FROM "${db.schema}".outbox_events`);
    const foreign = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // The writer: a business operation's span, active while the event is written.
    const { writerSpanId, writerTraceId, written } = await tracer.startActiveSpan('place order', async (span) => {
      const rows = await target.database.transaction((tx) => writeEvents(target.dialect, tx, [order('o-1'), order('o-2', { traceparent: foreign })]));
      span.end();
      return { writerSpanId: span.spanContext().spanId, writerTraceId: span.spanContext().traceId, written: rows };
    });

    // The envelope carries the writer's context, unless the caller set one of its own.
    expect(written[0]!.headers.traceparent).toBe(`00-${writerTraceId}-${writerSpanId}-01`);
    expect(written[1]!.headers.traceparent).toBe(foreign);

    const publisher = createRabbitPublisher({ connection: brokerUrl, exchange });
    const relay = new Relay({ dialect: target.dialect, database: target.database, publisher });
    try {
      // The relay runs outside any span: its publish spans take their parent from the headers.
      const result = await relay.drain();
      expect(result).toMatchObject({ published: 2, transient: false });
    } finally {
      await publisher.close();
    }
    await collector.waitFor(2, 20_000);

    // The consumer: extracts the context from the delivered AMQP headers.
    const delivered = collector.messages.find((message) => message.messageId === written[0]!.id)!;
    const deliveredTraceparent = String(delivered.headers?.traceparent);
    context.with(traceContextFromHeaders(delivered.headers), () => {
      tracer.startActiveSpan('handle OrderPlaced', { kind: SpanKind.CONSUMER }, (span) => span.end());
    });

    const spans = exporter.getFinishedSpans();
    const byName = (name: string): ReadableSpan[] => spans.filter((span) => span.name === name);
    const [writer] = byName('place order');
    const publishes = byName(`publish ${exchange}`);
    const [consumer] = byName('handle OrderPlaced');
    expect(publishes).toHaveLength(2);
    const publish = publishes.find((span) => span.attributes['messaging.message.id'] === written[0]!.id)!;
    const foreignPublish = publishes.find((span) => span.attributes['messaging.message.id'] === written[1]!.id)!;

    console.log(
      'trace chain:',
      [writer, publish, consumer].map(
        (span) => `${span!.name} trace=${span!.spanContext().traceId} span=${span!.spanContext().spanId} parent=${span!.parentSpanContext?.spanId ?? '-'}`,
      ),
    );
    // One trace, each span the child of the previous hop.
    expect(writer!.spanContext().traceId).toBe(writerTraceId);
    expect(publish.spanContext().traceId).toBe(writerTraceId);
    expect(publish.parentSpanContext?.spanId).toBe(writer!.spanContext().spanId);
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.destination.name': exchange, 'messaging.operation.type': 'send' });
    // The wire carries the publish span's context, not the writer's.
    expect(deliveredTraceparent).toBe(`00-${writerTraceId}-${publish.spanContext().spanId}-01`);
    expect(consumer!.spanContext().traceId).toBe(writerTraceId);
    expect(consumer!.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    // The caller-set context was honoured all the way.
    expect(foreignPublish.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(foreignPublish.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    // No payload data in span attributes.
    for (const span of publishes) expect(JSON.stringify(span.attributes)).not.toMatch(/o-1|o-2/);
  });
});
