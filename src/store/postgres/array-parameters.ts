/**
 * The append batch's array parameters, as text the server reads fast.
 *
 * Names (streams, event types, tags) and numbers travel as PostgreSQL array literals, built with one JSON.stringify
 * per column: for strings with no control character and no lone surrogate, JSON escapes exactly what an array literal
 * escapes (`\"` and `\\`), quotes every string, and writes null as an unquoted `null`, which the literal reads as
 * NULL. The driver's own encoding escapes element by element (two regular expressions and a concatenation each):
 * about three times the cost, paid on every append.
 *
 * JSON texts (data, metadata, tags), the bulk of an append's bytes, and event ids travel as one joined string that
 * the server splits with string_to_array: no escaping at all, where a literal escapes every quote of every text on
 * both sides. For the JSON columns that is about a third of the client's encoding time and of the server's parse.
 */

/**
 * Characters JSON escapes in a way an array literal would misread (`\n`, `\u0001`, a lone surrogate's `\ud800`).
 * With the `u` flag a surrogate pair is one character, so only a lone surrogate is Cs.
 */
const JSON_ONLY_ESCAPES = /[\u0000-\u001f\p{Cs}]/u;

/**
 * The literal of `values`, or `values` themselves (for the driver to encode) when a string holds a character the
 * shortcut cannot carry.
 */
export function textArrayLiteral(values: readonly (string | null)[]): string | readonly (string | null)[] {
  for (const value of values) if (value !== null && JSON_ONLY_ESCAPES.test(value)) return values;
  return literalOf(values);
}

/**
 * JSON texts (JSON.stringify output) or NULLs as one string: joined by U+001E, with U+001F for NULL, split by
 * `jsonTextsSql`. JSON.stringify escapes every control character, so its output never holds either separator, and
 * no JSON text is empty or U+001F alone: a lone NULL is not read back as an empty array.
 */
export function jsonTextList(values: readonly (string | null)[]): string {
  return values.map((value) => value ?? '\u001f').join('\u001e');
}

/** The SQL that turns parameter `$n`, a `jsonTextList`, back into a text[]. */
export function jsonTextsSql(n: number): string {
  return `string_to_array($${n}::text, E'\\x1e', E'\\x1f')`;
}

/** Lower-case UUIDs (as prepareEvents makes them) as one string, split by `uuidsSql`. */
export function uuidList(ids: readonly string[]): string {
  return ids.join(',');
}

/** The SQL that turns parameter `$n`, a `uuidList`, back into a uuid[]. */
export function uuidsSql(n: number): string {
  return `string_to_array($${n}::text, ',')::uuid[]`;
}

/** The literal of integers or booleans (safe integers, `true` and `false` read the same in JSON and in a literal). */
export function scalarArrayLiteral(values: readonly number[] | readonly boolean[]): string {
  return literalOf(values);
}

function literalOf(values: readonly unknown[]): string {
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}
