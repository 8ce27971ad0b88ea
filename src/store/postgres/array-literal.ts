/**
 * PostgreSQL array literals for the append batch's parameters, built with one JSON.stringify per column. For
 * strings with no control character and no lone surrogate, JSON escapes exactly what an array literal escapes (`\"` and
 * `\\`), quotes every string, and writes null as an unquoted `null`, which the literal reads as NULL. The driver's
 * own encoding escapes element by element (two regular expressions and a concatenation each): about three times the
 * cost, paid on every append.
 */

/**
 * Characters JSON escapes in a way an array literal would misread (`\n`, `\u0001`, a lone surrogate's `\ud800`).
 * With the `u` flag a surrogate pair is one character, so only a lone surrogate is Cs.
 */
const JSON_ONLY_ESCAPES = /[\u0000-\u001f\p{Cs}]/u;

/**
 * The literal of `values`, or `values` themselves (for the driver to encode) when a string holds a character the
 * shortcut cannot carry. `jsonTexts`: the strings are JSON.stringify output, which never holds such a character.
 */
export function textArrayLiteral(
  values: readonly (string | null)[],
  jsonTexts = false,
): string | readonly (string | null)[] {
  if (!jsonTexts) {
    for (const value of values) if (value !== null && JSON_ONLY_ESCAPES.test(value)) return values;
  }
  return literalOf(values);
}

/** The literal of integers or booleans (safe integers, `true` and `false` read the same in JSON and in a literal). */
export function scalarArrayLiteral(values: readonly number[] | readonly boolean[]): string {
  return literalOf(values);
}

function literalOf(values: readonly unknown[]): string {
  const json = JSON.stringify(values);
  return `{${json.slice(1, -1)}}`;
}
