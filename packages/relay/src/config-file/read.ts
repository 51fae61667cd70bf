import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseJsonWithOffsets, type ParseError } from 'jsonc-parser';
import { LineCounter, parseDocument } from 'yaml';
import { OutboxConfigError, scrub, secretsOf } from '@outboxkit/core';

const FORMATS: Readonly<Record<string, 'JSON' | 'YAML'>> = { '.json': 'JSON', '.yaml': 'YAML', '.yml': 'YAML' };

/**
 * The parsed contents of a config file, by its extension (`.json`, `.yaml`, `.yml`). A file that
 * cannot be read or parsed is a configuration error naming the path and, for a parse error, the
 * line and column. `option` is how the user named the file (`--config` or `OUTBOX_CONFIG`).
 * Parse messages never quote the file: its lines may hold passwords.
 */
export function readConfigFile(path: string, option: string): unknown {
  const format = FORMATS[extname(path).toLowerCase()];
  if (format === undefined) {
    throw new OutboxConfigError(option, `${path}: unknown file type "${extname(path)}"; a config file ends in .json, .yaml or .yml`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new OutboxConfigError(option, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? message)}`);
  }
  const problem = format === 'JSON' ? parseJson(text) : parseYaml(text);
  if ('value' in problem) return problem.value;
  const at = problem.offset === undefined ? '' : ` at ${lineAndColumn(text, problem.offset)}`;
  throw new OutboxConfigError(option, `${path} is not valid ${format}${at}: ${scrub(problem.reason, secretsIn(text))}`);
}

type Parsed = { value: unknown } | { reason: string; offset: number | undefined };

function parseYaml(text: string): Parsed {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  // Warnings too (an unknown tag): a config file means what it says, or it is refused.
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) return { reason: problem.message, offset: problem.pos[0] };
  try {
    return { value: document.toJS() };
  } catch (error) {
    // An alias to an anchor that does not exist is found only when the document is built.
    return { reason: (error as Error).message, offset: undefined };
  }
}

function parseJson(text: string): Parsed {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    const offset = jsonErrorOffset(text);
    return { reason: jsonReason((error as Error).message), offset: offset === -1 ? undefined : offset };
  }
}

/** V8's message without the excerpt of the file it may carry (`Unexpected token 'x', "..." is not valid JSON`). */
function jsonReason(message: string): string {
  const token = /^Unexpected token '(.)'/.exec(message);
  if (token) return `unexpected '${token[1]}'`;
  if (/Unexpected end of JSON input/.test(message)) return 'unexpected end of the file';
  return message.replace(/( in JSON)? at position \d+.*$/s, '').replace(/^\w/, (c) => c.toLowerCase());
}

/**
 * Where `text` stops being JSON, as an offset (-1 when it is JSON): Node 20's JSON.parse says
 * "at position N" for some mistakes only, so jsonc-parser (strict: no comments, no trailing
 * commas) finds the place.
 */
function jsonErrorOffset(text: string): number {
  const errors: ParseError[] = [];
  parseJsonWithOffsets(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return errors[0]?.offset ?? -1;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** The passwords of every URL in the file: a parse message must not show one. */
function secretsIn(text: string): string[] {
  return [...text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s"',]+/gi)].flatMap(([url]) => secretsOf(url).slice(1));
}
