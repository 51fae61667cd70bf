// A loopback TCP forwarder for link faults without root: `cut()` stops forwarding in both
// directions (bytes and connection ends are held, as by a link that is down while TCP keeps
// retransmitting; new connections are accepted and wait), `restore()` delivers what was held.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The loopback port clients connect to. */
  readonly port: number;
  readonly isCut: boolean;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

type Held = Buffer | 'end' | 'close';

/** One direction of one connection: forwards while the link is up, holds while it is cut. */
class Direction {
  readonly #held: Held[] = [];
  constructor(
    private readonly to: Socket,
    private readonly isCut: () => boolean,
  ) {}
  push(item: Held): void {
    if (this.isCut() || this.#held.length > 0) this.#held.push(item);
    else this.#deliver(item);
  }
  flush(): void {
    while (this.#held.length > 0 && !this.isCut()) this.#deliver(this.#held.shift()!);
  }
  #deliver(item: Held): void {
    if (this.to.destroyed) return;
    if (item === 'close') this.to.destroy();
    else if (item === 'end') this.to.end();
    else this.to.write(item);
  }
}

/** Forwards 127.0.0.1:<free port> to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let cut = false;
  const isCut = (): boolean => cut;
  const directions = new Set<Direction>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const up = new Direction(upstream, isCut);
    const down = new Direction(client, isCut);
    directions.add(up).add(down);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => up.push(chunk));
    upstream.on('data', (chunk: Buffer) => down.push(chunk));
    client.on('end', () => up.push('end'));
    upstream.on('end', () => down.push('end'));
    const forget = (): void => {
      if (!client.destroyed || !upstream.destroyed) return;
      directions.delete(up);
      directions.delete(down);
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // A close (or reset) of one side reaches the other only over a working link.
    client.on('close', () => {
      up.push('close');
      forget();
    });
    upstream.on('close', () => {
      down.push('close');
      forget();
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
    },
    restore() {
      cut = false;
      for (const direction of directions) direction.flush();
    },
    async close() {
      cut = false;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
