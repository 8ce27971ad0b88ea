/**
 * Request validation: one Ajv per part of the request, because the parts need different rules. Bodies are JSON and
 * are checked as they are (no type coercion: `"5"` is not a number, `5` is not a string); path parameters, query
 * strings and headers are text, so they are coerced to the types their schemas declare, integers only from plain
 * decimal text. Unknown fields are errors everywhere (never silently dropped), and failures become
 * InvalidArgumentErrors naming the field.
 */
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';
import { InvalidArgumentError } from '../errors/index.ts';

/**
 * An annotation keyword for route schemas: the message to show when the value it annotates is invalid, where Ajv's
 * own (`must match a schema in anyOf`) would not help the caller.
 */
export const HINT_KEYWORD = 'hint';

const COMMON_AJV_OPTIONS: Options = {
  // One error is enough to name the field; collecting all of them costs time an attacker could make us spend.
  allErrors: false,
  removeAdditional: false,
  strict: true,
  // Errors carry their schema, which is where the hint is.
  verbose: true,
};

/** The request parts Fastify validates. */
export type HttpPart = 'body' | 'querystring' | 'params' | 'headers';

/**
 * An integer as text: decimal digits, a minus sign before a number other than 0, no leading zeros, blanks, signs,
 * exponents or hex. Ajv's coercion is JavaScript's `Number()`, which would read `0x2`, `1e1` and ` 5` as numbers.
 */
const DECIMAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

export function createValidatorCompiler(): FastifySchemaCompiler<FastifySchema> {
  const body = withHint(new Ajv({ ...COMMON_AJV_OPTIONS, coerceTypes: false, useDefaults: false }));
  const text = withHint(new Ajv({ ...COMMON_AJV_OPTIONS, coerceTypes: true, useDefaults: true }));
  return ({ schema, httpPart }) =>
    httpPart === 'body'
      ? (body.compile(schema as object) as ValidateFunction)
      : decimalIntegersOnly(text.compile(schema as object), schema as object);
}

/**
 * `validate` of a text part (a flat object of strings) refusing, before Ajv coerces them, values of integer
 * properties that are not plain decimal text, with the error Ajv gives a value of the wrong type.
 */
function decimalIntegersOnly(validate: ValidateFunction, schema: object): ValidateFunction {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const integers = Object.keys(properties).filter((key) => properties[key]!.type === 'integer');
  if (integers.length === 0) return validate;
  const checked = function (this: unknown, data: unknown, ...rest: unknown[]): boolean {
    const values = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
    for (const key of integers) {
      const value = values[key];
      if (typeof value === 'string' && !DECIMAL_INTEGER.test(value)) {
        checked.errors = [
          {
            keyword: 'type',
            instancePath: `/${key}`,
            schemaPath: `#/properties/${key}/type`,
            params: { type: 'integer' },
            parentSchema: properties[key],
            data: value,
          },
        ];
        return false;
      }
    }
    const valid = (validate as (this: unknown, ...args: unknown[]) => boolean).call(this, data, ...rest);
    checked.errors = validate.errors;
    return valid;
  } as ValidateFunction;
  // Fastify lets a function with a schemaEnv (an Ajv one) replace the part it validates, as coercion may.
  checked.schemaEnv = validate.schemaEnv;
  return checked;
}

function withHint(ajv: Ajv): Ajv {
  ajv.addKeyword({ keyword: HINT_KEYWORD, schemaType: 'string' });
  return ajv;
}

/**
 * Turns Ajv's errors for one request part into an InvalidArgumentError naming the field as a caller writes it
 * (`events[2].eventType`, `count`). With `allErrors: false` the last error is the outermost failing keyword (an
 * `anyOf` comes after the errors of its branches), which is the one that describes the caller's mistake.
 */
export function toInvalidArgument(errors: readonly ErrorObject[], part: HttpPart): InvalidArgumentError {
  const error = errors[errors.length - 1];
  if (error === undefined) return new InvalidArgumentError(part, 'is invalid');
  const path = pointerToSegments(error.instancePath);
  let message: string;
  switch (error.keyword) {
    case 'required':
      path.push(String(error.params['missingProperty']));
      message = 'is required';
      break;
    case 'additionalProperties':
      path.push(String(error.params['additionalProperty']));
      message = part === 'body' ? 'is not a known field' : 'is not a known parameter';
      break;
    default:
      message = hintOf(error) ?? describe(error);
  }
  return new InvalidArgumentError(segmentsToField(path, part), message);
}

/** Ajv's message for a keyword, in plain words. */
function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type': {
      const type = String(p['type']);
      return `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
    }
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).join(', ')}`;
    case 'minItems':
      return `must hold at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must hold at most ${String(p['limit'])} items`;
    case 'minLength':
      return `must be at least ${String(p['limit'])} character${p['limit'] === 1 ? '' : 's'} long`;
    case 'maxLength':
      return `must be at most ${String(p['limit'])} characters long`;
    default:
      return error.message ?? 'is invalid';
  }
}

function hintOf(error: ErrorObject): string | undefined {
  const hint = (error.parentSchema as Record<string, unknown> | undefined)?.[HINT_KEYWORD];
  return typeof hint === 'string' ? hint : undefined;
}

function pointerToSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** `['events', '2', 'eventType']` → `events[2].eventType`; the root is named after the part (`body`). */
function segmentsToField(segments: readonly string[], part: HttpPart): string {
  if (segments.length === 0) return part;
  let field = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) field += `[${segment}]`;
    else field += field === '' ? segment : `.${segment}`;
  }
  return field;
}
