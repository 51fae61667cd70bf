import type { Publisher, StoredEvent } from '@outboxkit/core';

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

  constructor(private readonly inner: Publisher) {}

  async publish(event: StoredEvent): Promise<void> {
    this.waiting++;
    await this.gate;
    await this.inner.publish(event);
  }

  open(): void {
    this.release();
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
