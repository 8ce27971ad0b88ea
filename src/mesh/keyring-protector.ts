/**
 * A libp2p connection protector that accepts any secret of a keyring, so a cluster can rotate its secret without
 * splitting the mesh.
 *
 * `@libp2p/pnet` takes exactly one key and gives a connection no way to say which key it uses: two nodes whose keys
 * differ simply fail. Rolling a new secret through a running cluster would split it into the nodes already on the new
 * key and those still on the old one. So before pnet starts, the two ends agree on a key, in clear:
 *
 *     dialer → listener   "gpk1" | n (1 byte, 1..8) | n × key id (8 bytes each), the dialer's keyring in order
 *     listener → dialer   "gpk1" | chosen key id (8 bytes)
 *
 * The listener picks the first key of its own keyring (primary first) that the dialer offered, or aborts the
 * connection when they share none; then both run @libp2p/pnet with that key, unchanged (XSalsa20 over everything that
 * follows, noise inside it). Two nodes connect if and only if their keyrings share a secret.
 *
 * The listener waits for the offer `KEY_SELECTION_OFFER_TIMEOUT_MS` (1.5 s), not libp2p's whole upgrade timeout: a
 * member sends it the moment the connection opens, and a stranger who sends nothing must not hold one of the node's
 * few upgrade slots for long (see `inbound-limiter.ts` for the other half of that defence).
 *
 * What the clear preamble gives away: key ids are HKDF outputs under their own label, independent of the keys, so an
 * observer learns which connections share a key and nothing about it. Replaying an id gets a stranger no further than
 * pnet itself let it: pnet starts, the stranger cannot encrypt, noise fails and the connection is dropped.
 */
import type {
  AbortOptions,
  ConnectionProtector,
  MessageStream,
  StreamCloseEvent,
  StreamMessageEvent,
} from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { GaterError, TimeoutError } from '../errors/index.ts';
import { inputDeadline, type InputDeadline } from '../util/input-deadline.ts';
import { KEY_ID_BYTES, type ClusterKey } from './cluster-keys.ts';
import { KEY_SELECTION_OFFER_TIMEOUT_MS, KEY_SELECTION_TIMEOUT_MS, MAX_CLUSTER_SECRETS } from './constants.ts';

/** "gpk1": gater pre-shared key selection, version 1. */
const MAGIC = Uint8Array.of(0x67, 0x70, 0x6b, 0x31);
const OFFER_HEADER_BYTES = MAGIC.byteLength + 1;
const ANSWER_BYTES = MAGIC.byteLength + KEY_ID_BYTES;

/**
 * Why the listener refused an inbound connection at key selection: it did not speak the preamble, it offered none of
 * this node's keys, it sent no whole offer within the deadline, or it hung up first.
 */
export type KeyRefusal = 'no_preamble' | 'no_shared_key' | 'offer_timeout' | 'hung_up';

export interface KeyringProtectorInit {
  /** The keyring, in order of preference; at least one key. */
  keys: readonly ClusterKey[];
  /** Deadline of the preamble when libp2p passes no abort signal. @default 5000 */
  timeoutMs?: number;
  /** How long the listener waits for the dialer's whole offer, from the start of key selection. @default 1500 (KEY_SELECTION_OFFER_TIMEOUT_MS) */
  offerTimeoutMs?: number;
  /** Told which key a connection uses (for debug logs). */
  onKeySelected?: (keyId: string, direction: 'inbound' | 'outbound') => void;
  /** Told of every inbound connection refused at key selection (for metrics). */
  onInboundRefused?: (reason: KeyRefusal) => void;
}

interface KeyEntry {
  key: ClusterKey;
  protector: ConnectionProtector;
}

export class KeyringProtector implements ConnectionProtector {
  private readonly entries: readonly KeyEntry[];
  private readonly timeoutMs: number;
  private readonly offerTimeoutMs: number;
  private readonly onKeySelected: KeyringProtectorInit['onKeySelected'];
  private readonly onInboundRefused: KeyringProtectorInit['onInboundRefused'];

  constructor(init: KeyringProtectorInit) {
    if (init.keys.length === 0 || init.keys.length > MAX_CLUSTER_SECRETS) {
      throw new GaterError('invalid_argument', `a keyring holds 1 to ${MAX_CLUSTER_SECRETS} keys`, { field: 'keys' });
    }
    this.entries = init.keys.map((key) => ({ key, protector: preSharedKey({ psk: key.swarmKey })() }));
    this.timeoutMs = init.timeoutMs ?? KEY_SELECTION_TIMEOUT_MS;
    this.offerTimeoutMs = init.offerTimeoutMs ?? KEY_SELECTION_OFFER_TIMEOUT_MS;
    this.onKeySelected = init.onKeySelected;
    this.onInboundRefused = init.onInboundRefused;
  }

  readonly [Symbol.toStringTag] = 'gater/keyring-protector';

