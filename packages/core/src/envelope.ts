import { v7 as uuidv7, validate as isUuid } from 'uuid';
import { OutboxValidationError } from './errors.js';
import { shardOf } from './shards.js';

/** A JSON value as it is stored and sent: what `JSON.parse` can return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Fields every event has, whatever its type. */
interface EventBase {
  /** The business entity kind, e.g. `"order"`. Ordering is guaranteed per (aggregateType, aggregateId). */
  aggregateType: string;
  /** The entity's id, e.g. `"o-42"` or `42`. Numbers are stored as their decimal string. */
  aggregateId: string | number;
  /** String headers carried to the broker (trace context, correlation ids). `x-outbox-*` is reserved. */
  headers?: Record<string, string>;
  /** Explicit route; otherwise the publisher's routing rule decides (RabbitMQ: `exchange/routingKey` or a routing key). */
  destination?: string;
  /** The idempotency key. Defaults to a new UUIDv7; pass one only to make a retried write idempotent. */
  id?: string;
  /** When the business fact happened. Defaults to now. */
  occurredAt?: Date;
  /**
   * After this instant the event is worthless to consumers (a one-time code, a price quote): the
   * relay does not publish it but quarantines it with reason `expired`. Must be later than
   * `occurredAt`. Leave it (and `ttlMs`) out for an event that never expires.
   */
  expiresAt?: Date | null;
  /** The same as `expiresAt`, relative: expires this many milliseconds (> 0) after `occurredAt`. Give one of the two, not both. */
  ttlMs?: number;
}

/**
 * What a writer passes to create an event. Declare an event map to get compile-time checking of
 * `type` and `payload`:
 *
 * @example
 * type Events = { OrderPlaced: { orderId: string; total: number } };
 * const input: EventInput<Events> = {
 *   aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 },
 * };
 */
export type EventInput<Events extends EventMap = EventMap> = {
  [Type in keyof Events & string]: EventBase & { type: Type; payload: Events[Type] };
}[keyof Events & string];

/** Event type name -> payload type. The default accepts any type name and any JSON payload. */
export type EventMap = Record<string, unknown>;

/**
 * `Base` (an event shape with `type` and `payload`) for one event map: a union with one member
 * per event type, so checking `event.type` narrows `event.payload`. With the default, open
 * {@link EventMap} it is `Base` unchanged (`type: string`, a JSON payload).
 *
 * @example
 * type Events = { OrderPlaced: { total: number }; OrderCancelled: { reason: string } };
 * declare const event: TypedEvent<Envelope, Events>;
 * if (event.type === 'OrderPlaced') event.payload.total; // number
 */
export type TypedEvent<Base extends { readonly type: string; readonly payload: unknown }, Events extends EventMap> = string extends keyof Events
  ? Base
  : { [Type in keyof Events & string]: Omit<Base, 'type' | 'payload'> & { readonly type: Type; readonly payload: Events[Type] } }[keyof Events & string];

/**
 * What a write that takes one event or a list returns for its `Input`: `Item[]` for a list,
 * `Item` for one event. One signature instead of two overloads, so a wrong event gets one error.
 */
export type OneOrList<Input, Item> = Input extends readonly unknown[] ? Item[] : Item;

/** A validated, immutable event, ready to be written. The sequence is assigned by the database at write time. */
export interface Envelope {
  readonly id: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly type: string;
  readonly payload: JsonValue;
  readonly headers: Readonly<Record<string, string>>;
  readonly occurredAt: Date;
  readonly destination: string | null;
  /** After this instant the relay quarantines the event (reason `expired`) instead of publishing it; null: never expires. */
  readonly expiresAt: Date | null;
  /** Virtual shard (0..63) derived from the aggregate; the unit of relay ownership. */
  readonly shard: number;
}

/** An envelope as the relay reads it back from the outbox table. */
export interface StoredEvent extends Envelope {
  /** 1, 2, 3... per aggregate, in commit order. */
  readonly sequence: number;
  /** Insertion order across the whole table. */
  readonly position: number;
  /** Failed permanent publish attempts so far. */
  readonly attempts: number;
}

/** Header names the wire format uses; user headers may not start with this prefix. */
export const RESERVED_HEADER_PREFIX = 'x-outbox-';
const MAX_NAME_LENGTH = 255;

/**
 * Validates an event and returns its immutable envelope. Throws {@link OutboxValidationError}
 * naming the field; nothing is written when this throws.
 */
export function createEnvelope(input: EventInput): Envelope {
  if (input === null || typeof input !== 'object') {
    throw new OutboxValidationError('(event)', `expected an object, got ${describe(input)}`);
  }
  const aggregateType = requireName(input.aggregateType, 'aggregateType');
  const aggregateId = requireName(
    typeof input.aggregateId === 'number' && Number.isFinite(input.aggregateId) ? String(input.aggregateId) : input.aggregateId,
    'aggregateId',
  );
  const type = requireName(input.type, 'type');
  const payload = toJson(input.payload);
  const headers = validateHeaders(input.headers);
  const destination = input.destination === undefined || input.destination === null ? null : requireName(input.destination, 'destination');
  const id = input.id === undefined ? uuidv7() : validateId(input.id);
  const occurredAt = input.occurredAt === undefined ? new Date() : validateDate(input.occurredAt, 'occurredAt');
  const expiresAt = expiryOf(input, occurredAt);
  return Object.freeze({
    id,
    aggregateType,
    aggregateId,
    type,
    payload,
    headers: Object.freeze(headers),
    occurredAt,
    destination,
    expiresAt,
    shard: shardOf(aggregateType, aggregateId),
  });
}

