import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder on a fixed loopback port in front of a server on another port, opened and
 * closed by the test: while closed, connections are refused as by a server that is down. Lets a
 * test re-create an in-memory emulator's resources on its private port after a restart before
 * any client (a relay) can reach it through the public one.
 */
export class TcpGate {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: () => number,
  ) {}

  /** Starts accepting on `port`, each connection piped to the target's current port. */
  open(): Promise<void> {
    if (this.#server !== null) return Promise.resolve();
    const server = createServer((client) => this.#forward(client));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting and drops every forwarded connection, as a crashed server would. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #forward(client: Socket): void {
    const upstream = connect(this.target(), '127.0.0.1');
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(socket);
      socket.pipe(peer);
      socket.on('error', () => peer.destroy());
      socket.on('close', () => {
        this.#sockets.delete(socket);
        peer.destroy();
      });
    }
  }
}
