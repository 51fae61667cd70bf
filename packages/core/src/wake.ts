/**
 * Something that tells a relay "new events were committed": a LISTEN connection, an in-process
 * signal. Returns an unsubscribe function. `where`, when the source knows it, names the outbox
 * the commit wrote to (PostgreSQL: the writer's schema), so one process serving many tenants can
 * wake only that tenant's relay; undefined means "somewhere".
 */
export interface WakeSource {
  subscribe(wake: (where?: string) => void): () => void | Promise<void>;
}

type Listener = () => void;
// Kept on globalThis so two copies of @outboxkit/core in one process still share the signal.
const KEY = Symbol.for('outboxkit.local-commit-listeners');
const shared = globalThis as Record<symbol, unknown>;
shared[KEY] ??= new Set<Listener>();
const listeners = shared[KEY] as Set<Listener>;

/** Plugins call this after a transaction that wrote events has committed. */
export function signalLocalCommit(): void {
  for (const listener of listeners) listener();
}

/** Wakes relays in this process when a plugin signals a commit; no database round trip. */
export const localCommits: WakeSource = {
  subscribe(wake) {
    listeners.add(wake);
    return () => {
      listeners.delete(wake);
    };
  },
};