function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new OutboxValidationError(field, `must be a non-empty string, got ${describe(value)}`);
  if (value.trim() === '') throw new OutboxValidationError(field, 'must not be empty');
  if (value.length > MAX_NAME_LENGTH) throw new OutboxValidationError(field, `must be at most ${MAX_NAME_LENGTH} characters, got ${value.length}`);
  return storableString(value, field);
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text every supported database stores as it is: well-formed UTF-16 (a lone surrogate survives
 * `JSON.stringify` but PostgreSQL's and MariaDB's JSON types refuse it, and a lossy UTF-8 column
 * would change it) and no NUL character (PostgreSQL's json/jsonb and text refuse `\u0000`; it is
 * refused everywhere so an event written on one database can be moved to another). Checked when
 * the envelope is created, so the error names the field instead of the database failing mid-write.
 */
function storableString(value: string, path: string): string {
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate) {
    throw new OutboxValidationError(
      path,
      `contains a lone UTF-16 surrogate (\\u${surrogate[0].charCodeAt(0).toString(16).toUpperCase()} at index ${surrogate.index}), which is not valid Unicode and which the databases' JSON types refuse; ` +
        'repair the string (String.prototype.toWellFormed) or encode the bytes (base64)',
    );
  }
  const nul = value.indexOf('\u0000');
  if (nul !== -1) {
    throw new OutboxValidationError(
      path,
      `contains a NUL character (\\u0000 at index ${nul}), which PostgreSQL cannot store in json/jsonb or text (refused on every database, so events stay portable); remove it or encode the bytes (base64)`,
    );
  }
  return value;
}

function validateId(id: unknown): string {
  if (typeof id !== 'string' || !isUuid(id)) {
    throw new OutboxValidationError('id', `must be a UUID string (leave it out to get a UUIDv7), got ${describe(id)}`);
  }
  return id.toLowerCase();
}

function validateDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new OutboxValidationError(field, `must be a valid Date, got ${value instanceof Date ? 'an invalid Date' : describe(value)}`);
  }
  return new Date(value.getTime());
}

/** `expiresAt`, or `occurredAt + ttlMs`, or null; an expiry not after `occurredAt` is a mistake, not an event. */
function expiryOf(input: EventBase, occurredAt: Date): Date | null {
  // null as absent: an envelope (expiresAt null) passed back through createEnvelope, as MikroORM's flush does.
  const expiresAt = input.expiresAt ?? undefined;
  const { ttlMs } = input;
  if (expiresAt !== undefined && ttlMs !== undefined) {
    throw new OutboxValidationError('expiresAt', 'and ttlMs are alternatives: give one of them (ttlMs counts from occurredAt)');
  }
  if (ttlMs !== undefined) {
    if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
      throw new OutboxValidationError('ttlMs', `must be a finite number of milliseconds > 0, got ${typeof ttlMs === 'number' ? ttlMs : describe(ttlMs)}`);
    }
    return new Date(occurredAt.getTime() + ttlMs);
  }
  if (expiresAt === undefined) return null;
  const expiry = validateDate(expiresAt, 'expiresAt');
  if (expiry.getTime() <= occurredAt.getTime()) {
    throw new OutboxValidationError(
      'expiresAt',
      `must be later than occurredAt (${occurredAt.toISOString()}), got ${expiry.toISOString()}; an event cannot expire before it happened`,
    );
  }
  return expiry;
}

/**
 * True when `event` has an expiry and `now` (epoch ms) has reached it. The relay asks right
 * before each publish, with its own clock, so an event that expires while its batch waits is
 * not sent late.
 */
export function isExpired(event: Pick<Envelope, 'expiresAt'>, now: number): boolean {
  return event.expiresAt !== null && event.expiresAt.getTime() <= now;
}

function validateHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new OutboxValidationError('headers', `must be an object of string values, got ${describe(headers)}`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key === '') throw new OutboxValidationError('headers', 'header names must not be empty');
    if (key.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) {
      throw new OutboxValidationError(`headers.${key}`, `the "${RESERVED_HEADER_PREFIX}" prefix is reserved for outboxkit's own headers`);
    }
    if (typeof value !== 'string') throw new OutboxValidationError(`headers.${key}`, `must be a string, got ${describe(value)}`);
    storableString(key, `headers.${key} (its name)`);
    out[key] = storableString(value, `headers.${key}`);
  }
  return out;
}

/**
 * Checks that the payload survives JSON unchanged and returns a detached copy, so a caller that
 * mutates its object after writing cannot change the stored event. Silent JSON losses
 * (functions, undefined, NaN, Map) are errors here rather than surprises on the consumer side.
 */
function toJson(payload: unknown): JsonValue {
  if (payload === undefined) throw new OutboxValidationError('payload', 'is required (use null for an empty payload)');
  assertJson(payload, 'payload', new Set());
  return JSON.parse(JSON.stringify(payload)) as JsonValue;
}

function assertJson(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      storableString(value, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new OutboxValidationError(path, `is ${value}, which JSON cannot represent`);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new OutboxValidationError(path, 'is a circular reference; payloads must be JSON-serialisable');
      // The one class instance a payload may hold: it is stored, and delivered, as its ISO
      // string (`toJSON`), so a consumer reads back a string, not a Date (docs/design.md).
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw new OutboxValidationError(path, 'is an invalid Date');
        return;
      }
      seen.add(value);
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) assertJson(item, `${path}[${i}]`, seen);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new OutboxValidationError(path, `is a ${proto?.constructor?.name ?? 'non-plain object'}; payloads must be plain JSON objects`);
        }
        for (const [key, item] of Object.entries(value)) {
          storableString(key, `${path}.${key} (its key)`);
          assertJson(item, `${path}.${key}`, seen);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new OutboxValidationError(path, `is a ${typeof value}, which is not JSON-serialisable`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value;
}
