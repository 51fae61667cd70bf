import type { Connection } from 'rabbitmq-client';

/** The part of a `net.Socket` the coalescer uses. */
interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writable: boolean;
}

/**
 * Sends the publishes started in one tick in one socket write.
 *
 * rabbitmq-client writes each message's frames with a write of their own: a `writev` system call
 * per message, and on the broker's side a read per message. The relay often starts several
 * publishes in one tick (the confirms of one read release that many of its workers), so the
 * socket stays corked from the first send of a tick until the tick's microtasks have run, and
 * they leave together. Writes keep their order, and so do the delivery tags confirms refer to.
 * The socket is rabbitmq-client's own (`_socket`, checked structurally): without one, nothing is
 * corked. On a shared connection, other code that reads `connection.ready` within that same tick
 * sees false; no timer or I/O callback can run while the cork is held.
 */
export class WriteCoalescer {
  readonly #connection: Connection;
  #corked: Corkable | null = null;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  /**
   * True while this tick's sends are held. rabbitmq-client reads a corked socket as a broker
   * block (`connection.ready` is false), so the publisher asks this first: the connection was
   * ready when the cork was taken, and the cork ends before any I/O event could change that.
   */
  get holding(): boolean {
    return this.#corked !== null;
  }

  /** Call right before each send. */
  beforeSend(): void {
    if (this.#corked !== null || !this.#connection.ready) return;
    const socket = (this.#connection as unknown as { _socket?: Partial<Corkable> })._socket;
    if (typeof socket?.cork !== 'function' || typeof socket.uncork !== 'function' || socket.writable !== true) return;
    socket.cork();
    this.#corked = socket as Corkable;
    // After the current microtasks, which are where the other sends of this tick start.
    process.nextTick(this.#release);
  }

  readonly #release = (): void => {
    const socket = this.#corked;
    this.#corked = null;
    socket?.uncork();
  };
}
