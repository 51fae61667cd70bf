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
