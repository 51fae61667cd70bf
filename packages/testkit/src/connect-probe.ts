import { redactUrl } from '@outboxkit/core';
import { createConnection, type NetConnectOpts } from 'node:net';

/** What one connection attempt found: `ok`, or the socket error code (`ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`, ...). */
export type ConnectProbe = { readonly ok: true } | { readonly ok: false; readonly code: string };

/**
 * Opens a TCP or Unix-socket connection and closes it at once. Never rejects and never waits
 * longer than `timeoutMs`, so a silent peer cannot hang whoever asks.
 */
export function probeConnect(target: NetConnectOpts, timeoutMs: number): Promise<ConnectProbe> {
  return new Promise((resolve) => {
    const socket = createConnection({ ...target, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT' });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, code: error.code ?? error.message }));
  });
}

/**
 * Whether something accepts connections at a service URL's host and port. `from` names where
 * the URL came from (a variable), for the error when it is not a URL at all.
 */
export async function urlAnswers(url: string, from: string, timeoutMs = 2000): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${from} is not a URL (${redactUrl(url)}); expected something like scheme://user@host:port/database`);
  }
  return (await probeConnect({ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) }, timeoutMs)).ok;
}
