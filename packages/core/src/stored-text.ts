/**
 * The longest error or reason text a dialect stores (`last_error`, `reason`, a resolution
 * note). A broker's stack trace can be long, and one poison event retried many times must not
 * bloat the pending table; one limit keeps the three databases storing the same text.
 */
export const MAX_STORED_TEXT_LENGTH = 2000;

/**
 * `text` cut to {@link MAX_STORED_TEXT_LENGTH} characters, counted by code point so a surrogate
 * pair is never split (every database counts characters, not UTF-16 units). A dialect removes
 * what its database cannot store (NUL on PostgreSQL) before calling this.
 */
export function storableText(text: string): string {
  if (text.length <= MAX_STORED_TEXT_LENGTH) return text;
  const chars = Array.from(text);
  return chars.length <= MAX_STORED_TEXT_LENGTH ? text : chars.slice(0, MAX_STORED_TEXT_LENGTH).join('');
}
