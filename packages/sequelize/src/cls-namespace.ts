import { AsyncLocalStorage } from 'node:async_hooks';

/** The namespace shape `Sequelize.useCLS()` accepts (cls-hooked's `Namespace`, as far as Sequelize calls it). */
export interface ClsNamespace {
  /** Runs `fn` synchronously in a new context that inherits the current one's values. */
  run(fn: (context: Map<string, unknown>) => unknown): Map<string, unknown>;
  /** Returns `fn` bound to the current context. */
  bind<F extends (...args: any[]) => unknown>(fn: F): F;
  get(key: string): unknown;
  set<T>(key: string, value: T): T;
}

/**
 * A CLS namespace for `Sequelize.useCLS()` built on Node's `AsyncLocalStorage`, so managed
 * transactions reach `outbox.add()` and model calls without the `cls-hooked` package. Sequelize 6
 * only needs `run`, `bind`, `get` and `set`.
 *
 * @example
 * Sequelize.useCLS(asyncLocalStorageNamespace());
 * await sequelize.transaction(async () => {
 *   await Order.create(order);        // joins the transaction
 *   await outbox.add(orderPlaced);    // joins it too
 * });
 */
export function asyncLocalStorageNamespace(): ClsNamespace {
  const storage = new AsyncLocalStorage<Map<string, unknown>>();
  return {
    run(fn) {
      const context = new Map(storage.getStore());
      storage.run(context, () => fn(context));
      return context;
    },
    bind(fn) {
      const context = storage.getStore();
      if (context === undefined) return fn;
      return ((...args: unknown[]) => storage.run(context, () => fn(...args))) as typeof fn;
    },
    get(key) {
      return storage.getStore()?.get(key);
    },
    set(key, value) {
      const context = storage.getStore();
      // cls-hooked throws here too: a value set outside any context would be silently lost.
      if (context === undefined) throw new Error('No CLS context available: call it inside namespace.run() (sequelize.transaction(callback) does)');
      context.set(key, value);
      return value;
    },
  };
}
