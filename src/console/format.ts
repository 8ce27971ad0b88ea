/**
 * How the console shows things: `SEEN` and `RECEIVED` lines in the seed's shape (`stream:type (vN) => data`),
 * states in colour (green running, yellow warnings, red stopped or failed), and tables.
 */
import Table from 'cli-table3';
import pc from 'picocolors';
import type { Delivery } from '../store/subscriptions/types.ts';

/** Longest data shown on one line; the rest is cut with an ellipsis. */
export const LINE_DATA_MAX_CHARS = 140;

/** `greenhouse1:temperature_measured:v1 (v15) => {"temperature":23}` */
export function describeDelivery({ event }: Delivery): string {
  return `${pc.cyan(event.streamId)}:${pc.bold(event.eventType)} ${pc.dim(`(v${event.version})`)} => ${pc.blue(shortJson(event.data))}`;
}

/** What an observer saw. */
export function seenLine(delivery: Delivery): string {
  return `${pc.green('SEEN')} ${describeDelivery(delivery)}`;
}

/** What a persistent subscription received; a redelivery says which attempt it is. */
export function receivedLine(subscription: string, delivery: Delivery): string {
  const attempt = delivery.attempt > 1 ? pc.yellow(` (attempt ${delivery.attempt})`) : '';
  return `${pc.magenta('RECEIVED')} ${pc.bold(subscription)} ${describeDelivery(delivery)}${attempt}`;
}

export function shortJson(value: unknown, max = LINE_DATA_MAX_CHARS): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A state word in its colour. */
export function status(state: string): string {
  switch (state) {
    case 'running':
    case 'alive':
    case 'open':
    case 'ok':
    case 'ready':
    case 'yes':
      return pc.green(state);
    case 'reconnecting':
    case 'failing':
    case 'suspect':
    case 'starting':
      return pc.yellow(state);
    default:
      return pc.red(state);
  }
}

export function title(text: string): string {
  return pc.magenta(pc.bold(text));
}

export function success(text: string): string {
  return `${pc.green('✔')} ${text}`;
}

export function warning(text: string): string {
  return `${pc.yellow('!')} ${pc.yellow(text)}`;
}

export function failure(text: string): string {
  return `${pc.red('✖')} ${pc.red(text)}`;
}

export function hint(text: string): string {
  return pc.dim(text);
}

/** A table with a header row, or a dim line saying it is empty. */
export function table(head: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return hint(`  ${empty}`);
  const t = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [], compact: true }, wordWrap: true });
  for (const row of rows) t.push([...row]);
  return t.toString();
}

/** `12D3KooWAbc…xyz123` for peer ids; whole ids are in `gater status --json`. */
export function shortId(id: string): string {
  return id.length <= 16 ? id : `${id.slice(0, 8)}…${id.slice(-6)}`;
}
