/** A publish in flight whose message may come back from the broker as unroutable. */
export interface ReturnTicket {
  /** The broker's reply text when it returned the message, e.g. `NO_ROUTE`; null otherwise. */
  readonly returnedWith: string | null;
  /** Stops tracking. Call exactly once, whatever the outcome. */
  end(): void;
}

interface MutableTicket extends ReturnTicket {
  returnedWith: string | null;
}

/**
 * Correlates `basic.return` frames with publishes by message id.
 *
 * rabbitmq-client resolves `send()` for an unroutable mandatory message (the broker sends
 * basic.return, then the ack, on the channel) but emits `basic.return` only later, on a
 * `setImmediate` it queues when it parses the return, which is before it parses the ack. So a
 * publish registers a ticket before sending and, after its confirm, awaits {@link returnsSeen}
 * before reading it. Only messages in flight are tracked, so returns of abandoned publishes
 * cannot pile up.
 */
export class ReturnTracker {
  readonly #inFlight = new Map<string, Set<MutableTicket>>();
  #round: Promise<void> | null = null;

  /**
   * Resolves once every `basic.return` queued before this call has been emitted: on an
   * immediate queued after the call. One round serves every publish confirmed until its first
   * immediate runs (instead of a macrotask per message, which also split the next sends into
   * one socket write each): that first immediate closes the round, so every member's confirm,
   * and so its return's immediate, came before it, and queues a second one, which runs after
   * all of them and resolves the round.
   */
  returnsSeen(): Promise<void> {
    this.#round ??= new Promise<void>((resolve) => {
      setImmediate(() => {
        this.#round = null;
        setImmediate(resolve);
      });
    });
    return this.#round;
  }

  begin(messageId: string): ReturnTicket {
    let tickets = this.#inFlight.get(messageId);
    if (!tickets) {
      tickets = new Set();
      this.#inFlight.set(messageId, tickets);
    }
    const ticket: MutableTicket = {
      returnedWith: null,
      end: () => {
        tickets.delete(ticket);
        if (tickets.size === 0 && this.#inFlight.get(messageId) === tickets) this.#inFlight.delete(messageId);
      },
    };
    tickets.add(ticket);
    return ticket;
  }

  /** Feed every `basic.return` here. */
  onReturn(message: { messageId?: string; replyText?: string; replyCode?: number }): void {
    if (message.messageId === undefined) return;
    const tickets = this.#inFlight.get(message.messageId);
    if (!tickets) return;
    // The same event id twice in flight (a replay racing the relay) has one route, so one
    // return answers for both.
    for (const ticket of tickets) ticket.returnedWith = message.replyText || `reply code ${message.replyCode ?? 'unknown'}`;
  }

  /** Publishes currently tracked; for tests and leak checks. */
  get size(): number {
    return this.#inFlight.size;
  }
}
