import type { JsonValue } from './envelope.js';

/** A message that cannot be an outbox event (no id, bad JSON...): redelivering it cannot help. */
export class UndecodableMessage {
  constructor(readonly reason: string) {}
}

/** `body` (UTF-8 JSON text or bytes) parsed, or why it is not JSON, the reason naming it as `what` ("the body"). */
export function parseJsonMessage(body: string | Uint8Array, what: string): JsonValue | UndecodableMessage {
  try {
    return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as JsonValue;
  } catch (error) {
    return new UndecodableMessage(`${what} is not JSON: ${(error as Error).message}`);
  }
}
