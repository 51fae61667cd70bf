import { Option, type Command } from 'commander';
import { OutboxConfigError, redactUrl } from '@outboxkit/core';
import type { FlagNames } from '../flag-errors.js';
import { CONFIG_FILE_KEYS, CONFIG_FILE_SECTIONS, nearestKeys } from './keys.js';
import { readConfigFile } from './read.js';

/** The environment variable of `--config`. */
export const CONFIG_ENV = 'OUTBOX_CONFIG';

const KEYS_DOC = 'the keys are listed in docs/operations.md, "Config file"';

/** `--config <file>`, for every command that takes database or broker flags. */
export function configOption(): Option {
  return new Option(
    '--config <file>',
    'read settings from this JSON or YAML file (.json, .yaml, .yml; keys in docs/operations.md, "Config file"); flags and environment variables override it',
  ).env(CONFIG_ENV);
}

/**
 * Sets the options of `command` that its `--config` file (or `OUTBOX_CONFIG`) gives and that no
 * flag or environment variable set: flag > env > file > default. Each value goes through the
 * flag's own parser, and the command through its own checks, exactly as if the flag had been
 * typed. Every key of the file is checked, also those this command does not use, so a file is
 * either valid or refused whatever the command. Returns, for each flag the file set, the name an
 * error about it should carry (`relay.batchSize in outbox-relay.config.yaml`), for `underFlag`.
 */
export function applyConfigFile(command: Command, program: Command): FlagNames {
  const path = command.getOptionValue('config') as string | undefined;
  if (path === undefined) return {};
  const named = command.getOptionValueSource('config') === 'env' ? CONFIG_ENV : '--config';
  const settings = settingsOf(readConfigFile(path, named), path, named);
  const owners = keyOwners(program);
  const fromFile: Record<string, string> = {};
  for (const [key, value] of settings) {
    const targets = owners.get(key) ?? [];
    const own = targets.find((target) => target.command === command);
    const listed = CONFIG_FILE_KEYS[key as keyof typeof CONFIG_FILE_KEYS]?.list === true ? joinList(`${key} in ${path}`, value) : value;
    const parsed = parseValue(`${key} in ${path}`, listed, (own ?? targets[0]!).option);
    if (own === undefined) continue;
    const attribute = own.option.attributeName();
    const source = command.getOptionValueSource(attribute);
    if (source === undefined || source === 'default') {
      command.setOptionValueWithSource(attribute, parsed, 'config');
      fromFile[own.option.long!] = `${key} in ${path}`;
    }
  }
  return fromFile;
}

/** `section.key` -> value, after refusing unknown keys and sections that are not mappings. */
function settingsOf(document: unknown, path: string, named: string): Map<string, unknown> {
  if (!isMapping(document)) {
    throw new OutboxConfigError(named, `${path} must be a mapping of sections (${CONFIG_FILE_SECTIONS.join(', ')}), got ${describe(document)}`);
  }
  const settings = new Map<string, unknown>();
  for (const [section, body] of Object.entries(document)) {
    if (!(CONFIG_FILE_SECTIONS as readonly string[]).includes(section)) throw unknownKey(section, path);
    // A section whose keys are all commented out is empty, not a mistake.
    if (body === null) continue;
    if (!isMapping(body)) {
      const keys = Object.keys(CONFIG_FILE_KEYS).flatMap((key) => (key.startsWith(`${section}.`) ? [key.slice(section.length + 1)] : []));
      throw new OutboxConfigError(`${section} in ${path}`, `must be a mapping with the keys ${keys.join(', ')}; got ${describe(body)}`);
    }
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!(key in CONFIG_FILE_KEYS)) throw unknownKey(key, path);
      settings.set(key, value);
    }
  }
  return settings;
}

function unknownKey(key: string, path: string): OutboxConfigError {
  const near = nearestKeys(key);
  return new OutboxConfigError(`${key} in ${path}`, `unknown key${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''} (${KEYS_DOC})`);
}

/** A value from the file, as the flag's parser makes it from the text a user would have typed. */
function parseValue(where: string, value: unknown, option: Option): unknown {
  if (value === null) throw new OutboxConfigError(where, 'has no value; give it one or remove the key');
  // A flag without a value (`--migrate`, `--no-history`): the file says true or false.
  if (!option.required) {
    if (typeof value !== 'boolean') throw new OutboxConfigError(where, `must be true or false, got ${describe(value)}`);
    return value;
  }
  const choices = option.argChoices;
  if (choices !== undefined) {
    if (typeof value !== 'string' || !choices.includes(value))
      throw new OutboxConfigError(where, `must be one of ${choices.join(', ')}, got ${describe(value)}`);
    return value;
  }
  if (option.parseArg !== undefined) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new OutboxConfigError(where, `must be a number, got ${describe(value)}`);
    try {
      return option.parseArg(String(value), undefined);
    } catch (error) {
      const message = (error as Error).message;
      throw new OutboxConfigError(where, message.startsWith(`${option.long}: `) ? message.slice(option.long!.length + 2) : message);
    }
  }
  if (typeof value !== 'string') throw new OutboxConfigError(where, `must be a string (quote it), got ${describe(value)}`);
  return value;
}

/** A list key's value (`[acme, globex]`, or the flag's own `acme,globex`) as the flag's text. */
function joinList(where: string, value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length === 0) throw new OutboxConfigError(where, 'is an empty list; name at least one, or remove the key');
  for (const item of value) {
    if (typeof item !== 'string' || item.includes(',')) throw new OutboxConfigError(where, `every item must be a name without commas, got ${describe(item)}`);
  }
  return value.join(',');
}

interface KeyOwner {
  readonly command: Command;
  readonly option: Option;
}

/** For each key, the commands that have its flag (within the key's `commands`) and the option there. */
function keyOwners(program: Command): Map<string, KeyOwner[]> {
  const leaves = (command: Command): Command[] => command.commands.flatMap((sub) => (sub.commands.length > 0 ? leaves(sub) : [sub]));
  const pathOf = (command: Command): string => (command.parent?.parent ? `${pathOf(command.parent)} ${command.name()}` : command.name());
  const owners = new Map<string, KeyOwner[]>();
  for (const [key, { flag, commands }] of Object.entries(CONFIG_FILE_KEYS)) {
    const found = leaves(program).flatMap((command) => {
      const option = command.options.find((candidate) => candidate.long === flag);
      return option !== undefined && (commands === undefined || commands.includes(pathOf(command))) ? [{ command, option }] : [];
    });
    // The table and the commands must agree; a key without its flag is a bug here, not the user's mistake.
    if (found.length === 0 || found.some(({ option }) => option.variadic || option.optional)) {
      throw new Error(`config file key ${key}: no command has a single-value flag ${flag}`);
    }
    owners.set(key, found);
  }
  return owners;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value for an error message; a URL only without its password. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.includes('://') ? redactUrl(value) : value);
  return String(value);
}
