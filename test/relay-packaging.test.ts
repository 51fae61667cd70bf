import { readFileSync } from 'node:fs';
import { OutboxConfigError } from '@outboxkit/core';
import { describe, expect, it } from 'vitest';
import { importOptional } from '../packages/relay/src/optional-packages.js';
import { runCli } from './support/relay-process.js';

// The relay as a package: its version flag, and the error for a dialect or broker package the
// application has not installed (they are optional peers). `pnpm test:pack` shows the same error
// from the packed tarball in an app without the package.
const relayManifest = JSON.parse(readFileSync(new URL('../packages/relay/package.json', import.meta.url), 'utf8')) as { version: string };

/** Imports a package that is installed nowhere, so Node throws its own ERR_MODULE_NOT_FOUND. */
const importAbsent = (name: string) => () => import(name) as Promise<unknown>;

describe('outbox-relay --version', () => {
  it('prints the version of @outboxkit/relay', async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result.stdout.trim()).toBe(relayManifest.version);
      expect(result.code).toBe(0);
    }
  });
});

describe('importOptional', () => {
  const need = { flag: '--database-url', what: 'a postgres: URL', packages: ['@outboxkit/not-installed-dialect', 'not-installed-driver'] };

  it('turns a missing optional package into a configuration error that says what to install', async () => {
    const error = await importOptional(need, importAbsent('@outboxkit/not-installed-dialect')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe('--database-url');
    expect((error as Error).message).toBe(
      '--database-url: a postgres: URL needs @outboxkit/not-installed-dialect and not-installed-driver installed next to @outboxkit/relay ' +
        '(@outboxkit/not-installed-dialect is missing): npm install @outboxkit/not-installed-dialect not-installed-driver',
    );
    expect(((error as Error).cause as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('names the driver when the dialect package is there and its driver is not', async () => {
    const error = await importOptional(need, importAbsent('not-installed-driver')).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain('(not-installed-driver is missing): npm install @outboxkit/not-installed-dialect not-installed-driver');
  });

  it('leaves a missing package it does not own as it is: installing the listed ones would not fix it', async () => {
    const error = await importOptional(need, importAbsent('some-other-missing-package')).catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(OutboxConfigError);
    expect((error as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
    expect((error as Error).message).toContain("Cannot find package 'some-other-missing-package'");
  });

  it('returns the module when it loads', async () => {
    await expect(importOptional(need, () => import('@outboxkit/core'))).resolves.toHaveProperty('OutboxConfigError', OutboxConfigError);
  });
});
