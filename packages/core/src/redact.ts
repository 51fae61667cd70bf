const FILE_SCHEMES = new Set(['sqlite:', 'file:']);

/**
 * Returns a connection URL safe for logs and error messages: the password is replaced and the
 * query string (which may carry `password=` or tokens) is dropped. Anything that does not parse
 * as a URL is reduced to its scheme, because it may be a raw secret.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url);
    return scheme ? `${scheme[1]}:<redacted>` : '<redacted>';
  }
  // Without a host there is no user:password part to find: `app:s3cret` parses as scheme `app:`
  // with path `s3cret`. Only file-based schemes are safe to show whole.
  if (parsed.host === '' && !FILE_SCHEMES.has(parsed.protocol)) return `${parsed.protocol}<redacted>`;
  if (parsed.password) parsed.password = '***';
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

/** Removes every occurrence of `secrets` from a message (for driver errors that echo input). */
export function scrub(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * The strings that must never appear in a message about `url`: the password, raw and decoded,
 * and the URL itself (a string that does not parse may be a raw secret as a whole).
 */
export function secretsOf(url: string): string[] {
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, safeDecode(password));
  } catch {
    // Not a URL: the whole string is the secret, already listed.
  }
  return secrets;
}

/**
 * A copy of `error` whose message and stack have the secrets removed, keeping its name and
 * `code`. A copy, not the original with a cause: a logger that walks cause chains would print
 * the original.
 */
export function scrubbedError(error: unknown, secrets: readonly string[]): Error {
  const original = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(scrub(original.message, secrets));
  copy.name = original.name;
  if (original.stack) copy.stack = scrub(original.stack, secrets);
  const code = (original as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
