import { OutboxConfigError } from '@outboxkit/core';

const SCHEMES = ['sqlite:', 'file:'];

/**
 * The file path behind what users paste from their configuration:
 * `./app.db`, `sqlite:app.db`, `sqlite:///var/lib/app.db`, `file:./dev.db` (Prisma's form),
 * `file:///abs/app.db`, or `:memory:`.
 *
 * Query strings are refused instead of ignored: Prisma-style options such as
 * `?connection_limit=1` mean nothing to better-sqlite3, and silently dropping them would hide that.
 */
export function sqlitePathFromUrl(fileOrUrl: string): string {
  if (typeof fileOrUrl !== 'string' || fileOrUrl.trim() === '') {
    throw new OutboxConfigError('fileOrUrl', 'expected a file path or a sqlite:/file: URL, e.g. "./app.db" or "sqlite:///var/lib/app.db"');
  }
  const scheme = SCHEMES.find((prefix) => fileOrUrl.toLowerCase().startsWith(prefix));
  if (scheme === undefined) return fileOrUrl;

  const rest = fileOrUrl.slice(scheme.length);
  if (/[?#]/.test(rest)) {
    throw new OutboxConfigError('fileOrUrl', `"${scheme}" URLs with query parameters or fragments are not supported; remove everything from "?" or "#"`);
  }
  if (!rest.startsWith('//')) return nonEmpty(rest);

  // Authority form: sqlite:///abs/path or file://localhost/abs/path. Only a local (empty or
  // localhost) authority makes sense for a file the process opens itself.
  const slash = rest.indexOf('/', 2);
  const authority = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
  if (authority !== '' && authority.toLowerCase() !== 'localhost') {
    throw new OutboxConfigError(
      'fileOrUrl',
      `"${authority}" is a host, but SQLite opens local files only; write ${scheme}///absolute/path or ${scheme}relative/path`,
    );
  }
  return nonEmpty(slash === -1 ? '' : decodeURIComponent(rest.slice(slash)));
}

function nonEmpty(path: string): string {
  if (path === '') throw new OutboxConfigError('fileOrUrl', 'the URL names no file; write e.g. sqlite:///var/lib/app.db');
  return path;
}
