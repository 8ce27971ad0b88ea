/**
 * When a yamux stream grants its peer more receive window.
 *
 * `@chainsafe/libp2p-yamux` 8 grants after every data frame it receives, so a stream that carries many small frames
 * (the RPC's coalesced batches) answers each one with a window-update frame: one more noise message and one more
 * socket write per batch, on both nodes (measured on the relay benchmark: half the writes of a caller were window
 * updates of 12 bytes). go-yamux and rust-yamux grant once half of the window has been consumed, which keeps the
 * sender from ever running dry (it still holds the other half when the update leaves) at a fraction of the frames.
 * This installs that rule on the library's stream class, once, before any connection is made; frames that carry
 * flags (opening, acknowledging) and paused streams keep the library's own behaviour.
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** The fields of the library's stream this rule reads (private in its typings, stable in its 8.x releases). */
interface WindowState {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

/** Marks the installed replacement, so that installing twice is recognised without a flag of this module's. */
const HALF_WINDOW_RULE = Symbol.for('gater.yamux.halfWindowUpdates');

/** Whether a stream in this state may wait with its window update: established, and more than half the window left. */
export function mayDeferWindowUpdate(stream: WindowState): boolean {
  return stream.state === StreamState.Established && stream.recvWindowCapacity * 2 > stream.recvWindow;
}

/** Installs the half-window rule (idempotent). Throws if the library no longer has the method it replaces. */
export function installHalfWindowUpdates(): void {
  type SendWindowUpdate = ((this: YamuxStream) => void) & { [HALF_WINDOW_RULE]?: true };
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate?: SendWindowUpdate };
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function') throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream.sendWindowUpdate is gone');
  if (original[HALF_WINDOW_RULE] === true) return;
  const replacement: SendWindowUpdate = function sendWindowUpdate(this: YamuxStream): void {
    if (mayDeferWindowUpdate(this as unknown as WindowState)) return;
    original.call(this);
  };
  replacement[HALF_WINDOW_RULE] = true;
  proto.sendWindowUpdate = replacement;
}
