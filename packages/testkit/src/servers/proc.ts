import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * What Linux's /proc says about a test's server process. A port picked free can be taken by
 * another process before the server binds it; the server then exits ("address in use") while the
 * other process answers on the port, and the test would talk to — and freeze — the wrong server.
 * Elsewhere (no /proc) the answers are `undefined` and callers fall back to a connection probe.
 */

/** Whether process `pid` itself holds the socket listening on TCP `port` (IPv4 or IPv6). */
export function listensOn(pid: number, port: number): boolean | undefined {
  const listening = listeningInodes(port);
  if (listening === undefined) return undefined;
  if (listening.size === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      const target = safeReadlink(`/proc/${pid}/fd/${fd}`);
      return target !== undefined && listening.has(target.replace(/^socket:\[(\d+)\]$/, '$1'));
    });
  } catch {
    return false; // The process is gone.
  }
}

/** Whether some process listens on TCP `port`; undefined without /proc. */
export function portInUse(port: number): boolean | undefined {
  const listening = listeningInodes(port);
  return listening === undefined ? undefined : listening.size > 0;
}

/** Blocks until process `pid` is stopped (state T) after a SIGSTOP, so a test's next step meets a frozen server; gives up silently after `timeoutMs` or without /proc. */
export function waitUntilStopped(pid: number, timeoutMs = 2000): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    const state = processState(pid);
    if (state === undefined || state === 'T' || state === 't') return;
    Atomics.wait(pause, 0, 0, 1);
  }
}

/** The socket inodes listening on `port`, or undefined without /proc. */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readable = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readable = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '0A') continue; // 0A: LISTEN
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(fields[9]!);
    }
  }
  return readable ? inodes : undefined;
}

function processState(pid: number): string | undefined {
  try {
    // pid (comm) state ...; comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
