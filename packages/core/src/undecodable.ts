/** A message that cannot be an outbox event (no id, bad JSON...): redelivering it cannot help. */
export class UndecodableMessage {
  constructor(readonly reason: string) {}
}
