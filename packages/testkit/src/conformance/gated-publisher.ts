import { PublishError, type Publisher, type StoredEvent } from '@outboxkit/core';

/**
 * Where the gate holds a publish: before anything is sent (a relay paused in the middle of a
 * batch), or after the broker confirmed it but before the relay hears so (a relay that dies
 * between the broker's confirm and its mark, so the event is re-published by its successor).
 */
export type GatePosition = 'before-send' | 'after-confirm';

/**
 * Wraps a real publisher and holds every publish at a gate until `open()`: a relay paused in
 * the middle of a batch, as a stop-the-world GC pause or SIGSTOP would leave it. A fault
 * injector around the real broker path, not a fake of it.
 */
export class GatedPublisher implements Publisher {
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  /** Publishes that reached the gate. */
  waiting = 0;
  /** With `after-confirm`: ids the broker confirmed while their publish was held. */
  readonly confirmed: string[] = [];
  #opened = false;

  constructor(
    private readonly inner: Publisher,
    private readonly position: GatePosition = 'before-send',
  ) {}

  async publish(event: StoredEvent): Promise<void> {
    if (this.position === 'before-send') {
      this.waiting++;
      await this.gate;
      await this.inner.publish(event);
      return;
    }
    // A dead relay sends nothing more and never hears of what it sent: once opened, every
    // publish fails (transiently, so it marks and quarantines nothing).
    if (this.#opened) throw crashed(event);
    await this.inner.publish(event);
    this.confirmed.push(event.id);
    this.waiting++;
    await this.gate;
    throw crashed(event);
  }

  /** Releases the held publishes: sent with `before-send`; failed, as for a crashed relay, with `after-confirm`. */
  open(): void {
    this.#opened = true;
    this.release();
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function crashed(event: StoredEvent): PublishError {
  return new PublishError('connection', `simulated relay crash: the confirm of event ${event.id} never reached the relay`);
}
