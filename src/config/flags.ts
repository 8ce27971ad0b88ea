/**
 * Reads command-line flags with `node:util` parseArgs, but reports every problem at once and suggests the closest
 * known flag for an unknown one (parseArgs' strict mode stops at the first and suggests nothing).
 */
import { parseArgs } from 'node:util';
import { didYouMean } from './suggest.ts';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

export interface FlagValue {
  /** As typed, for messages: `--http-port`, `--no-broadcast-only`, `-h`. */
  readonly raw: string;
  /** The text after the flag, or for a switch `true`/`false` (or its inline text: `--broadcast-only=no`). */
  readonly value: string | boolean;
}

export interface FlagProblem {
  readonly flag: string;
  readonly message: string;
}

export interface FlagScan {
  /** By flag name; when a flag is repeated, the last one counts. */
  readonly values: ReadonlyMap<string, FlagValue>;
  readonly positionals: readonly string[];
  readonly problems: readonly FlagProblem[];
}

export function scanFlags(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): FlagScan {
  const { tokens } = parseArgs({
    args: [...argv],
    options: specs,
    strict: false,
    allowPositionals: true,
    allowNegative: true,
    tokens: true,
  });
  const values = new Map<string, FlagValue>();
  const positionals: string[] = [];
  const problems: FlagProblem[] = [];
  const known = Object.keys(specs).map((name) => `--${name}`);
  let unknownAt: number | undefined;
  for (const token of tokens) {
    if (token.kind === 'positional') {
      // The word after an unknown flag is most likely its value, not an argument of its own (nor worth repeating:
      // it may be a secret given as a flag).
      if (unknownAt === undefined || token.index !== unknownAt + 1) positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = specs[token.name];
    if (spec === undefined) {
      problems.push({ flag: token.rawName, message: `is not a known flag${didYouMean(token.rawName, known)}` });
      if (token.value === undefined) unknownAt = token.index;
      continue;
    }
    if (spec.type === 'boolean') {
      values.set(token.name, { raw: token.rawName, value: token.value ?? !token.rawName.startsWith('--no-') });
      continue;
    }
    // Without strict mode parseArgs takes the next flag as the value of one whose value is missing.
    // A negative number is a value (--expected-version -1), not the next flag.
    const nextFlag = !token.inlineValue && token.value !== undefined && /^-[^\d]/.test(token.value);
    if (token.value === undefined || nextFlag) {
      problems.push({ flag: token.rawName, message: 'needs a value' });
      continue;
    }
    values.set(token.name, { raw: token.rawName, value: token.value });
  }
  return { values, positionals, problems };
}
