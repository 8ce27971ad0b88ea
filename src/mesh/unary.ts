/**
 * One request, one response, over a fresh stream: the requester sends its bytes and closes its writable end, the
 * handler reads to that end, answers and closes. The end of each message is the end of its half of the stream, so no
 * framing is needed. For occasional exchanges (the registry's full sync); traffic with many requests per second
 * belongs on one long-lived stream (the RPC).
 */
import type { Stream } from '@libp2p/interface';
import type { Logger } from 'pino';
import { GaterError, UnavailableError } from '../errors/index.ts';

/** Reads everything the remote writes until it closes its writable end; at most `maxBytes`. */
export async function readToEnd(stream: Stream, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const onAbort = (): void => stream.abort(abortReason(signal));
  signal?.addEventListener('abort', onAbort);
  try {
    signal?.throwIfAborted();
    const chunks: Uint8Array[] = [];
    let received = 0;
    for await (const data of stream) {
      const chunk = data.subarray();
      received += chunk.byteLength;
      if (received > maxBytes) {
        const err = new UnavailableError(`message on ${stream.protocol} exceeds ${maxBytes} bytes`, { maxBytes });
        stream.abort(err);
        throw err;
      }
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks, received));
  } catch (err) {
    if (signal?.aborted === true) throw abortReason(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Sends `bytes`, closes the writable end and reads the answer. The stream is closed or aborted on return. */
export async function exchange(
  stream: Stream,
  bytes: Uint8Array,
  maxResponseBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  try {
    const response = readToEnd(stream, maxResponseBytes, signal);
    // Whatever happens to the send, the read settles (the stream is aborted on failure); keep it from going unhandled.
    response.catch(() => {});
    stream.send(bytes);
    await stream.close(signal === undefined ? undefined : { signal });
    return await response;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    if (signal?.aborted === true) throw abortReason(signal);
    if (err instanceof GaterError) throw err;
    const message = `${stream.protocol} exchange failed: ${errorMessage(err)}`;
    throw new UnavailableError(message, { protocol: stream.protocol }, { cause: err });
  }
}

/** Answers one request arriving on `stream` with `handler`; a failure resets the stream, which the requester sees. */
export async function answer(
  stream: Stream,
  from: string,
  handler: (request: Uint8Array, from: string) => Promise<Uint8Array> | Uint8Array,
  options: { maxRequestBytes: number; readTimeoutMs: number; logger: Logger },
): Promise<void> {
  try {
    const request = await readToEnd(stream, options.maxRequestBytes, AbortSignal.timeout(options.readTimeoutMs));
    const response = await handler(request, from);
    stream.send(response);
    await stream.close();
  } catch (err) {
    options.logger.warn({ err, peerId: from, protocol: stream.protocol }, 'request failed');
    stream.abort(err instanceof Error ? err : new Error(String(err)));
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
