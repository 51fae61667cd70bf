import { createServer } from 'node:net';
import { probeConnect } from '../connect-probe.js';

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (the OS picked it). Another process could
 * take it before the caller binds it; on a test machine that race is rare enough.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls until something accepts TCP connections on 127.0.0.1:`port` and `isOurs()` (the listener
 * is the server's process, not another that took the port first). Rejects when `gaveUp()` turns
 * true (the server process died) or at `deadline` (epoch ms); `details()` (the server's output,
 * say) is appended to either message.
 */
export async function waitForPort(
  port: number,
  deadline: number,
  gaveUp: () => boolean,
  details: () => string,
  isOurs: () => boolean = () => true,
): Promise<void> {
  for (;;) {
    if (gaveUp()) throw new Error(`the server exited before accepting connections on 127.0.0.1:${port}\n${details()}`);
    if ((await canConnect(port)) && isOurs()) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on 127.0.0.1:${port} in time\n${details()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function canConnect(port: number): Promise<boolean> {
  return probeConnect({ host: '127.0.0.1', port }, 1000).then((probe) => probe.ok);
}
