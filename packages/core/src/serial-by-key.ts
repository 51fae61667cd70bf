/**
 * Runs tasks one after another per key: a task starts once the previous task of its key settled
 * (a failed one does not stop the next). Keys are held weakly.
 *
 * What plugins key by it: the outbox writes of one transaction (by the ORM's outermost
 * transaction handle, its QueryRunner...). ORMs run the hooks or subscribers of one statement
 * concurrently; one after another, each event's sequence upsert and its insert stay adjacent,
 * so sequence order equals position order, which the relay publishes in.
 *
 * @example
 * const serial = serialByKey<QueryRunner>();
 * const written = await serial(queryRunner, async () => writeEvents(dialect, await executorOf(queryRunner), events, { transactionChecked: true }));
 */
export function serialByKey<Key extends object>(): <T>(key: Key, task: () => Promise<T>) => Promise<T> {
  const tails = new WeakMap<Key, Promise<unknown>>();
  return (key, task) => {
    const next = (tails.get(key) ?? Promise.resolve()).then(task);
    tails.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  };
}
