import { expect } from 'vitest';

/**
 * The error `fn` throws synchronously, after checking it is a `type`; fails the test when `fn`
 * returns instead. For assertions on the error's fields (`option`, `code`, the message).
 *
 * @example
 * expect(thrownBy(OutboxConfigError, () => createKnexOutbox(knex, {} as never)).option).toBe('dialect');
 */
export function thrownBy<E extends Error>(type: abstract new (...args: never[]) => E, fn: () => unknown): E {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${type.name} to be thrown`).toBeInstanceOf(type);
  return thrown as E;
}
