/**
 * Checks what the node's `advertise` callback returns before it goes into a packet. Items the protocol cannot carry
 * are left out and reported (the caller logs them), so a bad store id never silences a node's beacons.
 */
import { MAX_ADDRS, MAX_ROLES, MAX_STORES } from './constants.ts';
import { ADDR_FIELD, ROLE_FIELD, STORE_FIELD, isValidText } from './payload-codec.ts';
import type { Advertisement } from './types.ts';

export interface CheckedAdvertisement {
  readonly advertisement: Advertisement;
  /** More items than one packet can list: the extra ones were left out. */
  readonly truncated: boolean;
  /** What was wrong with the input, one line per problem; empty when nothing was. */
  readonly problems: readonly string[];
}

type Field = typeof ADDR_FIELD;

function checkList(
  name: string,
  raw: unknown,
  field: Field,
  max: number,
  problems: string[],
): { items: string[]; truncated: boolean } {
  if (raw === undefined) return { items: [], truncated: false };
  if (!Array.isArray(raw)) {
    problems.push(`${name} is not an array`);
    return { items: [], truncated: false };
  }
  const items: string[] = [];
  raw.forEach((item: unknown, i: number) => {
    if (!isValidText(field, item)) problems.push(`${name}[${i}] must be ${field.expected}`);
    else if (!items.includes(item)) items.push(item);
  });
  if (items.length <= max) return { items, truncated: false };
  problems.push(`${name} lists ${items.length} items, a packet carries at most ${max}`);
  return { items: items.slice(0, max), truncated: true };
}

export function checkAdvertisement(raw: unknown): CheckedAdvertisement {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null) {
    return {
      advertisement: { addrs: [], roles: [], stores: [] },
      truncated: false,
      problems: ['advertise() did not return an object'],
    };
  }
  const { addrs, roles, stores } = raw as Record<string, unknown>;
  const a = checkList('addrs', addrs, ADDR_FIELD, MAX_ADDRS, problems);
  const r = checkList('roles', roles, ROLE_FIELD, MAX_ROLES, problems);
  const s = checkList('stores', stores, STORE_FIELD, MAX_STORES, problems);
  return {
    advertisement: { addrs: a.items, roles: r.items, stores: s.items },
    truncated: a.truncated || r.truncated || s.truncated,
    problems,
  };
}