  async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const signal = options?.signal ?? AbortSignal.timeout(this.timeoutMs);
    let entry: KeyEntry;
    try {
      entry =
        connection.direction === 'outbound' ? await this.offer(connection, signal) : await this.choose(connection, signal);
    } catch (err) {
      connection.abort(err instanceof Error ? err : new Error(String(err)));
      // An abort of libp2p's own (its upgrade timeout, the node stopping) is no refusal.
      const refusal = refusalOf(err);
      if (connection.direction === 'inbound' && refusal !== undefined) this.onInboundRefused?.(refusal);
      throw err;
    }
    this.onKeySelected?.(entry.key.id, connection.direction);
    return entry.protector.protect(connection, { ...options, signal });
  }

  /** Dialer: offers the whole keyring and uses the key the listener picks. */
  private async offer(connection: MessageStream, signal: AbortSignal): Promise<KeyEntry> {
    const offer = new Uint8Array(OFFER_HEADER_BYTES + this.entries.length * KEY_ID_BYTES);
    offer.set(MAGIC, 0);
    offer[MAGIC.byteLength] = this.entries.length;
    this.entries.forEach((entry, i) => offer.set(entry.key.idBytes, OFFER_HEADER_BYTES + i * KEY_ID_BYTES));
    connection.send(offer);
    const answer = await readExactly(connection, ANSWER_BYTES, signal);
    if (!hasMagic(answer)) throw unauthorized('the peer does not speak the gater key-selection preamble');
    const chosen = answer.subarray(MAGIC.byteLength);
    const entry = this.entries.find((e) => equal(e.key.idBytes, chosen));
    if (entry === undefined) throw unauthorized('the peer chose a key this node did not offer');
    return entry;
  }

  /** Listener: picks its most preferred key among those offered, or refuses the connection. */
  private async choose(connection: MessageStream, signal: AbortSignal): Promise<KeyEntry> {
    const deadline = { at: performance.now() + this.offerTimeoutMs, ms: this.offerTimeoutMs };
    const header = await readExactly(connection, OFFER_HEADER_BYTES, signal, deadline);
    if (!hasMagic(header)) {
      throw unauthorized('the peer does not speak the gater key-selection preamble', 'no_preamble');
    }
    const count = header[MAGIC.byteLength] ?? 0;
    if (count < 1 || count > MAX_CLUSTER_SECRETS) throw unauthorized(`the peer offered ${count} keys`, 'no_preamble');
    const ids = await readExactly(connection, count * KEY_ID_BYTES, signal, deadline);
    const offered = Array.from({ length: count }, (_, i) => ids.subarray(i * KEY_ID_BYTES, (i + 1) * KEY_ID_BYTES));
    const entry = this.entries.find((e) => offered.some((id) => equal(id, e.key.idBytes)));
    if (entry === undefined) throw unauthorized('the peer holds no cluster secret this node accepts', 'no_shared_key');
    const answer = new Uint8Array(ANSWER_BYTES);
    answer.set(MAGIC, 0);
    answer.set(entry.key.idBytes, MAGIC.byteLength);
    connection.send(answer);
    return entry;
  }
}

/** A deadline on the listener's read of the offer: an instant on the `performance.now()` clock, and its length. */
interface OfferDeadline {
  at: number;
  ms: number;
}

/**
 * Reads exactly `n` bytes from a raw connection, then gives back whatever arrived beyond them (`unshift`), so the
 * next reader (pnet) sees the stream as if nothing had been read past the preamble. Fails at `signal`, or with
 * `timeout` at `deadline` when one is given.
 */
function readExactly(
  stream: MessageStream,
  n: number,
  signal: AbortSignal,
  deadline?: OfferDeadline,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let received = 0;
    let offerDeadline: InputDeadline | undefined;
    const cleanup = (): void => {
      offerDeadline?.cancel();
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const onMessage = (evt: StreamMessageEvent): void => {
      const chunk = evt.data.subarray();
      chunks.push(chunk);
      received += chunk.byteLength;
      if (received < n) return;
      cleanup();
      const all = Buffer.concat(chunks, received);
      // With no 'message' listener left, the stream buffers this until pnet adds its own.
      if (received > n) stream.unshift(all.subarray(n));
      resolve(new Uint8Array(all.subarray(0, n)));
    };
    const onClose = (evt: StreamCloseEvent): void => {
      cleanup();
      reject(unauthorized('the peer closed the connection during key selection', 'hung_up', evt.error));
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal.reason);
    };
    const onDeadline = (): void => {
      cleanup();
      reject(offerTimeout(deadline!.ms));
    };
    if (signal.aborted) return reject(signal.reason);
    if (stream.status !== 'open') return reject(unauthorized('the connection closed before key selection', 'hung_up'));
    // An offer that arrived while this process stalled still counts (see inputDeadline).
    if (deadline !== undefined) offerDeadline = inputDeadline(deadline.at - performance.now(), onDeadline);
    signal.addEventListener('abort', onAbort);
    stream.addEventListener('close', onClose);
    stream.addEventListener('message', onMessage);
  });
}

function hasMagic(bytes: Uint8Array): boolean {
  return equal(bytes.subarray(0, MAGIC.byteLength), MAGIC);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Key-selection failures, by why the connection was refused. */
const REFUSALS = new WeakMap<object, KeyRefusal>();

function unauthorized(message: string, refusal?: KeyRefusal, cause?: unknown): GaterError {
  const options = cause === undefined ? undefined : { cause };
  const error = new GaterError('unauthorized', `mesh key selection failed: ${message}`, {}, options);
  if (refusal !== undefined) REFUSALS.set(error, refusal);
  return error;
}

function offerTimeout(ms: number): TimeoutError {
  const error = new TimeoutError("mesh key selection: the dialer's offer", ms);
  REFUSALS.set(error, 'offer_timeout');
  return error;
}

function refusalOf(err: unknown): KeyRefusal | undefined {
  return typeof err === 'object' && err !== null ? REFUSALS.get(err) : undefined;
}
